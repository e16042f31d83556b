#!/usr/bin/env bash
# Install or update Acme Photos: ./install.sh
set -o errexit
set -o nounset
set -o pipefail

ROOT="$(cd "$(dirname "$0")" && pwd)"

# The services restart when their settings change: compose sees the settings' hash.
CONFIG_HASH=$(shasum -a 256 "$ROOT/stack/app.env" | grep -E -o '^[0-9a-f]{12}')
export CONFIG_HASH

# The engine's major version goes in the log; the stack needs 20 or later.
ENGINE_MAJOR=$(docker version --format '{{.Server.Version}}' | grep -E -o '^[0-9]+')
if [ "$ENGINE_MAJOR" -lt 20 ]; then
  echo "Acme Photos needs Docker 20 or later (this engine: $ENGINE_MAJOR)" >&2
  exit 1
fi

pushd "$ROOT/stack" >/dev/null
docker-compose -p {NAME} up -d --remove-orphans
popd >/dev/null

echo "Acme Photos is up (settings $CONFIG_HASH)."
