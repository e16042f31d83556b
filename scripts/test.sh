#!/usr/bin/env bash
# test.sh — every test: unit tests, CLI scenarios, and the end-to-end tests on the real
# Docker engine with real compose v1 and v2. The end-to-end tests never skip: without an
# engine they fail. Compose v2 is built once from the Go module proxy when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker version >/dev/null 2>&1; then
  echo "test.sh: no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); the end-to-end tests need one: start dockerd" >&2
  exit 1
fi
command -v docker-compose >/dev/null 2>&1 || { echo "test.sh: docker-compose (v1) is not installed: apt-get install docker-compose" >&2; exit 1; }
if ! command -v minisign >/dev/null 2>&1; then
  echo "minisign is missing (the bundle tests check imgup's signatures against it); installing it from Debian's packages"
  { apt-get install -y -qq minisign >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq minisign >/dev/null; }; } \
    || { echo "test.sh: cannot install minisign: apt-get install minisign" >&2; exit 1; }
fi
if ! command -v chromium-headless-shell >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then
  echo "chromium-headless-shell is missing (the web console is tested in a real browser); installing it from Debian's packages"
  { apt-get install -y -qq chromium-headless-shell >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium-headless-shell >/dev/null; }; } \
    || { echo "test.sh: cannot install chromium-headless-shell: apt-get install chromium-headless-shell" >&2; exit 1; }
fi
if ! fc-list 2>/dev/null | grep -qi "wqy\|noto.*cjk"; then
  echo "no Chinese font (the browser test photographs the console in Chinese for docs/console); installing fonts-wqy-microhei"
  apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || echo "test.sh: note: fonts-wqy-microhei could not be installed; the Chinese screenshots will show boxes" >&2
fi
for tool in man:man-db rpm:rpm ip:iproute2 nsenter:util-linux iptables:iptables gawk:gawk etcd:etcd-server /usr/lib/cni/bridge:containernetworking-plugins; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    echo "${tool%%:*} is missing (the package test needs man and rpm; the swarm test builds its nodes with ip, nsenter and iptables; the control script's dry run runs awk as gawk --sandbox; the Kubernetes test cluster runs etcd and the CNI plugins); installing ${tool##*:} from Debian's packages"
    { apt-get install -y -qq "${tool##*:}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${tool##*:}" >/dev/null; }; } \
      || { echo "test.sh: cannot install ${tool##*:}: apt-get install ${tool##*:}" >&2; exit 1; }
  fi
done
if ! docker compose version >/dev/null 2>&1; then
  echo "compose v2 (docker compose) is missing; building v2.40.3 from the Go module proxy (a few minutes, once; kept in ~/.docker/cli-plugins)"
  (cd /tmp && go mod download github.com/docker/compose/v2@v2.40.3)
  mkdir -p ~/.docker/cli-plugins
  (cd "$(go env GOMODCACHE)/github.com/docker/compose/v2@v2.40.3" && GOFLAGS=-mod=mod go build -o ~/.docker/cli-plugins/docker-compose ./cmd)
fi
echo "engine $(docker version --format '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'), docker compose $(docker compose version --short)"
IMGUP_K8S_BIN=$(scripts/k8s-bins.sh); export IMGUP_K8S_BIN # kube-apiserver, kubelet… of the test cluster, built from source once per machine
go test -tags e2e -count=1 -timeout 60m -parallel 64 "$@" ./...
