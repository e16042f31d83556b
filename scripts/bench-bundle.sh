#!/usr/bin/env bash
# bench-bundle.sh — what a differential bundle saves: a one-layer application change
# (APP_MB of new content) on a large base (BASE_MB, mixed content like a real service
# image). Sizes of the forms an operator might receive for the new version:
#
#   archive      docker save NEW | gzip              (what vendors ship today)
#   bundle       imgup bundle create NEW             (signed, full)
#   differential imgup bundle create --base OLD.bundle NEW
#
# and the time to make each bundle, and to load the differential bundle into an engine
# that has the base (imgup load) against docker load of the full archive.
#
# Usage: scripts/bench-bundle.sh [BASE_MB=250] [APP_MB=10] [OUT=docs/benchmarks.md]
set -euo pipefail
BASE_MB=${1:-250}
APP_MB=${2:-10}
OUT=${3:-docs/benchmarks.md}
cd "$(dirname "$0")/.."
. scripts/lib.sh
docker version >/dev/null 2>&1 || { echo "bench-bundle: no Docker engine answers" >&2; exit 1; }

work=$(mktemp -d /tmp/imgup-bench.XXXXXX)
prefix="imguptest.local/bench$$/"
old="${prefix}encoo/console-web-v4-pvt:4.1.76383"
new="${prefix}encoo/console-web-v4-pvt:4.1.76390"
cleanup() { docker rmi -f "$new" "$old" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "building imgup, a ${BASE_MB} MB base image and a ${APP_MB} MB application layer on it..." >&2
build_imgup
build_big_image "$old" "$BASE_MB" mixed
mkdir -p "$work/app"
head -c "$((APP_MB * 1024 * 1024))" /dev/urandom > "$work/app/app.bin"
printf 'FROM %s\nCOPY app.bin /app.bin\n' "$old" > "$work/app/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$new" "$work/app" >/dev/null

IMGUP_KEY_PASSWORD= "$work/imgup" bundle keygen "$work/vendor" >/dev/null 2>&1
docker save "$new" | gzip > "$work/new.tar.gz"
t0=$(now); "$work/imgup" bundle create -o "$work/old.bundle" --key "$work/vendor.key" --name console --version 4.1.76383 "$old" >/dev/null; t1=$(now)
"$work/imgup" bundle create -o "$work/new.bundle" --key "$work/vendor.key" --name console --version 4.1.76390 "$new" >/dev/null; t2=$(now)
"$work/imgup" bundle create -o "$work/delta.bundle" --key "$work/vendor.key" --name console --version 4.1.76390 --base "$work/old.bundle" "$new" >/dev/null; t3=$(now)
size() { stat -c %s "$1"; }
mb() { echo "scale=1; $1 / 1000000" | bc; }
sa=$(size "$work/new.tar.gz"); sb=$(size "$work/new.bundle"); sd=$(size "$work/delta.bundle")

# Loading the new version where the base is already loaded.
docker rmi -f "$new" >/dev/null
rounds=5
declare -A times
for ((i = 1; i <= rounds; i++)); do
  for m in imgup docker; do
    docker rmi -f "$new" >/dev/null 2>&1 || true
    sync
    t0l=$(now)
    if [ $m = imgup ]; then "$work/imgup" load --trust "$work/vendor.pub" "$work/delta.bundle" >/dev/null 2>&1; else docker load -i "$work/new.tar.gz" >/dev/null; fi
    t1l=$(now)
    times[$m]+="$(echo "$t1l - $t0l" | bc) "
  done
done
mi=$(echo "${times[imgup]}" | median); md=$(echo "${times[docker]}" | median)

section=$(mktemp)
{
  echo "## Differential bundles: a ${APP_MB} MB application change on a ${BASE_MB} MB base"
  echo
  echo "Measured $(date +%F) by \`scripts/bench-bundle.sh $BASE_MB $APP_MB\` on $(nproc) cores, Docker Engine $(docker version --format '{{.Server.Version}}')."
  echo "The base is ${BASE_MB} MB of mixed content (the Go toolchain's files); the new version adds one layer of ${APP_MB} MB of random bytes."
  echo
  echo "| what the operator receives for the new version | size | vs the gzip archive |"
  echo "|---|---|---|"
  echo "| \`docker save NEW \\| gzip\` (today's archive) | $(mb $sa) MB | 1.00 |"
  echo "| \`imgup bundle create NEW\` (signed, full) | $(mb $sb) MB | $(echo "scale=2; $sb / $sa" | bc) |"
  echo "| \`imgup bundle create --base OLD.bundle NEW\` (signed, differential) | $(mb $sd) MB | $(echo "scale=3; $sd / $sa" | bc) |"
  echo
  echo "Making the bundles: the base $(echo "$t1 - $t0" | bc | xargs printf '%.1f') s, the full new one $(echo "$t2 - $t1" | bc | xargs printf '%.1f') s, the differential one $(echo "$t3 - $t2" | bc | xargs printf '%.1f') s (each layer is compressed once; the differential one compresses only the new layer)."
  echo
  echo "Loading the new version on an engine that has the base, median of $rounds interleaved rounds: \`imgup load delta.bundle\` $(printf '%.2f' "$mi") s (signature and every blob checked), \`docker load -i new.tar.gz\` $(printf '%.2f' "$md") s; ratio $(echo "scale=2; $mi / $md" | bc)."
  echo
  echo "All rounds (s): imgup ${times[imgup]}/ docker ${times[docker]}"
} > "$section"
cat "$section"
write_section "$OUT" "$section"
