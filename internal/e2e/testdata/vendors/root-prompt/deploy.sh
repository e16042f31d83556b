#!/bin/bash
# Acme Wiki: ./deploy.sh start|stop|restart
cd "$(dirname "$0")"

if [ "$EUID" -eq 0 ]; then
  echo "WARNING: Acme Wiki is not meant to be run as root."
  read -p "Do you still want to continue? (y/n) " answer
  if [ "$answer" != "y" ]; then
    exit 1
  fi
fi

export COMPOSE_PROJECT_NAME={NAME}
case "$1" in
  start) docker-compose up -d ;;
  stop) docker-compose down ;;
  restart)
    docker-compose down
    docker-compose up -d
    ;;
  *)
    echo "usage: $0 start|stop|restart"
    exit 1
    ;;
esac
