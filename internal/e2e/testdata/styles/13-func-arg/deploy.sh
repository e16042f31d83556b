#!/bin/sh
set -e
cd "$(dirname "$0")"

compose_up() {
    project=$1; shift
    docker-compose --project-name "$project" -f docker-compose.yml up -d "$@"
}
compose_down() {
    docker-compose --project-name "$1" -f docker-compose.yml down
}

main() {
    case "$1" in
        start) compose_up "$2" ;;
        stop) compose_down "$2" ;;
        restart) compose_down "$2"; compose_up "$2" ;;
    esac
}

main "$1" {NAME}
