#!/bin/bash
cd "$(dirname "$0")"
case $1 in
  start) docker-compose up -d ;;
  stop) docker-compose down ;;
  restart) docker-compose down; docker-compose up -d ;;
esac
