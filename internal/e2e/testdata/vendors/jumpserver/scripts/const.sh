#!/usr/bin/env bash
# Constants every command needs.
BASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" >/dev/null 2>&1 && pwd)"
export SCRIPT_DIR="$BASE_DIR"
PROJECT_DIR=$(dirname "${SCRIPT_DIR}")

export CONFIG_DIR="${PROJECT_DIR}/config"
export CONFIG_FILE=$CONFIG_DIR/config.txt

# the compose project
export COMPOSE_PROJECT_NAME={NAME}

# the release: VERSION, read by the compose files
. "${PROJECT_DIR}/static.env"
