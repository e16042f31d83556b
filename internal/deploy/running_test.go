// These tests lock down how a stack finds its containers: from their compose labels
// (relative v1 and absolute v2 config files, symlinked roots, two projects from one
// folder, one-off containers), and, when nothing runs, from the control script read
// without running it, in the styles of internal/e2e/testdata/styles.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/engine"
)

// writeStyle copies a style folder into a temporary root with {NAME} and {P} set.
func writeStyle(t *testing.T, style, name string) string {
	t.Helper()
	root := t.TempDir()
	if err := deploytest.Copy(filepath.Join("..", "e2e", "testdata", "styles", style), root, strings.NewReplacer("{NAME}", name, "{P}", "")); err != nil {
		t.Fatal(err)
	}
	return root
}

func projects(d *Deployment) map[string]string {
	m := map[string]string{}
	for _, s := range d.Stacks {
		m[s.Name] = s.Project
	}
	return m
}

func TestScriptStylesWhenNothingRuns(t *testing.T) {
	for _, c := range []struct {
		style string
		want  map[string]string
	}{
		{"01-var-systemconfig", map[string]string{"console": "acme", "vicode": "acme-vicode"}},
		{"02-default", map[string]string{"console": "acme"}},
		{"03-project-name-eq", map[string]string{"console": "acme"}},
		{"04-env-project-name", map[string]string{"console": "acme"}},
		{"05-v2-array", map[string]string{"console": "acme"}},
		{"06-case-upgrade", map[string]string{"console": "acme-std"}},
		{"07-symlink-root", map[string]string{"console": "acme"}},
		{"08-cd-dirname", map[string]string{"console": "acme", "vicode": "acme_vicode"}},
		{"09-loop", map[string]string{"base": "acme_base", "app": "acme_app"}},
		{"12-for-stacks", map[string]string{"console": "acme-001", "vicode": "acme-vicode"}},
		{"13-func-arg", map[string]string{"console": "acme"}},
		{"14-basename-pwd", map[string]string{"console": "001"}},
		{"15-cd-subshell", map[string]string{"services": "acme-svc"}},
		{"16-while-read", map[string]string{"data": "acme_data", "app": "acme_app"}},
		{"17-case-aliases", map[string]string{"console": "acme"}},
		{"18-set-e-trap", map[string]string{"console": "acme"}},
		{"19-wait-health", map[string]string{"console": "acme"}},
	} {
		t.Run(c.style, func(t *testing.T) {
			root := writeStyle(t, c.style, "acme")
			d, err := Discover(context.Background(), root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := projects(d)
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("stack %s: project %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("stacks %v, want %v", got, c.want)
			}
			for _, s := range d.Stacks {
				if s.ProjectFrom != FromScript && s.ProjectFrom != FromDotEnv {
					t.Errorf("stack %s: project from %s (%s)", s.Name, s.ProjectFrom, s.ProjectWhy)
				}
			}
		})
	}
	// The old script without -p: compose's default, the folder's name.
	root := filepath.Join(t.TempDir(), "Legacy.App")
	os.Rename(writeStyle(t, "10-no-p", "acme"), root)
	d, err := Discover(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Stacks[0]; s.Project != "legacyapp" || s.ProjectFrom != FromScript || !strings.Contains(s.ProjectWhy, "the folder's name") {
		t.Errorf("no -p: project %q from %s (%s)", s.Project, s.ProjectFrom, s.ProjectWhy)
	}
}

func TestScriptProjectUnknown(t *testing.T) {
	root := writeStyle(t, "01-var-systemconfig", "acme")
	// The name now comes from a command: imgup cannot know it without running it.
	b, _ := os.ReadFile(filepath.Join(root, "deploy.sh"))
	b = []byte(strings.Replace(string(b), "set +a\n", "set +a\nPROJECT=$(hostname -s)\n", 1))
	os.WriteFile(filepath.Join(root, "deploy.sh"), b, 0o755)
	d, err := Discover(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Stack("console")
	if s.Project != "" || s.ProjectFrom != FromUnknown || !strings.Contains(s.ProjectWhy, "from the output of hostname -s") {
		t.Errorf("project %q from %s: %s", s.Project, s.ProjectFrom, s.ProjectWhy)
	}
	// The operator settles it.
	d, err = Discover(context.Background(), root, Options{Projects: map[string]string{"console": "acme"}})
	if err != nil || d.Stack("console").Project != "acme" || d.Stack("console").ProjectFrom != FromFlag {
		t.Errorf("--project: %v %+v", err, d.Stack("console"))
	}
}

// ctr is a compose container made from dir with files (v1: relative, v2: absolute).
func ctr(project, svc, dir, files, state string, oneoff bool) engine.Container {
	l := map[string]string{engine.LabelProject: project, engine.LabelService: svc, engine.LabelWorkingDir: dir, engine.LabelConfig: files}
	if oneoff {
		l[engine.LabelOneoff] = "True"
	}
	return engine.Container{ID: project + svc + state, Name: project + "_" + svc, State: state, Labels: l}
}

func TestLabels(t *testing.T) {
	root := writeStyle(t, "01-var-systemconfig", "acme")
	link := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	v1 := "docker-compose.yml,docker-compose.service.yml"
	v2 := filepath.Join(root, "docker-compose.yml") + "," + filepath.Join(root, "docker-compose.service.yml")
	vic := filepath.Join(root, "vicode")
	for _, c := range []struct {
		name  string
		dir   string // what imgup is pointed at
		cs    []engine.Container
		want  map[string]string
		err   string
		owned int // containers the console stack owns
	}{
		{"v1 relative files", root, []engine.Container{ctr("prod", "web", root, v1, "running", false), ctr("prod", "db", root, v1, "running", false),
			ctr("prodv", "editor", vic, "docker-compose.yml", "running", false)}, map[string]string{"console": "prod", "vicode": "prodv"}, "", 2},
		{"v2 absolute files", root, []engine.Container{ctr("prod", "web", root, v2, "running", false), ctr("prodv", "editor", vic, filepath.Join(vic, "docker-compose.yml"), "running", false)},
			map[string]string{"console": "prod", "vicode": "prodv"}, "", 1},
		{"root reached through a symlink", link, []engine.Container{ctr("prod", "web", root, v2, "running", false)}, map[string]string{"console": "prod", "vicode": "acme-vicode"}, "", 1},
		{"containers made through the symlink", root, []engine.Container{ctr("prod", "web", link, v1, "running", false)}, map[string]string{"console": "prod"}, "", 1},
		{"one-off containers do not count", root, []engine.Container{ctr("other", "web", root, v1, "running", true), ctr("prod", "db", root, v1, "exited", false)},
			map[string]string{"console": "prod"}, "", 1},
		{"two projects, one runs", root, []engine.Container{ctr("old", "web", root, v1, "exited", false), ctr("prod", "web", root, v1, "running", false)},
			map[string]string{"console": "prod"}, "", 1},
		{"two projects, both run", root, []engine.Container{ctr("old", "web", root, v1, "running", false), ctr("prod", "web", root, v1, "running", false)},
			nil, "containers of 2 compose projects were made from the console stack: old (1 of 1 containers running), prod (1 of 1 containers running); say which", 0},
		{"another folder's containers are not ours", root, []engine.Container{ctr("acme", "web", "/srv/other", "/srv/other/docker-compose.yml", "running", false)},
			map[string]string{"console": "acme"}, "", 0},
		{"a service the stack lacks is not ours", root, []engine.Container{ctr("prod", "web", root, v1, "running", false), ctr("prod", "cron", root, v1, "running", false)},
			map[string]string{"console": "prod"}, "", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Discover(context.Background(), c.dir, Options{Containers: c.cs})
			if c.err != "" {
				var amb *AmbiguousProject
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &amb) {
					t.Fatalf("got %v, want %q", err, c.err)
				}
				// --project settles it.
				d, err = Discover(context.Background(), c.dir, Options{Containers: c.cs, Projects: map[string]string{"console": "prod"}})
				if err != nil || d.Stack("console").Project != "prod" {
					t.Fatalf("--project: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := projects(d)
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("stack %s: project %q, want %q (%s)", k, got[k], v, d.Stack(k).ProjectWhy)
				}
			}
			if n := len(d.Stack("console").Containers(c.cs, "")); n != c.owned {
				t.Errorf("console owns %d containers, want %d", n, c.owned)
			}
		})
	}
}

// The root is the folder the operator names: compose files named
// docker-compose-<part>.yml in a folder nothing of the root reaches are another
// deployment, even with containers made from them; once imgup.yaml names the control
// script, its dry run reaches them, and the labels bind them.
func TestStackFromLabels(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "deploy", "compose"), 0o755)
	f := filepath.Join(root, "deploy", "compose", "docker-compose-app.yml")
	os.WriteFile(f, []byte("services:\n  api:\n    image: acme/api:3.1\n"), 0o644)
	os.WriteFile(filepath.Join(root, "xxctl.sh"), []byte("#!/bin/sh\nCOMPOSE_DIR=deploy/compose\ndocker compose -f \"$COMPOSE_DIR/docker-compose-app.yml\" up -d\n"), 0o755)
	cs := []engine.Container{ctr("acme", "api", filepath.Dir(f), f, "running", false)}
	for _, c := range [][]engine.Container{nil, cs} {
		_, err := Discover(context.Background(), root, Options{Containers: c})
		var nd *NotDeployment
		if !errors.As(err, &nd) || !strings.Contains(err.Error(), "found one at deploy/compose: imgup -C "+filepath.Join(root, "deploy", "compose")) {
			t.Fatalf("a root that reaches no compose file must not be a deployment: %v", err)
		}
	}
	os.WriteFile(filepath.Join(root, "imgup.yaml"), []byte("script: xxctl.sh\nrestart: ./xxctl.sh\n"), 0o644)
	d, err := Discover(context.Background(), root, Options{Containers: cs})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Stack("deploy/compose")
	if s == nil || s.Project != "acme" || len(s.Files) != 1 || s.Files[0].Path != f || s.Service("api") == nil {
		t.Fatalf("stacks: %+v", d.Stacks)
	}
}

