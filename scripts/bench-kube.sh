#!/usr/bin/env bash
# bench-kube.sh — a whole update of a namespace on a real 2-node Kubernetes 1.34 cluster
# (built on this machine by internal/e2e/kuberig), imgup against the way by hand, in
# interleaved rounds: a Deployment (2 replicas, maxUnavailable 0, readinessProbe), a
# StatefulSet and a DaemonSet on one image, :1 → :2, whose 64 MiB base both nodes have
# and whose 4 MiB application layer they lack. By hand is ctr images import of the whole
# archive on each node, sed, kubectl apply -f and kubectl rollout status. Before each
# update the cluster is put back to :1 and :2 removed from both nodes' containerd.
# Needs root and the Kubernetes binaries (scripts/k8s-bins.sh); the test takes the heavy
# lock itself. Prints the table; paste it into docs/benchmarks.md.
#
# The archives are docker save's (this machine's engine); IMGUP_BENCH_ARCHIVE=plain
# writes them with kuberig.WriteImage instead (no v1 json in the layers' folders).
#
# Usage: scripts/bench-kube.sh [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
: "${IMGUP_K8S_BIN:=$HOME/.cache/imgup-k8s/v1.34.4/bin}"
export IMGUP_K8S_BIN
out=$(mktemp)
IMGUP_BENCH_ROUNDS=${1:-${ROUNDS:-5}} IMGUP_BENCH_OUT=$out go test -tags 'e2e bench' -run '^TestKubeBench$' -count=1 -v -timeout 150m ./internal/e2e/ >&2
cat "$out"
rm -f "$out"
