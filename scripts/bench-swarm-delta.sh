#!/usr/bin/env bash
# bench-swarm-delta.sh — what imgup writes to each node of a 3-node offline Docker Swarm
# (internal/e2e/swarmrig) when one node lacks the base the others have, in interleaved
# rounds (the two workers take turns losing every test image): a 4 MiB application
# layer new each round on a 64 MiB base. Needs root. Prints the table (bytes per node
# against its missing layers); paste it into docs/benchmarks.md.
#
# Usage: scripts/bench-swarm-delta.sh [ROUNDS=4]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
IMGUP_BENCH_ROUNDS=${1:-4} IMGUP_BENCH_OUT=$out flock /tmp/imgup-heavy.lock go test -tags e2e -run '^$' -bench '^BenchmarkSwarmNodeDelta$' -benchtime 1x -timeout 30m ./internal/e2e/ >&2
cat "$out"
rm -f "$out"
