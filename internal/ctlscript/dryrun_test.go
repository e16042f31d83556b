// These tests lock down the dry run on scripts written as different vendors write
// them: what compose calls each makes, in which folder, and that whatever a script
// does (loops that wait, recursion, growing variables, FIFOs, files outside the root)
// ends within the budget as a note, never an error or a hang.
package ctlscript

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/readfile"
)

func read(p string) ([]byte, error) { return readfile.Read(p, 0) }

// calls renders a result as one line per compose call: folder, command.
func calls(r *Result) string {
	var b strings.Builder
	for _, c := range r.Calls {
		b.WriteString("(in " + c.Dir + ") " + c.String())
		if c.Compose {
			b.WriteString("  # project=" + c.Project + " dir=" + c.ProjectDir + " files=" + strings.Join(c.Files, ",") + " services=" + strings.Join(c.Services, ","))
		}
		if c.Unknown != "" {
			b.WriteString(" unknown=" + c.Unknown)
		}
		b.WriteString("\n")
	}
	for _, c := range r.NotRun {
		b.WriteString("not run: " + c.String() + "\n")
	}
	for _, n := range r.Notes {
		b.WriteString("note: " + n.String() + "\n")
	}
	return b.String()
}

func write(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func dryRunIn(t *testing.T, root, command string) *Result {
	t.Helper()
	start := time.Now()
	r := DryRun(context.Background(), Options{Root: root, Command: command, Environ: []string{"PATH=/usr/bin:/bin", "HOME=/root"}, ReadFile: read})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the dry run took %v", took)
	}
	return r
}

func TestStyles(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string // substrings of calls(r), in order
		not   []string
		// command is what is dry-run ("./deploy.sh restart" when empty).
		command string
	}{
		{name: "for loop over stacks", files: map[string]string{
			"deploy.sh": `#!/bin/bash
BASE=$(cd "$(dirname "$0")" && pwd)
PROJECT_PREFIX=acme
FILES=(-f docker-compose.yml)
compose() { docker-compose "$@"; }
for stack in . vicode; do
    [ -d "$BASE/$stack" ] || continue
    ( cd "$BASE/$stack" && set -a && . ./.systemconfig && set +a
      compose --project-name="${PROJECT_PREFIX}-$(basename "$(pwd)")" "${FILES[@]}" "$@" )
done
./scripts/check_license.sh
`, ".systemconfig": "A=1\n", "vicode/.systemconfig": "B=2\n", "docker-compose.yml": "", "vicode/docker-compose.yml": ""},
			want: []string{"--project-name=acme-vicode -f docker-compose.yml restart  # project=acme-vicode dir=vicode files=vicode/docker-compose.yml", "not run: ./scripts/check_license.sh"},
		},
		{name: "project as a function argument, case aliases", files: map[string]string{
			"deploy.sh": `#!/bin/sh
up() { docker compose -p "$1" -f "$2" up -d; }
down() { docker compose -p "$1" -f "$2" down; }
case "$1" in
  restart|reload) down acme docker-compose.yml; up acme docker-compose.yml ;;
  start) up acme docker-compose.yml ;;
esac
`},
			want: []string{"docker compose -p acme -f docker-compose.yml down", "docker compose -p acme -f docker-compose.yml up -d"},
		},
		{name: "while read over a file list, set -e and a trap", files: map[string]string{
			"deploy.sh": `#!/bin/bash
set -euo pipefail
trap 'echo failed at $LINENO' ERR
trap 'rm -f /tmp/lock' EXIT
while read -r dir; do
  [ -z "$dir" ] && continue
  (cd "$dir" && docker-compose -p "shop-$dir" up -d)
done < stacks.list
`, "stacks.list": "web\n\napi\n", "web/docker-compose.yml": "", "api/docker-compose.yml": ""},
			want: []string{"(in web) docker-compose -p shop-web up -d  # project=shop-web dir=web", "(in api) docker-compose -p shop-api up -d"},
			not:  []string{"failed at"},
		},
		{name: "a loop that waits for health", files: map[string]string{
			"deploy.sh": `#!/bin/bash
docker-compose up -d db
until [ "$(docker inspect -f '{{.State.Health.Status}}' db)" = healthy ]; do echo waiting; sleep 2; done
while ! curl -sf localhost:8080/health; do sleep 1; done
docker-compose up -d app
`},
			want: []string{"docker-compose up -d db  # project= dir=. files= services=db", "docker-compose up -d app", "note: deploy.sh line 3: a loop that waits"},
		},
		{name: "COMPOSE_PROJECT_NAME and COMPOSE_FILE exported", files: map[string]string{
			"deploy.sh": `export COMPOSE_PROJECT_NAME=shop COMPOSE_FILE=base.yml:prod.yml
docker compose up -d --remove-orphans web worker
`},
			want: []string{"project=shop dir=. files=base.yml,prod.yml services=web,worker"},
		},
		{name: "a project from a command imgup does not run", files: map[string]string{
			"deploy.sh": `P=$(hostname -s)-app
docker compose -p "$P" up -d
`},
			want: []string{"unknown=hostname -s"},
		},
		{name: "bash -c and a nested script", files: map[string]string{
			"deploy.sh": `#!/bin/bash
bash -c "cd sub && docker-compose -p inner up -d"
./scripts/run.sh restart
`, "scripts/run.sh": "#!/bin/sh\ncd \"$(dirname \"$0\")/..\"\ndocker compose -p nested $1\n", "sub/x": ""},
			want: []string{"(in sub) docker-compose -p inner up -d", "docker compose -p nested restart"},
		},
		{name: "configuration read with grep, awk, cut, sed, ls, sort, tail", files: map[string]string{
			"deploy.sh": `#!/usr/bin/env bash
CONFIG_FILE=./config.txt
get_config() {
  value=$(grep "^${1}=" "${CONFIG_FILE}" | awk -F= '{ print $2 }' | awk -F' ' '{ print $1 }')
  echo "${value:-$2}"
}
NAME=$(get_config PROJECT default)
TAG=$(grep VERSION config.txt | cut -d= -f2 | sed 's/^v//')
DIR="$(ls -d "$(pwd)"/compose/*/ | sort -V | tail -n 1)"
if grep -q '^USE_IPV6=1' config.txt; then NET=v6; else NET=v4; fi
docker-compose -p "$NAME-$TAG-$NET" --project-directory "$DIR" -f "$DIR/app.yml" up -d
sed -i 's/a/b/' config.txt
`, "config.txt": "PROJECT=jms  # the name\nVERSION=v4.10\nUSE_IPV6=0\n", "compose/2.9/app.yml": "", "compose/2.10/app.yml": ""},
			want: []string{"-p jms-4.10-v4 --project-directory", "project=jms-4.10-v4 dir=compose/2.10 files=compose/2.10/app.yml", "not run: sed -i s/a/b/ config.txt"},
		},
		{name: "a sourced library finds its folder through BASH_SOURCE and reads config with grep | awk", files: map[string]string{
			"ctl.sh": `#!/usr/bin/env bash
PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" >/dev/null 2>&1 && pwd)"
. "${PROJECT_DIR}/scripts/utils.sh"
EXE=$(compose_cmd)
case "$1" in restart) ${EXE} down; ${EXE} up -d ;; esac
`,
			"scripts/utils.sh": `BASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" >/dev/null 2>&1 && pwd)"
. "${BASE_DIR}/const.sh"
get_config() { grep "^${1}=" "${CONFIG_FILE}" | awk -F= '{ print $2 }' | awk -F' ' '{ print $1 }'; }
compose_cmd() {
  cmd="docker-compose -f compose/app.yml"
  if [[ "$(get_config USE_TASK)" != "0" ]]; then cmd="${cmd} -f compose/task.yml"; fi
  echo "${cmd}"
}
`,
			"scripts/const.sh":  "CONFIG_FILE=\"$(cd \"$(dirname \"${BASH_SOURCE[0]}\")/..\" && pwd)/config/config.txt\"\n",
			"config/config.txt": "USE_TASK=1  # the task workers\n", "compose/app.yml": "", "compose/task.yml": ""},
			command: "./ctl.sh restart",
			want:    []string{"docker-compose -f compose/app.yml -f compose/task.yml down", "docker-compose -f compose/app.yml -f compose/task.yml up -d"},
			not:     []string{"note: "},
		},
		{name: "sourced files: a folder, a FIFO, /dev/zero, missing, outside", files: map[string]string{
			"deploy.sh": `. vicode
. ./fifo
. /dev/zero
. ./missing.env
. /etc/hostname
source ./ok.env
docker-compose -p "$NAME" up -d
`, "vicode/x": "", "ok.env": "NAME=fine\n"},
			want: []string{"-p fine up -d", "note: deploy.sh line 1: not read: vicode", "note: deploy.sh line 2: not read: fifo", "missing.env: no such file", "/etc/hostname is outside the deployment root"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := write(t, c.files)
			if strings.Contains(c.files["deploy.sh"], "./fifo") {
				if err := mkfifo(filepath.Join(root, "fifo")); err != nil {
					t.Fatal(err)
				}
			}
			command := c.command
			if command == "" {
				command = "./deploy.sh restart"
			}
			got := calls(dryRunIn(t, root, command))
			rest := got
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("want %q (in order) in\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range c.not {
				if strings.Contains(got, n) {
					t.Errorf("%q should not be in\n%s", n, got)
				}
			}
		})
	}
}

