#!/bin/bash
# Walks its stacks with an ordinary loop: the root, then vicode.
BASE=$(cd "$(dirname "$0")" && pwd)
FILES=(-f docker-compose.yml)
compose() {
    docker-compose "$@"
}
each() {
    for stack in . vicode; do
        [ -d "$BASE/$stack" ] || continue
        ( cd "$BASE/$stack" && set -a && . ./.systemconfig && set +a
          compose --project-name="${PROJECT_PREFIX}-$(basename "$(pwd)")" "${FILES[@]}" "$@" )
    done
}
case "$1" in
    start) each up -d ;;
    stop) each down ;;
    restart) each down; each up -d ;;
    *) echo "usage: $0 start|stop|restart" >&2; exit 1 ;;
esac
