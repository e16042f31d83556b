#!/bin/bash
# Acme Chat: ./chatctl.sh start|stop|restart (restart also fetches the release's images
# and runs its setup job)
set -e
cd "$(dirname "$0")"

VERSION=$(grep '^WEB_VERSION=' .env | cut -d= -f2)
export COMPOSE_PROJECT_NAME={NAME}

case "$1" in
  start) docker-compose up -d ;;
  stop) docker-compose down ;;
  restart)
    docker-compose down
    docker-compose pull
    docker pull {P}acme/setup:"$VERSION"
    docker run --rm {P}acme/setup:"$VERSION" migrate
    docker-compose up -d
    ;;
  *)
    echo "usage: $0 start|stop|restart"
    exit 1
    ;;
esac
