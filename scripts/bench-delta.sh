#!/usr/bin/env bash
# bench-delta.sh — the delta load, measured side by side on this machine's engine.
#
# Incremental case: a BASE_MB base (mixed content, like a real service image) is on the
# engine; the new version adds one APP_MB application layer. Each round removes the new
# image (the base stays) and loads it again, by:
#
#   imgup    imgup load app.tar.gz | vendor.tar.gz | app.tar | app.bundle
#   docker   docker load -i app.tar.gz | app.tar
#   runbook  tar -zxf vendor.tar.gz && docker load -i app.tar
#
# Fresh case: base and new image removed before each round; imgup load app.tar.gz
# against docker load -i app.tar.gz.
#
# apply end to end: the sample console deployment; apply --restart none of a new
# console-web version (a BIG_MB image) against imgup plan and imgup load run separately
# (each round then rolls back and removes the image).
#
# Medians of ROUNDS interleaved rounds; sync between runs.
#
# Usage: scripts/bench-delta.sh [BASE_MB=250] [APP_MB=10] [ROUNDS=5] [BIG_MB=1024] [OUT=docs/benchmarks.md]
set -euo pipefail
BASE_MB=${1:-250}
APP_MB=${2:-10}
ROUNDS=${3:-5}
BIG_MB=${4:-1024}
OUT=${5:-docs/benchmarks.md}
cd "$(dirname "$0")/.."
. scripts/lib.sh
docker version >/dev/null 2>&1 || { echo "bench-delta: no Docker engine answers" >&2; exit 1; }

