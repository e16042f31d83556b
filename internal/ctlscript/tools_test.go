// These tests lock down the real tools of the dry run (the host's sed, gawk, grep and
// coreutils, sandboxed), the taint of a stand-in's output, what reaches the network,
// prompts, and where a run that fails ends.
package ctlscript

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// computed dry-runs deploy.sh and returns the words of its compose calls, one line
// each, and the result.
func computed(t *testing.T, files map[string]string) (string, *Result) {
	t.Helper()
	root := write(t, files)
	r := dryRunIn(t, root, "./deploy.sh restart")
	var b strings.Builder
	for _, c := range r.Calls {
		b.WriteString(c.String() + "\n")
	}
	return b.String(), r
}

func notes(r *Result) string {
	var b strings.Builder
	for _, n := range r.Notes {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}

func TestSedBackReference(t *testing.T) {
	got, r := computed(t, map[string]string{
		"deploy.sh": `#!/bin/bash
get() {
  local name=$1
  grep -E "^$name=" config/rc | sed -r "s/^$name=([\"']?)(.+)\1\$/\2/"
}
PROJECT=$(get PROJECT)
FILE=$(get FILE)
[ -n "$PROJECT" ] || { echo "PROJECT is not set" >&2; exit 1; }
docker compose -p "$PROJECT" -f "$FILE" up -d
`, "config/rc": "PROJECT=\"shop\"\nFILE='lib/base.yml'\nOTHER=x\n"})
	if want := "docker compose -p shop -f lib/base.yml up -d\n"; got != want {
		t.Fatalf("got %q, want %q\n%s", got, want, notes(r))
	}
	if r.Exit != 0 || r.ExitAt != nil {
		t.Errorf("exit %d at %v", r.Exit, r.ExitAt)
	}
}

const awkSplit = `#!/bin/bash
VERSION=$(awk -F'[ =]' '/^version/ { split($2, v, "."); printf "%d.%d-%s\n", v[1], v[2], $3 }' release.txt)
docker-compose -p "app-$VERSION" up -d
`

func TestAwkSplitPrintf(t *testing.T) {
	if detectTools().gawkPath() == "" {
		t.Skip("this host has no gawk, whose --sandbox the dry run needs for awk (scripts/test.sh installs it): the real awk path is not tested here")
	}
	got, r := computed(t, map[string]string{"deploy.sh": awkSplit, "release.txt": "name=x\nversion=4.10.2 lts\n"})
	if want := "docker-compose -p app-4.10-lts up -d\n"; got != want {
		t.Fatalf("got %q, want %q\n%s", got, want, notes(r))
	}
}

// Where the host has no gawk (Debian's default awk is mawk), the built-in forms are
// computed and the rest is a note.
func TestAwkWithoutSandbox(t *testing.T) {
	noSandbox.awk, noSandbox.sed = true, true
	defer func() { noSandbox.awk, noSandbox.sed = false, false }()
	got, r := computed(t, map[string]string{"deploy.sh": awkSplit, "release.txt": "version=4.10.2 lts\n"})
	if !strings.Contains(got, "-p app- up -d") || !strings.Contains(notes(r), "computes only with gawk") {
		t.Fatalf("the awk program is not computed without gawk, and a note says so:\n%s%s", got, notes(r))
	}
	got, r = computed(t, map[string]string{"deploy.sh": `P=$(awk -F= '/^NAME/ {print $2}' conf | sed 's/^x-//')
docker-compose -p "$P" up -d
`, "conf": "NAME=x-shop\n"})
	if got != "docker-compose -p shop up -d\n" {
		t.Fatalf("the built-in awk and sed forms: got %q\n%s", got, notes(r))
	}
}

func TestRealReadingTools(t *testing.T) {
	got, r := computed(t, map[string]string{"deploy.sh": `#!/bin/bash
SUM=$(sha256sum VERSION | cut -d' ' -f1 | head -c 8)
N=$(find conf -name '*.env' | sort | wc -l)
LAST=$(printf 'b\na\nc\n' | sort -r | tr a-z A-Z | tail -n 1)
docker compose -p "v-$SUM-$N-$LAST" up -d
`, "VERSION": "1.2.3\n", "conf/a.env": "", "conf/b.env": "", "conf/x.txt": ""})
	// sha256("1.2.3\n") begins with 8c5d...
	if !strings.HasPrefix(got, "docker compose -p v-") || !strings.HasSuffix(got, "-2-A up -d\n") || strings.Contains(got, "v--") {
		t.Fatalf("got %q\n%s", got, notes(r))
	}
}

// Writing forms, options the dry run does not know, and files outside the root are
// never run.
func TestToolsRefused(t *testing.T) {
	out := filepath.Join(t.TempDir(), "written")
	_, r := computed(t, map[string]string{"deploy.sh": `sed -i 's/a/b/' conf
sort -o ` + out + ` conf
date -s 2020-01-01
find . -name conf -delete
grep root /etc/passwd
awk 'BEGIN { system("touch ` + out + `") }'
uniq conf ` + out + `
tail -f conf
`, "conf": "a\n"})
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("a refused command wrote %s", out)
	}
	var notRun []string
	for _, c := range r.NotRun {
		notRun = append(notRun, c.Args[0])
	}
	for _, want := range []string{"sed", "sort", "date", "find", "grep", "uniq", "tail"} {
		if !slices.Contains(notRun, want) {
			t.Errorf("%s should be a command not run: %v\n%s", want, notRun, notes(r))
		}
	}
	for _, want := range []string{"line 1: sed -i writes", "line 2: sort -o writes", "line 3: date -s writes", "line 4: find -delete writes",
		"line 5: not read: /etc/passwd is outside the deployment root"} {
		if !strings.Contains(notes(r), want) {
			t.Errorf("no note %q in\n%s", want, notes(r))
		}
	}
}

