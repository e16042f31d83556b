#!/usr/bin/env bash
set -euo pipefail
readonly PROJECT_NAME="{NAME}"

dc() {
  docker-compose --project-name="${PROJECT_NAME}" \
    --file docker-compose.yml \
    --file docker-compose.prod.yml \
    "$@"
}

case "${1:-}" in
  start)   dc up -d --remove-orphans ;;
  stop)    dc down ;;
  restart) dc down && dc up -d ;;
  status)  dc ps ;;
  *) echo "usage: $(basename "$0") start|stop|restart|status" >&2; exit 64 ;;
esac
