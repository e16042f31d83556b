#!/usr/bin/env bash
# package.sh — build the offline install packages: .deb and .rpm for amd64 and arm64 in
# dist/, each with /usr/bin/imgup, bash and zsh completion, man pages and the READMEs.
# The version comes from the newest v* git tag (or IMGUP_VERSION, or -version).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./scripts/package "$@"
