#!/usr/bin/env bash
set -Eeuo pipefail
LOCK="/tmp/{NAME}.lock"
cleanup() { rm -f "$LOCK"; }
trap cleanup EXIT
trap 'echo "deploy.sh failed at line $LINENO" >&2' ERR
touch "$LOCK"
readonly ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export COMPOSE_PROJECT_NAME={NAME}
cd "$ROOT_DIR"
case "${1:-}" in
    start) docker-compose up -d ;;
    stop) docker-compose down ;;
    restart) docker-compose down; docker-compose up -d ;;
    *) exit 1 ;;
esac
