#!/bin/bash
# Runs compose on the parts config/rc enables, with the release's image.
set -e
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

. "$ROOT/config/functions"
. "$ROOT/config/rc"

PROJECT_NAME=$(rc_value PROJECT_NAME)
if [ -z "$PROJECT_NAME" ]; then
  fail "PROJECT_NAME is not set in config/rc"
fi

files=(-f "$ROOT/lib/base.yml")
for part in web reports; do
  if [ "$(rc_flag "WITH_${part^^}")" = 1 ]; then
    files+=(-f "$ROOT/lib/$part.yml")
  fi
done

IMAGE="${IMAGE_REPO}:$(cat "$ROOT/VERSION")"
export IMAGE

case "${1:-}" in
  start | up) docker-compose -p "$PROJECT_NAME" "${files[@]}" up -d ;;
  stop) docker-compose -p "$PROJECT_NAME" "${files[@]}" down ;;
  restart)
    docker-compose -p "$PROJECT_NAME" "${files[@]}" down
    docker-compose -p "$PROJECT_NAME" "${files[@]}" up -d
    ;;
  status) docker-compose -p "$PROJECT_NAME" "${files[@]}" ps ;;
  *) fail "usage: acmectl start|stop|restart|status" ;;
esac
