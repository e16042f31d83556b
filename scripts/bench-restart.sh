#!/usr/bin/env bash
# bench-restart.sh — how long each service is unavailable during an update of one
# service (console-web), with --restart deploy (./deploy.sh restart: every container
# is removed and created again, as the runbook does) and --restart services (only the
# updated service's container is recreated), side by side on the same sample deployment.
#
# "Unavailable" is what imgup measures while it restarts and verifies: time without a
# container that is running and healthy (imgup polls the engine every 250 ms).
# Rounds alternate the two methods; each round ships a new console-web version.
#
# Usage: scripts/bench-restart.sh [ROUNDS=3] [OUT=docs/benchmarks.md]
set -euo pipefail
ROUNDS=${1:-3}
OUT=${2:-docs/benchmarks.md}
cd "$(dirname "$0")/.."
docker version >/dev/null 2>&1 || { echo "bench-restart: no Docker engine answers" >&2; exit 1; }
work=$(mktemp -d /tmp/imgupbench.XXXXXX)
root="$work/console"
prefix="imgupbench$$/"
project="imgupbench$$"
. scripts/lib.sh
trap 'teardown "$root"; rm -rf "$work"' EXIT

build_imgup
start_sample "$root" >/dev/null
n=0
for ((r = 1; r <= ROUNDS; r++)); do
  for method in deploy services; do
    n=$((n + 1))
    ref="${prefix}encoo/console-web-v4-pvt:4.1.8000$n"
    build_image "$ref"
    docker save "$ref" -o "$work/web.tar"
    docker rmi "$ref" >/dev/null
    "$work/imgup" apply --yes --json --restart "$method" -C "$root" "$work/web.tar" > "$work/$method-$r.json" 2>"$work/log"
    echo "round $r $method done" >&2
    wait_healthy
  done
done

python3 - "$work" "$ROUNDS" > "$work/result.md" <<'PY'
import json, sys, statistics, re, glob
work, rounds = sys.argv[1], int(sys.argv[2])
def secs(d):
    if not d: return 0.0
    total = 0.0
    for num, unit in re.findall(r"([\d.]+)(ms|s|m|h)", d):
        total += float(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total
data = {}
for method in ("deploy", "services"):
    for f in glob.glob(f"{work}/{method}-*.json"):
        for s in json.load(open(f)).get("services", []):
            key = s["stack"] + "/" + s["service"]
            data.setdefault(key, {}).setdefault(method, []).append(secs(s.get("downtime")))
            data[key]["updated"] = data[key].get("updated", False) or s.get("updated", False)
print("| service | updated | --restart deploy | --restart services |")
print("|---|---|---|---|")
tot = {"deploy": 0.0, "services": 0.0}
for key in sorted(data, key=lambda k: (not data[k]["updated"], k)):
    row = data[key]
    med = {m: statistics.median(row.get(m, [0])) for m in ("deploy", "services")}
    for m in med: tot[m] += med[m]
    print(f"| {key} | {'yes' if row['updated'] else ''} | {med['deploy']:.2f} s | {med['services']:.2f} s |")
print(f"| **all services, summed** | | **{tot['deploy']:.1f} s** | **{tot['services']:.1f} s** |")
PY
{
  echo "## Downtime per service: --restart deploy vs --restart services"
  echo
  echo "Measured $(date -u +%Y-%m-%d) by \`scripts/bench-restart.sh $ROUNDS\` on $(nproc) cores, Docker Engine $(docker version --format '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'), on the sample console deployment (12 services in 2 stacks, every one with a healthcheck)."
  echo "Each round updates console-web only. Time each service had no running-and-healthy container, median of $ROUNDS rounds per method."
  echo
  cat "$work/result.md"
  echo
  echo "With deploy.sh every service of both stacks goes down (the database, cache and proxy too) until compose has created and started all of them again and their healthchecks pass; with services only the updated service is replaced."
} > "$work/section.md"
cat "$work/section.md"
if [ "$OUT" != "-" ]; then
  write_section "$OUT" "$work/section.md"
fi
