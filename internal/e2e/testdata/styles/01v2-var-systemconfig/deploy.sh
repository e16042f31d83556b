#!/bin/bash
# Console control script: start|stop|restart
set -e
BASE_DIR=$(cd "$(dirname "$0")" && pwd)
cd "$BASE_DIR"
set -a; source ./.systemconfig; set +a
COMPOSE="docker compose"

start() {
  $COMPOSE -p "$PROJECT" -f docker-compose.yml -f docker-compose.service.yml up -d
  (cd vicode && $COMPOSE -p "$PROJECT-vicode" up -d)
}

stop() {
  (cd vicode && $COMPOSE -p "$PROJECT-vicode" down)
  $COMPOSE -p "$PROJECT" -f docker-compose.yml -f docker-compose.service.yml down
}

case "$1" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) echo "Usage: $0 {start|stop|restart}"; exit 1 ;;
esac