// Hostile scripts end within the budget, with a note.
func TestBudget(t *testing.T) {
	for name, src := range map[string]string{
		"doubling":        "A=x\nfor i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do A=$A$A; done\ndocker-compose -p \"$A\" up\n",
		"endless loop":    "while :; do :; done\n",
		"recursion":       "f() { f; }\nf\n",
		"source itself":   ". ./deploy.sh\n",
		"brace bomb":      "echo {1..100000000}\n",
		"brace product":   "echo {a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}\n",
		"printf width":    "printf '%999999999s' x\n",
		"nesting":         strings.Repeat("(", 100000) + "\n",
		"background loop": "while :; do :; done &\nwait\n",
		"eval loop":       "f='eval \"$f\"'; eval \"$f\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := write(t, map[string]string{"deploy.sh": src})
			r := dryRunIn(t, root, "./deploy.sh restart")
			if len(r.Notes) == 0 {
				t.Errorf("no note: %s", calls(r))
			}
		})
	}
}

func FuzzDryRun(f *testing.F) {
	for _, s := range []string{
		"for stack in . vicode; do (cd $stack && docker-compose -p x-$(basename $(pwd)) up -d); done\n",
		"case $1 in restart|reload) docker compose -p \"${P:-a}\" \"${FILES[@]}\" down;; esac\n",
		"A=(-f\nX=${Y:=${Z:-}}\ndocker compose -p",
		"while read d; do echo $d; done <<EOF\na\nb\nEOF\n",
		"f() { local x=$1; shift; docker-compose -p $x \"$@\"; }; f a up -d\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		os.WriteFile(filepath.Join(root, "deploy.sh"), data, 0o755)
		start := time.Now()
		DryRun(context.Background(), Options{Root: root, Command: "./deploy.sh restart", ReadFile: read, Time: 500 * time.Millisecond})
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("the dry run took %v: %q", took, data)
		}
	})
}
