#!/usr/bin/env bash
# demo.sh — imgup's main job on a demo deployment it creates, start to finish:
#
#   1. build imgup and the demo's images (a tiny static program, FROM scratch)
#   2. write a sample Encoo console deployment (root + vicode/, .systemconfig,
#      docker-compose.yml + docker-compose.service.yml, deploy.sh) and start it
#   3. the "vendor" ships two fixes: a vendor .tar.gz holding X.tar, and docker save | gzip
#   4. imgup inspect, imgup plan, imgup apply --yes
#   5. show docker ps for the deployment and the files' diff, then tear everything down
#
# Everything it makes is named imgupdemo*; it removes it all at the end (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
docker version >/dev/null 2>&1 || { echo "demo: no Docker engine answers (is dockerd running? DOCKER_HOST?)" >&2; exit 1; }

work=$(mktemp -d /tmp/imgupdemo.XXXXXX)
root="$work/consolev4pvt-4.1.150431"
prefix="imgupdemo/"
project="imgupdemo$$"
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
. scripts/lib.sh

cleanup() {
  if [ "${KEEP:-}" = 1 ]; then echo "KEEP=1: leaving $root and its containers"; return; fi
  say "tearing down"
  teardown "$root"
  rm -rf "$work"
}
trap cleanup EXIT

say "building imgup and the demo images"
build_imgup

say "writing the sample deployment in $root and starting it (./deploy.sh start)"
start_sample "$root"
cp -r "$root" "$work/before"

say "the vendor ships two fixes"
build_image "${prefix}encoo/console-web-v4-pvt:4.1.76383"
build_image "${prefix}encoo/vicode-apps-web:2.0.200"
docker save "${prefix}encoo/console-web-v4-pvt:4.1.76383" -o "$work/console-web-v4-pvt-4.1.76383.tar"
tar -C "$work" -czf "$root/image/console-web-v4-pvt-4.1.76383.tar.gz" console-web-v4-pvt-4.1.76383.tar   # the vendor's form
docker save "${prefix}encoo/vicode-apps-web:2.0.200" | gzip > "$root/image/vicode-apps-web-2.0.200.tgz"      # docker save | gzip
rm "$work/console-web-v4-pvt-4.1.76383.tar"
docker rmi "${prefix}encoo/console-web-v4-pvt:4.1.76383" "${prefix}encoo/vicode-apps-web:2.0.200" >/dev/null
ls -l "$root/image"

say "imgup inspect image/"
"$work/imgup" inspect "$root/image"

say "imgup plan -C $root image/   (changes nothing)"
"$work/imgup" plan -C "$root" "$root/image"

say "imgup apply --yes -C $root image/"
"$work/imgup" apply --yes -C "$root" "$root/image"

say "what changed in the files (only tag characters)"
diff -r "$work/before" "$root" -x image -x .imgup || true

say "docker ps for the deployment"
docker ps -a --filter "name=$project" --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'

say "imgup apply again: nothing to do"
"$work/imgup" apply --yes -C "$root" "$root/image"
