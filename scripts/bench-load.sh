#!/usr/bin/env bash
# bench-load.sh — runbook step 1, measured side by side on this machine's engine:
#
#   imgup    imgup load X.tar.gz                         (one streaming pass)
#   docker   docker load -i X.tar.gz                      (docker save | gzip form)
#   runbook  tar -zxf X.tar.gz && docker load -i X.tar    (the vendor runbook, bundle form)
#
# Each round removes the image first, so every load is a real load. Rounds interleave
# the three methods, so that the engine's state and the page cache treat them alike.
# It also records imgup's peak memory for this archive and for one four times larger.
#
# CONTENT is what the image holds: "mixed" (the Go toolchain's files, binaries and text,
# about 3.5:1 under gzip, like a real service image) or "random" (incompressible: the
# worst case for a loader that decompresses itself).
#
# Usage: scripts/bench-load.sh [SIZE_MB=256] [ROUNDS=5] [CONTENT=mixed] [OUT=docs/benchmarks.md]
set -euo pipefail
SIZE_MB=${1:-256}
ROUNDS=${2:-5}
CONTENT=${3:-mixed}
OUT=${4:-docs/benchmarks.md}
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v docker >/dev/null || { echo "bench-load: docker is not installed" >&2; exit 1; }
docker version >/dev/null 2>&1 || { echo "bench-load: no Docker engine answers" >&2; exit 1; }

work=$(mktemp -d /tmp/imgup-bench.XXXXXX)
ref="imguptest.local/bench$$/encoo/console-web-v4-pvt:4.1.76383"
cleanup() { docker rmi -f "$ref" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "building imgup and a ${SIZE_MB} MB test image..." >&2
build_imgup
build_big_image "$ref" "$SIZE_MB" "$CONTENT" || exit 2
docker save "$ref" | gzip -1 > "$work/save.tar.gz"            # docker save | gzip
docker save "$ref" -o "$work/console-web-v4-pvt-4.1.76383.tar"
tar -C "$work" -czf "$work/vendor.tar.gz" console-web-v4-pvt-4.1.76383.tar   # the vendor's form
rm "$work/console-web-v4-pvt-4.1.76383.tar"
docker rmi -f "$ref" >/dev/null

run_imgup()   { "$work/imgup" load "$work/vendor.tar.gz" >/dev/null 2>&1; }
run_docker()  { docker load -i "$work/save.tar.gz" >/dev/null; }
run_runbook() { mkdir -p "$work/x" && tar -C "$work/x" -zxf "$work/vendor.tar.gz" && docker load -i "$work/x/console-web-v4-pvt-4.1.76383.tar" >/dev/null; rm -rf "$work/x"; }

declare -A times
for ((i = 1; i <= ROUNDS; i++)); do
  for m in imgup docker runbook; do
    docker rmi -f "$ref" >/dev/null 2>&1 || true
    sync
    t0=$(now); "run_$m"; t1=$(now)
    times[$m]+="$(echo "$t1 - $t0" | bc) "
    echo "round $i $m $(echo "$t1 - $t0" | bc)s" >&2
  done
done
mi=$(echo "${times[imgup]}" | median); md=$(echo "${times[docker]}" | median); mr=$(echo "${times[runbook]}" | median)

# Peak memory: this archive, and one four times larger (flat means it does not grow).
rss() { docker rmi -f "$ref" >/dev/null 2>&1 || true; /usr/bin/time -f %M "$work/imgup" load "$1" 2>&1 >/dev/null | tail -1; }
rss1=$(rss "$work/vendor.tar.gz")
cat "$work/vendor.tar.gz" "$work/vendor.tar.gz" "$work/vendor.tar.gz" "$work/vendor.tar.gz" > "$work/big.tar.gz"   # gzip members concatenate: same tar, 4x the bytes read
rss4=$(rss "$work/big.tar.gz")

size=$(stat -c %s "$work/vendor.tar.gz")
engine=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')
{
  echo "## Loading one ${SIZE_MB} MB image, $CONTENT content (runbook step 1)"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`scripts/bench-load.sh $SIZE_MB $ROUNDS $CONTENT\` on $(nproc) cores, Docker Engine $engine."
  echo "Archive: $((size / 1000000)) MB gzip ($CONTENT content). Median of $ROUNDS interleaved rounds; the image is removed before every load."
  echo
  echo "| method | command | median | vs docker load |"
  echo "|---|---|---|---|"
  printf '| imgup | `imgup load vendor.tar.gz` (bundle form, streamed) | %.2f s | %.2f |\n' "$mi" "$(echo "$mi / $md" | bc -l)"
  printf '| docker | `docker load -i save.tar.gz` | %.2f s | 1.00 |\n' "$md"
  printf '| runbook | `tar -zxf vendor.tar.gz && docker load -i X.tar` | %.2f s | %.2f |\n' "$mr" "$(echo "$mr / $md" | bc -l)"
  echo
  printf 'imgup vs runbook: %.2f (below 1 is faster). The runbook also needs %d MB of free disk for the unpacked tar; imgup needs none.\n' "$(echo "$mi / $mr" | bc -l)" "$((SIZE_MB + 4))"
  echo
  echo "Peak memory of \`imgup load\` (max RSS): ${rss1} KiB for this archive, ${rss4} KiB for one four times its size."
  echo
  echo "All rounds (s): imgup ${times[imgup]}/ docker ${times[docker]}/ runbook ${times[runbook]}"
} > "$work/result.md"
cat "$work/result.md"
if [ "$OUT" != "-" ]; then
  mkdir -p "$(dirname "$OUT")"
  write_section "$OUT" "$work/result.md"
fi