// Shape 5: a stand-in's empty output piped into grep -E -o under errexit does not end
// the run; a note says so and the compose calls after it are seen.
func TestStandInInputDoesNotStop(t *testing.T) {
	got, r := computed(t, map[string]string{"deploy.sh": `#!/usr/bin/env bash
set -o errexit
set -o nounset
HASH=$(shasum -a 256 /opt/bundle/payload.tar | grep -E -o '^[0-9a-f]{64}')
echo "payload $HASH"
docker ps --format '{{.Names}}' | grep -q '^shop_' && echo running
pushd stack >/dev/null
docker compose -p shop down
docker compose -p shop up -d
popd >/dev/null
`, "stack/docker-compose.yml": ""})
	if got != "docker compose -p shop down\ndocker compose -p shop up -d\n" || r.Exit != 0 {
		t.Fatalf("exit %d at %v, calls:\n%s%s", r.Exit, r.ExitAt, got, notes(r))
	}
	if !strings.Contains(notes(r), "deploy.sh line 4: grep: its input comes from shasum -a 256 /opt/bundle/payload.tar, which the dry run does not run") {
		t.Errorf("no note on the stand-in's input:\n%s", notes(r))
	}
	if !slices.Contains(r.Dirs, "stack") {
		t.Errorf("pushd not seen: %v", r.Dirs)
	}
}

// Shape 3: a script that asks root to confirm ends on the prompt's empty answer.
func TestPromptAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the script asks only root to confirm")
	}
	_, r := computed(t, map[string]string{"deploy.sh": `#!/bin/bash
if [ "$EUID" -eq 0 ]; then
  echo "You are running as root: files it creates will belong to root."
  read -p "Do you still want to continue? (y/n)" ans
  if [ "$ans" != "y" ]; then
    exit 1
  fi
fi
docker compose up -d
`})
	if r.Exit != 1 || len(r.Calls) != 0 {
		t.Fatalf("exit %d, calls %v", r.Exit, r.Calls)
	}
	if len(r.Prompts) != 1 || r.Prompts[0].Line != 4 || r.Prompts[0].Text != "Do you still want to continue? (y/n)" {
		t.Errorf("prompts %+v", r.Prompts)
	}
	if r.ExitAt == nil || r.ExitAt.Line != 6 || r.ExitAt.Script != "deploy.sh" || r.ExitAt.String() != "exit 1" {
		t.Errorf("exit at %+v", r.ExitAt)
	}
	if !slices.Contains(r.Output, "You are running as root: files it creates will belong to root.") {
		t.Errorf("output %q", r.Output)
	}
}

