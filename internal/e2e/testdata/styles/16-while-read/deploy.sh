#!/bin/bash
cd "$(dirname "$0")"
grep -v '^#' stacks.txt > /dev/null
while read -r stack; do
    case "$stack" in ''|'#'*) continue ;; esac
    case "$1" in
        start|restart)
            [ "$1" = restart ] && (cd "$stack" && docker-compose -p "{NAME}_$stack" down)
            (cd "$stack" && docker-compose -p "{NAME}_$stack" up -d) ;;
        stop) (cd "$stack" && docker-compose -p "{NAME}_$stack" down) ;;
    esac
done < stacks.txt