// A control script not called deploy.sh that picks its compose folder at run time
// (ls -d compose/*/ | sort -V | tail -n 1): with nothing running, its dry run finds
// the folder and the project; imgup.yaml's stacks: still pins what it says.
func TestCtlScriptWhenNothingRuns(t *testing.T) {
	root := writeStyle(t, "11-ctl-script", "acme")
	d, err := Discover(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Stack("compose/2.3"); s == nil || len(s.Files) != 2 || s.Project != "acme" || s.ProjectFrom != FromScript {
		t.Fatalf("%+v", d.Stacks)
	}
	y := filepath.Join(root, "imgup.yaml")
	b, _ := os.ReadFile(y)
	os.WriteFile(y, append(b, "stacks:\n  - dir: compose/2.3\n    files: [docker-compose-base.yml, docker-compose-app.yml]\n"...), 0o644)
	d, err = Discover(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Stack("compose/2.3")
	if s == nil || len(s.Files) != 2 || s.Project != "acme" || d.RestartCommand != "./xxctl.sh restart" {
		t.Fatalf("%+v restart %q", s, d.RestartCommand)
	}
	if len(s.Extra) != 1 || s.Env()["APP_VERSION"] != "1.0.0" {
		t.Errorf("env-files not read: %v", s.Env())
	}
	os.WriteFile(y, append(b, "stacks:\n  - dir: compose/2.3\n    project: acme-suite\n"...), 0o644)
	if d, err = Discover(context.Background(), root, Options{}); err != nil || d.Stack("compose/2.3").Project != "acme-suite" || len(d.Stack("compose/2.3").Files) != 2 {
		t.Fatalf("stacks: project: %v %+v", err, d)
	}
}

// A deployment file or stack folder that resolves outside the root is refused, naming
// it; a link that stays inside (an installer's .env -> env/prod.env) is fine.
func TestOutsideRoot(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "docker-compose.yml"), []byte("services:\n  web:\n    image: acme/web:1\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "prod.env"), []byte("TAG=1\n"), 0o644)

	root := writeStyle(t, "02-default", "acme")
	os.Remove(filepath.Join(root, "docker-compose.yml"))
	os.Symlink(filepath.Join(outside, "docker-compose.yml"), filepath.Join(root, "docker-compose.yml"))
	_, err := Discover(context.Background(), root, Options{})
	var out *OutsideRoot
	if !errors.As(err, &out) || out.Path != "docker-compose.yml" || !strings.Contains(err.Error(), "outside the deployment root") {
		t.Fatalf("compose file through a link: %v", err)
	}

	root = writeStyle(t, "02-default", "acme")
	os.Symlink(filepath.Join(outside, "prod.env"), filepath.Join(root, ".env"))
	if _, err := Discover(context.Background(), root, Options{}); !errors.As(err, &out) || out.Path != ".env" {
		t.Fatalf(".env through a link: %v", err)
	}

	root = writeStyle(t, "02-default", "acme")
	os.MkdirAll(filepath.Join(root, "env"), 0o755)
	os.WriteFile(filepath.Join(root, "env", "prod.env"), []byte("TAG=1\n"), 0o644)
	os.Symlink(filepath.Join("env", "prod.env"), filepath.Join(root, ".env"))
	if _, err := Discover(context.Background(), root, Options{}); err != nil {
		t.Fatalf("a link inside the root: %v", err)
	}
}

// A one-line compose file of 1.5 MB is read in linear time by the whole discovery, not
// only by imgup's parser: compose-go's cross-check, quadratic in a mapping's keys, is
// skipped (with a note) for mappings too large for it.
func TestOneLineDeploymentIsLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"services": {`)
	n := 0
	for b.Len() < 1_500_000 {
		if n > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `"s%d": {"image": "acme/svc%d:1.0.%d"}`, n, n, n)
		n++
	}
	b.WriteString("}}")
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "docker-compose.yml"), []byte(b.String()), 0o644)
	start := time.Now()
	d, err := Discover(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("%d services on one line: discovery took %v", n, took)
	}
	if len(d.Stacks[0].Services) != n || len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "without compose-go's cross-check") {
		t.Errorf("%d services, warnings %v", len(d.Stacks[0].Services), d.Warnings)
	}
}

// A control script larger than any real one is not read: a note, never an error.
func TestHugeScriptRefused(t *testing.T) {
	root := writeStyle(t, "02-default", "acme")
	f, _ := os.OpenFile(filepath.Join(root, "deploy.sh"), os.O_APPEND|os.O_WRONLY, 0)
	f.Truncate(17 << 20)
	f.Close()
	d, err := Discover(context.Background(), root, Options{})
	if err != nil || d.Restart == nil || len(d.Restart.Notes) == 0 || !strings.Contains(d.Restart.Notes[0].Text, "deploy.sh is larger than 16 MiB") {
		t.Fatalf("got %v %+v", err, d.Restart)
	}
}
