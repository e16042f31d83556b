#!/bin/bash
HERE="$(cd "$(dirname "$0")"; pwd)"
action=$1
(
    cd "$HERE/services" || exit 1
    if [ "$action" = "restart" ] || [ "$action" = "stop" ]; then
        docker-compose -p {NAME}-svc down
    fi
    if [ "$action" != "stop" ]; then
        docker-compose -p {NAME}-svc up -d
    fi
)
echo "done: $action"
