#!/bin/sh
# Start or update Acme Notes. One-off jobs (migrations, reindex) are in
# docker-compose-inits.yml: docker-compose -f docker-compose-inits.yml run --rm migrate
cd "$(dirname "$0")"
exec docker-compose -f docker-compose.yml up -d "$@"