// A read from a pipe, a here-string or a file is no prompt; select on the script's
// input is, and read without -p shows the line printed before it.
func TestPromptsOnlyOnTheScriptsInput(t *testing.T) {
	_, r := computed(t, map[string]string{"deploy.sh": `echo a | read x
read y <<< "b"
while read -r z; do :; done < list
echo "Pick a stack:"
read choice
PS3="Number: "
select s in web api; do break; done
`, "list": "1\n"})
	if len(r.Prompts) != 2 || r.Prompts[0].Line != 5 || r.Prompts[0].Text != "Pick a stack:" || r.Prompts[1].Line != 7 || r.Prompts[1].Text != "Number:" {
		t.Errorf("prompts %+v", r.Prompts)
	}
}

// Shape 4: a restart that pulls fails there on an offline machine.
func TestOfflinePull(t *testing.T) {
	got, r := computed(t, map[string]string{"deploy.sh": `#!/bin/bash
set -e
docker compose down
docker compose pull
docker compose up -d
`})
	if got != "docker compose down\ndocker compose pull\n" || r.Exit != 1 {
		t.Fatalf("exit %d, calls\n%s", r.Exit, got)
	}
	if len(r.Offline) != 1 || r.Offline[0].Line != 4 || r.ExitAt == nil || r.ExitAt.Line != 4 {
		t.Errorf("offline %+v, exit at %+v", r.Offline, r.ExitAt)
	}
	if len(r.Output) == 0 || !strings.Contains(r.Output[len(r.Output)-1], "network is unreachable") {
		t.Errorf("output %q", r.Output)
	}

	got, r = computed(t, map[string]string{"deploy.sh": `set -e
docker pull registry.example/setup:1.0 || true
curl -fsSL https://example.com/x | grep -q ok || echo "no answer"
docker-compose up -d --pull always web || docker-compose up -d web
`})
	if got != "docker pull registry.example/setup:1.0\ndocker-compose up -d --pull always web\ndocker-compose up -d web\n" || r.Exit != 0 || r.ExitAt != nil {
		t.Fatalf("exit %d, calls\n%s", r.Exit, got)
	}
	if len(r.Offline) != 3 || r.Calls[1].Pull != "always" {
		t.Errorf("offline %+v, calls %+v", r.Offline, r.Calls)
	}
}

func TestCallFields(t *testing.T) {
	_, r := computed(t, map[string]string{"deploy.sh": `#!/bin/bash
export IMAGE="registry.example/app:$(cat VERSION)"
LOCAL=not-exported
export HOME=/root
export COMPOSE_PROJECT_NAME=shop
docker compose --env-file conf/.env --profile web --profile=jobs up -d --pull=missing
`, "VERSION": "1.2.3\n", "conf/.env": ""})
	if len(r.Calls) != 1 {
		t.Fatalf("calls %+v", r.Calls)
	}
	c := r.Calls[0]
	if want := []string{"COMPOSE_PROJECT_NAME=shop", "IMAGE=registry.example/app:1.2.3"}; !slices.Equal(c.Env, want) {
		t.Errorf("env %q, want %q", c.Env, want)
	}
	if !slices.Equal(c.EnvFiles, []string{"conf/.env"}) || !slices.Equal(c.Profiles, []string{"web", "jobs"}) || c.Pull != "missing" {
		t.Errorf("env files %q, profiles %q, pull %q", c.EnvFiles, c.Profiles, c.Pull)
	}
}

// ExitAt under set -e is the failing command, not a trap's echo after it.
func TestExitAtErrexit(t *testing.T) {
	_, r := computed(t, map[string]string{"deploy.sh": `set -e
trap 'echo "failed at line $LINENO"' ERR
cd ./missing
docker compose up -d
`})
	if r.Exit == 0 || r.ExitAt == nil || r.ExitAt.Line != 3 || r.ExitAt.Args[0] != "cd" {
		t.Fatalf("exit %d at %+v, output %q", r.Exit, r.ExitAt, r.Output)
	}
}

// A stop that only a stand-in's empty output caused is no ExitAt: a note says so.
func TestStopOnlyAStandInCaused(t *testing.T) {
	_, r := computed(t, map[string]string{"deploy.sh": `#!/bin/bash
set -e
ID=$(docker ps -q -f name=shop_db)
[ -n "$ID" ] || { echo "the database is not running" >&2; exit 1; }
docker compose up -d
`})
	if r.ExitAt != nil || !strings.Contains(notes(r), "deploy.sh line 4: the dry run ends here only because a command it does not run printed nothing") {
		t.Fatalf("exit %d at %+v\n%s", r.Exit, r.ExitAt, notes(r))
	}
}

