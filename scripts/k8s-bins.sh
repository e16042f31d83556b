#!/usr/bin/env bash
# k8s-bins.sh — the Kubernetes binaries of the test cluster (internal/e2e/kuberig): kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet and kubectl, compiled from the Go module
# k8s.io/kubernetes as the tools of internal/e2e/kuberig/k8sbin/go.mod, and the helm CLI (Helm v4),
# compiled from helm.sh/helm/v4 as the tool of internal/e2e/kuberig/helmbin/go.mod (nothing
# prebuilt is downloaded). Built once per machine into $IMGUP_K8S_BIN (default
# ~/.cache/imgup-k8s/VERSION/bin, VERSION Kubernetes'); a binary already there is skipped (helm:
# when it reports helmbin's version), so a second run does nothing. Prints the folder last.
# Compiling Kubernetes is heavy: one binary at a time, under nice and /tmp/imgup-heavy.lock (set
# IMGUP_HEAVY_LOCK_HELD=1 when the caller holds it already).
set -euo pipefail
cd "$(dirname "$0")/../internal/e2e/kuberig/k8sbin"
version=$(go list -m -f "{{.Version}}" k8s.io/kubernetes)
[ -n "$version" ] || { echo "k8s-bins.sh: no k8s.io/kubernetes version in $(pwd)/go.mod" >&2; exit 1; }
helm_version=$(cd ../helmbin && go list -m -f "{{.Version}}" helm.sh/helm/v4)
[ -n "$helm_version" ] || { echo "k8s-bins.sh: no helm.sh/helm/v4 version in $(cd ../helmbin && pwd)/go.mod" >&2; exit 1; }
bin=${IMGUP_K8S_BIN:-$HOME/.cache/imgup-k8s/$version/bin}
tools="kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl"
missing=""
for t in $tools; do [ -x "$bin/$t" ] || missing="$missing $t"; done
# helm's folder is named after Kubernetes' version: a helm of another version is rebuilt.
helm_built() { [ -x "$bin/helm" ] && [ "$("$bin/helm" version --template "{{.Version}}" 2>/dev/null)" = "$helm_version" ]; }
helm_built || missing="$missing helm"
if [ -z "$missing" ]; then
  echo "k8s-bins.sh: Kubernetes $version binaries and helm $helm_version are built already in $bin" >&2
  echo "$bin"
  exit 0
fi
mkdir -p "$bin"
exec 8>"$bin/.build.lock"
flock 8
if [ -z "${IMGUP_HEAVY_LOCK_HELD:-}" ]; then
  exec 9>/tmp/imgup-heavy.lock
  flock -n 9 || { echo "k8s-bins.sh: waiting for /tmp/imgup-heavy.lock" >&2; flock 9; }
fi
v=${version#v}
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=${v%%.*}"
ldflags="$ldflags -X k8s.io/component-base/version.gitMinor=$(echo "$v" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$version"
# What helm's Makefile sets for a release tag (the module zip carries no git commit to name).
helm_ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
all=$(date +%s)
for t in $missing; do
  if [ "$t" = helm ]; then
    helm_built && continue # built by a run we waited for
    echo "k8s-bins.sh: building helm $helm_version into $bin" >&2
    start=$(date +%s)
    (cd ../helmbin && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$helm_ldflags" -o "$bin/.helm.tmp" helm.sh/helm/v4/cmd/helm)
    mv "$bin/.helm.tmp" "$bin/helm"
    echo "k8s-bins.sh: helm built in $(($(date +%s) - start)) s" >&2
    continue
  fi
  [ -x "$bin/$t" ] && continue # built by a run we waited for
  echo "k8s-bins.sh: building $t $version into $bin" >&2
  start=$(date +%s)
  CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$bin/.$t.tmp" "k8s.io/kubernetes/cmd/$t"
  mv "$bin/.$t.tmp" "$bin/$t"
  echo "k8s-bins.sh: $t built in $(($(date +%s) - start)) s" >&2
done
echo "k8s-bins.sh: Kubernetes $version binaries and helm $helm_version built in $(($(date +%s) - all)) s" >&2
echo "$bin"
