#!/usr/bin/env bash
# Acme Platform service control (Compose V2)
set -e
SCRIPT_DIR="$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )"
cd "$SCRIPT_DIR"
source ./config/platform.env
COMPOSE_FILES=(-f compose.yaml -f compose.services.yaml)

case "$1" in
  up|start)  docker compose -p "$PLATFORM_NAME" "${COMPOSE_FILES[@]}" up -d ;;
  down|stop) docker compose -p "$PLATFORM_NAME" "${COMPOSE_FILES[@]}" down ;;
  restart)   "$0" stop && "$0" start ;;
  *) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;
esac