// read < /dev/tty is a prompt too.
func TestPromptFromTTY(t *testing.T) {
	_, r := computed(t, map[string]string{"deploy.sh": `echo "Type yes to go on:"
read -r answer < /dev/tty
[ "$answer" = yes ] || exit 3
`})
	if r.Exit != 3 || len(r.Prompts) != 1 || r.Prompts[0].Line != 2 || r.Prompts[0].Text != "Type yes to go on:" || r.ExitAt == nil || r.ExitAt.Line != 3 {
		t.Fatalf("exit %d at %+v, prompts %+v %q", r.Exit, r.ExitAt, r.Prompts[0].Line, r.Prompts[0].Text)
	}
}

// A health check on this machine is no network: a loop that waits on it is left as
// before, and nothing is offline.
func TestLocalIsNotOffline(t *testing.T) {
	got, r := computed(t, map[string]string{"deploy.sh": `docker compose up -d
until curl -sf http://localhost:8080/health; do sleep 1; done
nc -z 127.0.0.1 5432 || exit 1
docker compose ps
`})
	if got != "docker compose up -d\n" || len(r.Offline) != 0 || r.Exit != 0 {
		t.Fatalf("exit %d, offline %v, calls\n%s", r.Exit, r.Offline, got)
	}
}

// [ "" -lt 20 ] fails with status 2 as in bash (the interpreter alone takes "" as 0),
// so a version a docker query printed nothing for does not end the run.
func TestIntegerTestOfNothing(t *testing.T) {
	got, r := computed(t, map[string]string{"deploy.sh": `set -o errexit -o pipefail
SUM=$(shasum -a 256 stack/app.env | grep -E -o '^[0-9a-f]{12}')
MAJOR=$(docker version --format '{{.Server.Version}}' | grep -E -o '^[0-9]+')
if [ "$MAJOR" -lt 20 ]; then
  echo "needs Docker 20 (this engine: $MAJOR)" >&2
  exit 1
fi
docker-compose -p "photos-$SUM" up -d
`, "stack/app.env": "A=1\n"})
	// sha256("A=1\n") begins with 93b8b4d0fd5c.
	if r.Exit != 0 || !strings.HasPrefix(got, "docker-compose -p photos-") || len(got) != len("docker-compose -p photos-123456789012 up -d\n") {
		t.Fatalf("exit %d at %+v, calls\n%s%s%q", r.Exit, r.ExitAt, got, notes(r), r.Output)
	}
	if !slices.Contains(r.Output, "[: : integer expression expected") {
		t.Errorf("output %q", r.Output)
	}
}

// A sourced library's commands are its own: notes, stops and calls name the file and
// line they are written at, and umask (which the interpreter lacks) does not stop it.
func TestSourcedFileNamesItsLines(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "install"), 0o755)
	os.WriteFile(filepath.Join(root, "install", "_lib.sh"), []byte("umask 002\nexport COMPOSE_PROJECT_NAME=sentry\n"), 0o644)
	os.WriteFile(filepath.Join(root, "install", "pull.sh"), []byte("echo pulling\n$dc pull || true\n"), 0o644)
	os.WriteFile(filepath.Join(root, "install.sh"), []byte("#!/bin/bash\nset -euo pipefail\nsource install/_lib.sh\ndc='docker compose'\nsource install/pull.sh\n$dc up -d\n"), 0o755)
	res := DryRun(context.Background(), Options{Root: root, Command: "./install.sh", ReadFile: os.ReadFile})
	if res.Exit != 0 {
		t.Fatalf("exit %d at %+v; notes %v", res.Exit, res.ExitAt, res.Notes)
	}
	if len(res.Offline) != 1 || res.Offline[0].Script != "install/pull.sh" || res.Offline[0].Line != 2 {
		t.Errorf("offline %+v", res.Offline)
	}
	if len(res.Calls) < 2 || res.Calls[len(res.Calls)-1].Script != "install.sh" || res.Calls[len(res.Calls)-1].Line != 6 {
		t.Errorf("calls %+v", res.Calls)
	}
}
