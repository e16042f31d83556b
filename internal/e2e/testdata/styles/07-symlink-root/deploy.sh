#!/bin/bash
cd "$(dirname "$0")"
. ./.systemconfig
case "$1" in
  start) docker-compose -p "$PROJECT" up -d ;;
  stop) docker-compose -p "$PROJECT" down ;;
  restart) docker-compose -p "$PROJECT" down && docker-compose -p "$PROJECT" up -d ;;
esac
