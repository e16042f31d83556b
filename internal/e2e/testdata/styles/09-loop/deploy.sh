#!/bin/bash
# Bring every module up in order
cd "$(dirname "$0")"
. ./.systemconfig
MODULES="base app"
for m in $MODULES; do
  case "$1" in
    start) (cd "$m" && docker-compose -p "${PREFIX}_${m}" up -d) ;;
    stop) (cd "$m" && docker-compose -p "${PREFIX}_${m}" down) ;;
    restart) (cd "$m" && docker-compose -p "${PREFIX}_${m}" down && docker-compose -p "${PREFIX}_${m}" up -d) ;;
  esac
done
