#!/usr/bin/env bash
# Install or upgrade Acme Errors self-hosted (in the shape of Sentry self-hosted's install.sh):
# each step is a file in install/, sourced in turn.
set -e

cd "$(dirname "$0")"
source install/_lib.sh

# Pre-flight. No impact yet.
source install/dc-detect-version.sh

# Start impacting things.
source install/turn-things-off.sh
source install/update-docker-images.sh
source install/wrap-up.sh
