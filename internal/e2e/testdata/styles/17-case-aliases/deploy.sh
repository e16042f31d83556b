#!/bin/bash
PROJECT={NAME}
usage() {
    cat <<USAGE
usage: $0 up|start | down|stop | restart|reload|r
USAGE
    exit 2
}
[ $# -ge 1 ] || usage
cd "$(dirname "$0")"
case "$1" in
    up|start) docker-compose -p $PROJECT up -d --remove-orphans ;;
    down|stop) docker-compose -p $PROJECT down ;;
    restart|reload|r)
        docker-compose -p $PROJECT stop
        docker-compose -p $PROJECT rm -f
        docker-compose -p $PROJECT up -d ;;
    *) usage ;;
esac
