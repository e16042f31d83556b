#!/usr/bin/env bash
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
NAME=$(basename "$(pwd)")
DC="docker-compose"
if docker compose version >/dev/null 2>&1; then
    DC="docker compose"
fi
case "${1:-}" in
    start)   $DC -p "$NAME" up -d ;;
    stop)    $DC -p "$NAME" down ;;
    restart) $DC -p "$NAME" down && $DC -p "$NAME" up -d ;;
esac
