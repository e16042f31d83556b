#!/bin/bash
# each module from its own folder
set -e
source "$(dirname "$0")/.systemconfig"
case "${1:-start}" in
  start)   ARGS="up -d" ;;
  stop)    ARGS="down" ;;
  restart) "$0" stop; exec "$0" start ;;
  *) echo "usage: $0 start|stop|restart"; exit 1 ;;
esac
cd "$(dirname "$0")"
docker-compose -p "$PROJECT_NAME" $ARGS
cd "$(dirname "$0")/vicode"
docker-compose -p "${PROJECT_NAME}_vicode" $ARGS
