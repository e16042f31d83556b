#!/bin/bash
# Copyright (c) Acme. Offline delivery control script.
WORKDIR=$(cd $(dirname $0); pwd)
. $WORKDIR/.systemconfig
export COMPOSE_HTTP_TIMEOUT=300

function start_all() {
    echo "starting ${PRODUCT}..."
    docker-compose -p ${PRODUCT}-${EDITION} -f $WORKDIR/docker-compose.yml up -d
}

function stop_all() {
    docker-compose -p ${PRODUCT}-${EDITION} -f $WORKDIR/docker-compose.yml down
}

function upgrade() {
    for f in $WORKDIR/images/*.tar.gz; do docker load -i "$f"; done
    stop_all
    start_all
}

case "$1" in
    start) start_all ;;
    stop) stop_all ;;
    restart) stop_all; start_all ;;
    upgrade) upgrade ;;
    *) echo "usage: $0 start|stop|restart|upgrade" ;;
esac