work=$(mktemp -d /tmp/imgup-bench.XXXXXX)
prefix="imguptest.local/bench$$/"
project="imguptestbench$$"
base="${prefix}encoo/console-web-base:1"
app="${prefix}encoo/console-web-v4-pvt:4.1.76390"
root="$work/console"
cleanup() { teardown "$root"; docker rmi -f "$app" "$base" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "building imgup, a ${BASE_MB} MB base and a ${APP_MB} MB application layer on it..." >&2
build_imgup
build_big_image "$base" "$BASE_MB" mixed
mkdir -p "$work/app"
head -c "$((APP_MB * 1024 * 1024))" /dev/urandom > "$work/app/app.bin"
printf 'FROM %s\nCOPY app.bin /app.bin\n' "$base" > "$work/app/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$app" "$work/app" >/dev/null
docker save "$app" -o "$work/app.tar"
gzip -1 -k -c "$work/app.tar" > "$work/app.tar.gz"
mkdir -p "$work/v" && cp "$work/app.tar" "$work/v/console-web-v4-pvt-4.1.76390.tar"
tar -C "$work/v" -czf "$work/vendor.tar.gz" console-web-v4-pvt-4.1.76390.tar && rm -rf "$work/v"
"$work/imgup" bundle keygen "$work/vendor" >/dev/null 2>&1
"$work/imgup" bundle create -o "$work/app.bundle" --key "$work/vendor.key" --name console --version 4.1.76390 "$app" >/dev/null

declare -A times
m_imgup_tgz()    { "$work/imgup" load "$work/app.tar.gz" >/dev/null 2>&1; }
m_imgup_vendor() { "$work/imgup" load "$work/vendor.tar.gz" >/dev/null 2>&1; }
m_imgup_tar()    { "$work/imgup" load "$work/app.tar" >/dev/null 2>&1; }
m_imgup_bundle() { "$work/imgup" load --trust "$work/vendor.pub" "$work/app.bundle" >/dev/null 2>&1; }
m_docker_tgz()   { docker load -i "$work/app.tar.gz" >/dev/null; }
m_docker_tar()   { docker load -i "$work/app.tar" >/dev/null; }
m_runbook()      { mkdir -p "$work/x" && tar -C "$work/x" -zxf "$work/vendor.tar.gz" && docker load -i "$work/x/console-web-v4-pvt-4.1.76390.tar" >/dev/null; rm -rf "$work/x"; }
incr="imgup_tgz docker_tgz runbook imgup_vendor imgup_tar docker_tar imgup_bundle"
for ((i = 1; i <= ROUNDS; i++)); do
  for m in $incr; do
    docker rmi -f "$app" >/dev/null 2>&1 || true
    sync
    t0=$(now); "m_$m"; t1=$(now)
    times[$m]+="$(echo "$t1 - $t0" | bc) "
    echo "incremental round $i $m $(echo "$t1 - $t0" | bc)s" >&2
  done
done
for ((i = 1; i <= ROUNDS; i++)); do
  for m in imgup_tgz docker_tgz; do
    docker rmi -f "$app" "$base" >/dev/null 2>&1 || true
    sync
    t0=$(now); "m_$m"; t1=$(now)
    times[fresh_$m]+="$(echo "$t1 - $t0" | bc) "
    echo "fresh round $i $m $(echo "$t1 - $t0" | bc)s" >&2
  done
done
declare -A med
for k in "${!times[@]}"; do med[$k]=$(echo "${times[$k]}" | median); done

# Memory: peak RSS of imgup load, incremental, for the tgz and for one 4 times its size.
docker rmi -f "$app" >/dev/null 2>&1 || true
rss1=$(/usr/bin/time -f %M "$work/imgup" load "$work/app.tar.gz" 2>&1 >/dev/null | tail -1)

# apply end to end on the sample deployment.
echo "apply end to end: a ${BIG_MB} MB console-web on the sample deployment..." >&2
docker rmi -f "$app" "$base" >/dev/null 2>&1 || true
start_sample "$root"
big="${prefix}encoo/console-web-v4-pvt:4.1.76383"
build_big_image "$big" "$BIG_MB" mixed
docker save "$big" | gzip -1 > "$work/big.tar.gz"
docker rmi -f "$big" >/dev/null
for ((i = 1; i <= ROUNDS; i++)); do
  for m in apply separate; do
    docker rmi -f "$big" >/dev/null 2>&1 || true
    sync
    t0=$(now)
    if [ $m = apply ]; then
      "$work/imgup" apply -C "$root" --yes --restart none "$work/big.tar.gz" >/dev/null 2>&1
    else
      "$work/imgup" plan -C "$root" "$work/big.tar.gz" >/dev/null 2>&1 && "$work/imgup" load "$work/big.tar.gz" >/dev/null 2>&1
    fi
    t1=$(now)
    times[e2e_$m]+="$(echo "$t1 - $t0" | bc) "
    echo "apply round $i $m $(echo "$t1 - $t0" | bc)s" >&2
    [ $m = apply ] && "$work/imgup" rollback -C "$root" --yes >/dev/null 2>&1
  done
done
ma=$(echo "${times[e2e_apply]}" | median); ms=$(echo "${times[e2e_separate]}" | median)
rssa=$( (docker rmi -f "$big" >/dev/null 2>&1 || true; /usr/bin/time -f %M "$work/imgup" apply -C "$root" --yes --restart none "$work/big.tar.gz" 2>&1 >/dev/null | tail -1) )

engine=$(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')
{
  echo "## Delta load: a ${APP_MB} MB application layer on a ${BASE_MB} MB base the engine has"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`scripts/bench-delta.sh $BASE_MB $APP_MB $ROUNDS $BIG_MB\` on $(nproc) cores, Docker Engine $engine."
  echo "Median of $ROUNDS interleaved rounds; before each, the new image is removed (the base stays), then sync."
  echo "Archive sizes: app.tar $(( $(stat -c %s "$work/app.tar") / 1000000 )) MB, app.tar.gz $(( $(stat -c %s "$work/app.tar.gz") / 1000000 )) MB, app.bundle $(( $(stat -c %s "$work/app.bundle") / 1000000 )) MB."
  echo
  echo "| form | imgup load | docker load -i | runbook | imgup / docker | imgup / runbook |"
  echo "|---|---|---|---|---|---|"
  printf '| .tar.gz (docker save \\| gzip) | %.2f s | %.2f s | | %s | %s |\n' "${med[imgup_tgz]}" "${med[docker_tgz]}" "$(ratio "${med[imgup_tgz]}" "${med[docker_tgz]}")" "$(ratio "${med[imgup_tgz]}" "${med[runbook]}")"
  printf '| vendor .tar.gz (a tar inside) | %.2f s | %.2f s (the .tar.gz) | %.2f s | %s | %s |\n' "${med[imgup_vendor]}" "${med[docker_tgz]}" "${med[runbook]}" "$(ratio "${med[imgup_vendor]}" "${med[docker_tgz]}")" "$(ratio "${med[imgup_vendor]}" "${med[runbook]}")"
  printf '| plain .tar | %.2f s | %.2f s | | %s | |\n' "${med[imgup_tar]}" "${med[docker_tar]}" "$(ratio "${med[imgup_tar]}" "${med[docker_tar]}")"
  printf '| bundle (signed, checked) | %.2f s | %.2f s (the .tar) | | %s | |\n' "${med[imgup_bundle]}" "${med[docker_tar]}" "$(ratio "${med[imgup_bundle]}" "${med[docker_tar]}")"
  echo
  printf 'Fresh case (nothing on the engine): imgup load app.tar.gz %.2f s, docker load -i app.tar.gz %.2f s: %s.\n' "${med[fresh_imgup_tgz]}" "${med[fresh_docker_tgz]}" "$(ratio "${med[fresh_imgup_tgz]}" "${med[fresh_docker_tgz]}")"
  echo
  printf 'apply end to end (a %d MB image, gzip, on the sample deployment, --restart none): `imgup apply` %.2f s against `imgup plan` + `imgup load` run one after the other %.2f s: %s.\n' "$BIG_MB" "$ma" "$ms" "$(ratio "$ma" "$ms")"
  echo
  echo "Peak memory (max RSS): imgup load app.tar.gz ${rss1} KiB; imgup apply of the ${BIG_MB} MB archive ${rssa} KiB."
  echo
  echo "All rounds (s):"
  for k in $(echo "${!times[@]}" | tr ' ' '\n' | sort); do echo "- $k: ${times[$k]}"; done
} > "$work/result.md"
cat "$work/result.md"
[ "$OUT" = "-" ] || write_section "$OUT" "$work/result.md"
