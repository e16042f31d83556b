#!/usr/bin/env bash
# bench-swarm.sh — an update of a 3-node offline Docker Swarm (built on this machine by
# internal/e2e/swarmrig: one dockerd per network namespace), imgup against the way by
# hand, in interleaved rounds: a 250 MB image whose 240 MB base every node has, a
# 10 MB application layer new each round, a 3-replica service that updates start-first.
# Needs root (network namespaces). Prints the table; paste it into docs/benchmarks.md.
#
# Usage: scripts/bench-swarm.sh [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
IMGUP_BENCH_ROUNDS=${1:-3} IMGUP_BENCH_OUT=$out go test -tags e2e -run '^$' -bench '^BenchmarkSwarmUpdate$' -benchtime 1x -timeout 60m ./internal/e2e/ >&2
cat "$out"
rm -f "$out"
