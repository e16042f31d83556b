#!/bin/bash
# xxctl.sh - Acme Suite control: start|stop|restart|status
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$ROOT/conf/version.env"
: "${SUITE_NAME:={NAME}}"
# the newest compose folder is the one in use
COMPOSE_DIR="$(ls -d "$ROOT"/compose/*/ | sort -V | tail -n 1)"

dc() {
  docker-compose -p "$SUITE_NAME" --project-directory "$COMPOSE_DIR" \
    -f "$COMPOSE_DIR/docker-compose-base.yml" -f "$COMPOSE_DIR/docker-compose-app.yml" "$@"
}

case "$1" in
  start) dc up -d ;;
  stop) dc down ;;
  restart) dc down && dc up -d ;;
  status) dc ps ;;
  *) echo "usage: xxctl.sh start|stop|restart|status"; exit 1 ;;
esac
