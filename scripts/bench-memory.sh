#!/usr/bin/env bash
# bench-memory.sh — imgup's peak memory (max RSS, from /usr/bin/time) on this machine:
#
#   - imgup inspect and imgup load on a 1 GB archive (docker save | gzip of an image of
#     random bytes), median of ROUNDS runs each;
#   - every case of the hostile corpus (internal/cli/hostile_test.go), each measured in
#     its own child process: time to the refusal and peak RSS.
#
# The documented ceiling is 64 MB (README, "Safety").
#
# Usage: scripts/bench-memory.sh [SIZE_MB=1024] [ROUNDS=3] [OUT=docs/benchmarks.md]
set -euo pipefail
SIZE_MB=${1:-1024}
ROUNDS=${2:-3}
OUT=${3:-docs/benchmarks.md}
cd "$(dirname "$0")/.."
. scripts/lib.sh
docker version >/dev/null 2>&1 || { echo "bench-memory: no Docker engine answers" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-memory: /usr/bin/time is missing: apt-get install time" >&2; exit 1; }

work=$(mktemp -d /tmp/imgup-bench.XXXXXX)
ref="imguptest.local/mem$$/encoo/console-web-v4-pvt:4.1.76383"
cleanup() { docker rmi -f "$ref" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "building imgup and a ${SIZE_MB} MB image..." >&2
build_imgup
build_big_image "$ref" "$SIZE_MB" random
docker save "$ref" | gzip -1 > "$work/big.tar.gz"
size=$(du -m "$work/big.tar.gz" | cut -f1)
docker rmi -f "$ref" >/dev/null

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
ins="" lod=""
for ((i = 1; i <= ROUNDS; i++)); do
  r1=$(rss "$work/imgup" inspect "$work/big.tar.gz")
  docker rmi -f "$ref" >/dev/null 2>&1 || true
  r2=$(rss "$work/imgup" load "$work/big.tar.gz")
  ins+="$r1 " lod+="$r2 "
  echo "round $i: inspect $r1 KiB, load $r2 KiB" >&2
done
mi=$(echo "$ins" | median); ml=$(echo "$lod" | median)

echo "running the hostile corpus..." >&2
hostile=$(go test ./internal/cli -run '^TestHostileArchives$' -count=1 -v 2>&1 | sed -n 's/^ *hostile_test.go:[0-9]*: \([^:]*\): \([0-9.]*m\?s\), peak RSS \([0-9]*\) MiB, exit \([0-9]*\).*/| `\1` | \2 | \3 MiB | \4 |/p')

sec=$(mktemp)
{
  echo "## Memory (scripts/bench-memory.sh)"
  echo
  echo "Peak RSS (max resident set, \`/usr/bin/time -f %M\`), median of $ROUNDS runs, on a 2-core machine,"
  echo "engine $(docker version --format '{{.Server.Version}}'), $(date -u +%Y-%m-%d). Ceiling: 64 MB."
  echo
  echo "| archive | size | imgup inspect | imgup load |"
  echo "|---|---|---|---|"
  echo "| docker save \\| gzip -1 of a ${SIZE_MB} MB image of random bytes | ${size} MB | $((mi / 1024)) MiB | $((ml / 1024)) MiB |"
  echo
  echo "The hostile corpus (\`internal/cli/hostile_test.go\`): each crafted file run through"
  echo "\`imgup inspect\` in its own process. Exit 1 is a refusal with one line naming the file;"
  echo "exit 0 is a bundle shown with its control characters escaped."
  echo
  echo "| file | time | peak RSS | exit |"
  echo "|---|---|---|---|"
  echo "$hostile"
} > "$sec"
cat "$sec"
write_section "$OUT" "$sec"
rm -f "$sec"
