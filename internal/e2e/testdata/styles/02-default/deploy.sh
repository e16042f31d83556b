#!/bin/sh
# install / upgrade helper
APP_NAME=${APP_NAME:-{NAME}}
cd `dirname $0`
case "$1" in
start|restart)
    docker-compose -p ${APP_NAME} down
    docker-compose -p ${APP_NAME} up -d
    ;;
stop)
    docker-compose -p ${APP_NAME} down
    ;;
*)
    echo "usage: $0 start|stop|restart"
    ;;
esac
