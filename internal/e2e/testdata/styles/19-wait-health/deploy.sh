#!/bin/bash
cd "$(dirname "$0")"
P={NAME}
wait_healthy() {
    local id
    for i in $(seq 1 60); do
        id=$(docker-compose -p $P ps -q "$1")
        if [ -n "$id" ] && [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; then
            return 0
        fi
        sleep 1
    done
    echo "$1 did not become healthy" >&2
    return 1
}
up() {
    docker-compose -p $P up -d db
    wait_healthy db
    docker-compose -p $P up -d web
}
case "$1" in
    start) up ;;
    stop) docker-compose -p $P down ;;
    restart) docker-compose -p $P down; up ;;
esac
