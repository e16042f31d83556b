# lib.sh — shared by demo.sh and the bench scripts: build imgup and the tiny test image,
# write the sample Encoo deployment, tear it all down. Source it after setting
# work (a temp folder), prefix (image name prefix) and project (compose project).

# build_imgup builds imgup and the test program into $work.
build_imgup() {
  CGO_ENABLED=0 go build -o "$work/imgup" ./cmd/imgup
  (cd internal/e2e/testapp && CGO_ENABLED=0 go build -ldflags='-s -w' -o "$work/ctx/testapp" .)
}

# quiet_build REF: docker build of $work/ctx with the legacy builder (no BuildKit on
# these engines), quiet: its deprecation warning is shown only when the build fails.
quiet_build() {
  local out
  out=$(DOCKER_BUILDKIT=0 docker build -q -t "$1" "$work/ctx" 2>&1) || { echo "$out" >&2; return 1; }
}

# build_image REF [MODE]: a FROM scratch image running the test program.
build_image() {
  printf 'FROM scratch\nCOPY testapp /testapp\nENV MODE=%s VERSION=%s\nENTRYPOINT ["/testapp"]\n' "${2:-ok}" "$1" > "$work/ctx/Dockerfile"
  quiet_build "$1"
}

# build_big_image REF SIZE_MB CONTENT: an image of the test program and SIZE_MB of
# CONTENT: "random" (incompressible) or "mixed" (the Go toolchain's files, about 3.5:1
# under gzip, like a real service image). Needs build_imgup first.
build_big_image() {
  case $3 in
    random) head -c "$(($2 * 1024 * 1024))" /dev/urandom > "$work/ctx/pad" ;;
    mixed) for ((n = 0; n <= $2 / 200; n++)); do tar -cf - -C "$(go env GOROOT)" . 2>/dev/null || true; done | head -c "$(($2 * 1024 * 1024))" > "$work/ctx/pad" || true ;;
    *) echo "build_big_image: CONTENT is mixed or random" >&2; return 2 ;;
  esac
  printf 'FROM scratch\nCOPY testapp /testapp\nCOPY pad /pad\nENTRYPOINT ["/testapp"]\n' > "$work/ctx/Dockerfile"
  quiet_build "$1"
  rm -f "$work/ctx/pad"
}

# start_sample ROOT: build the sample's images, write it into ROOT and start it.
start_sample() {
  local ref
  for ref in $(go run ./internal/e2e/sample images "$prefix"); do build_image "$ref"; done
  go run ./internal/e2e/sample "$1" "$prefix" "$project"
  (cd "$1" && ./deploy.sh start 2>&1 | sed 's/^/   /')
  wait_healthy
}

# wait_healthy: until every container of the project is running and healthy.
wait_healthy() {
  local i
  for i in $(seq 1 120); do
    if [ -z "$(docker ps -a --filter "name=$project" --format '{{.Status}}' | grep -v '(healthy)')" ]; then return 0; fi
    sleep 1
  done
  echo "the sample deployment did not become healthy" >&2
  return 1
}

# teardown ROOT: stop the sample and remove every image under $prefix.
teardown() {
  (cd "$1" 2>/dev/null && ./deploy.sh stop >/dev/null 2>&1) || true
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "^${prefix}" | xargs -r docker rmi -f >/dev/null 2>&1 || true
}

# write_section FILE SECTION.md: put the section (its first line is its "## " heading)
# into FILE, replacing the section with the same heading.
write_section() {
  python3 - "$1" "$2" <<'PY'
import sys, re
out, new = sys.argv[1], open(sys.argv[2]).read()
try: old = open(out).read()
except FileNotFoundError: old = "# Benchmarks\n\nNumbers measured on this project's machines; each section says the script that made it.\n\n"
head = new.split("\n", 1)[0]
pat = re.compile(re.escape(head) + r".*?(?=\n## |\Z)", re.S)
old = pat.sub(lambda m: new.rstrip() + "\n", old) if pat.search(old) else old.rstrip() + "\n\n" + new
open(out, "w").write(old)
PY
  echo "written to $1" >&2
}

# now: the time in seconds, for timing a run.
now() { date +%s.%N; }

# median: the median of the numbers on stdin (separated by blanks or lines).
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# ratio A B: A / B with two decimals.
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
