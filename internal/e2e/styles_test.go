//go:build e2e

// These tests prove that imgup finds what runs from the engine on deployments whose
// control scripts are written as different vendors write them (testdata/styles):
// project names from variables, defaults, --project-name=, .env, arrays of -f, loops
// over folders, a symlinked root, no -p at all; compose v1 and v2. For each: status
// exits 0 on the started deployment; apply (the script's restart, then
// --restart services) runs the new image ID, healthy; rollback brings the old one
// back and the files byte for byte.
package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

type style struct {
	dir string
	// v2 says the script runs compose v2.
	v2 bool
	// updated are the stack/service names running acme/web (and acme/editor).
	updated []string
	// containers is how many containers the style runs.
	containers int
	// link: the root is reached through a symlink; noP: the folder names the project.
	link, noP bool
	// script is the control script ("deploy.sh" when empty).
	script string
}

var styles = []style{
	{dir: "01-var-systemconfig", updated: []string{"web", "editor"}, containers: 3},
	{dir: "01-var-systemconfig", v2: true, updated: []string{"web", "editor"}, containers: 3},
	{dir: "02-default", updated: []string{"web"}, containers: 2},
	{dir: "03-project-name-eq", updated: []string{"web"}, containers: 2},
	{dir: "04-env-project-name", updated: []string{"web"}, containers: 2},
	{dir: "05-v2-array", v2: true, updated: []string{"web"}, containers: 2},
	{dir: "06-case-upgrade", updated: []string{"web"}, containers: 2},
	{dir: "07-symlink-root", updated: []string{"web"}, containers: 2, link: true},
	{dir: "08-cd-dirname", updated: []string{"web"}, containers: 2},
	{dir: "09-loop", updated: []string{"web"}, containers: 2},
	{dir: "10-no-p", updated: []string{"web"}, containers: 2, noP: true},
	{dir: "11-ctl-script", updated: []string{"web"}, containers: 2, script: "xxctl.sh"},
	{dir: "12-for-stacks", updated: []string{"web", "editor"}, containers: 3},
	{dir: "13-func-arg", updated: []string{"web"}, containers: 2},
	{dir: "14-basename-pwd", v2: true, updated: []string{"web"}, containers: 2, noP: true},
	{dir: "15-cd-subshell", updated: []string{"web"}, containers: 2},
	{dir: "16-while-read", updated: []string{"web"}, containers: 2},
	{dir: "17-case-aliases", updated: []string{"web"}, containers: 2},
	{dir: "18-set-e-trap", v2: true, updated: []string{"web"}, containers: 2},
	{dir: "19-wait-health", updated: []string{"web"}, containers: 2},
}

func TestDeployStyles(t *testing.T) {
	t.Parallel() // each style takes its own turn (parallel) below
	if exec.Command("docker", "compose", "version").Run() != nil {
		t.Fatal("compose v2 (docker compose) is not installed: ./scripts/test.sh builds it")
	}
	eng := dockertest.New(t)
	old := map[string]string{}
	for _, r := range []string{"acme/web:1.0.0", "acme/db:1", "acme/editor:2.0.0"} {
		name, tag, _ := strings.Cut(r, ":")
		old[name] = eng.Build(t, eng.Ref(name, tag), "ok", 0)
	}
	web, editor := eng.Ref("acme/web", "1.0.1"), eng.Ref("acme/editor", "2.0.1")
	newIDs := map[string]string{"web": eng.Build(t, web, "ok", 0), "editor": eng.Build(t, editor, "ok", 0)}
	archives := t.TempDir()
	eng.Save(t, filepath.Join(archives, "acme-update-1.0.1.tar"), web, editor)
	eng.Remove(t, web, editor)
	oldIDs := map[string]string{"web": old["acme/web"], "editor": old["acme/editor"]}

	for _, st := range styles {
		t.Run(st.dir+map[bool]string{true: "-compose-v2", false: ""}[st.v2], func(t *testing.T) {
			parallel(t)
			name := eng.Project("s" + st.dir[:2] + map[bool]string{true: "w", false: ""}[st.v2])
			root := writeStyle(t, st.dir, name, eng.Prefix+"/", st)
			files := snapshotFiles(t, root)
			if st.script == "" {
				st.script = "deploy.sh"
			}
			script(t, root, st.script, "start")
			t.Cleanup(func() {
				if os.Getenv("IMGUP_TEST_KEEP") == "" {
					cmd := exec.Command("./"+st.script, "stop")
					cmd.Dir = root
					cmd.Run()
				}
			})
			waitStyle(t, name, st.containers)
			run := func(want int, args ...string) string {
				t.Helper()
				out, errOut, code := imgup(t, append(args, "-C", root)...)
				if code != want {
					t.Fatalf("imgup %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
				}
				return out + errOut
			}
			run(0, "status")
			dry := planDryRun(t, root, st.script, archives)
			check := func(ids map[string]string, keep map[string]string) map[string]ctr {
				t.Helper()
				now := waitStyle(t, name, st.containers)
				for _, u := range st.updated {
					if c := now[u]; c.Image != ids[u] || c.Health != "healthy" {
						t.Errorf("%s runs %s (%s), want %s healthy", u, short(c.Image), c.Health, short(ids[u]))
					}
				}
				for svc, id := range keep {
					if now[svc].ID != id {
						t.Errorf("%s was recreated; only the updated services may be", svc)
					}
				}
				return now
			}

			// The vendor's way: the script's restart.
			// The apply runs the control script's restart through the shims: its dry run
			// in the plan is held against what it really runs. (A process of its own:
			// PATH is the shims' only for it.)
			out, code := runIn(t, root, []string{"PATH=" + dry.path}, "apply", "--yes", "--timeout", "90s", archives)
			if code != 0 {
				t.Fatalf("imgup apply: exit %d\n%s", code, out)
			}
			if !strings.Contains(out, "from the labels of its") {
				t.Errorf("the plan does not say the project came from the labels:\n%s", out)
			}
			dry.compare(t)
			check(newIDs, nil)
			run(0, "status")
			run(0, "rollback", "--yes", "--timeout", "90s")
			check(oldIDs, nil)
			expectSame(t, root, files)

			// Only the updated services.
			before := waitStyle(t, name, st.containers)
			run(0, "apply", "--yes", "--restart", "services", "--timeout", "90s", archives)
			check(newIDs, map[string]string{"db": before["db"].ID})
			run(0, "status")
			run(0, "rollback", "--yes", "--timeout", "90s")
			check(oldIDs, map[string]string{"db": before["db"].ID})
			expectSame(t, root, files)
		})
	}
}

// writeStyle copies testdata/styles/dir into a new root with the project name and
// image prefix set. A link style's root is a symlink to a release folder; a noP
// style's folder is named for the project.
func writeStyle(t *testing.T, dir, name, prefix string, st style) string {
	t.Helper()
	src := filepath.Join("testdata", "styles", dir)
	base := t.TempDir()
	root := filepath.Join(base, "deploy")
	if st.noP {
		root = filepath.Join(base, name)
	}
	if st.link {
		root = filepath.Join(base, "releases", "2.3.1")
	}
	if err := deploytest.Copy(src, root, strings.NewReplacer("{NAME}", name, "{P}", prefix)); err != nil {
		t.Fatal(err)
	}
	if st.v2 {
		b, _ := os.ReadFile(filepath.Join(root, "deploy.sh"))
		os.WriteFile(filepath.Join(root, "deploy.sh"), []byte(deploytest.ComposeV2.Replace(string(b))), 0o755)
	}
	if st.link {
		link := filepath.Join(base, "current")
		if err := os.Symlink(filepath.Join("releases", "2.3.1"), link); err != nil {
			t.Fatal(err)
		}
		return link
	}
	return root
}

func script(t *testing.T, root, name, verb string) {
	t.Helper()
	cmd := exec.Command("./"+name, verb)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, verb, err, out)
	}
}

type ctr struct{ ID, Image, State, Health string }

// waitStyle waits until n containers of projects starting with name run healthy, and
// returns them by service.
func waitStyle(t *testing.T, name string, n int) map[string]ctr {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		m := map[string]ctr{}
		ok := true
		if ids := dockertest.Docker(t, "ps", "-aq", "--filter", "label=com.docker.compose.project"); ids != "" {
			args := append([]string{"inspect", "--format", `{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.Image}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}`}, strings.Fields(ids)...)
			out, _ := exec.Command("docker", args...).Output() // a container may go between ps and inspect
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) == 6 && strings.HasPrefix(f[0], name) && (f[0] == name || f[0][len(name)] == '-' || f[0][len(name)] == '_') {
					m[f[1]] = ctr{ID: f[2], Image: f[3], State: f[4], Health: f[5]}
					if f[4] != "running" || f[5] != "healthy" {
						ok = false
					}
				}
			}
		}
		if ok && len(m) == n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d healthy containers, have %+v", name, n, m)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// snapshotFiles reads every file under root (not .imgup/); a symlink is kept as its target's name.
func snapshotFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	real, _ := filepath.EvalSymlinks(root)
	filepath.Walk(real, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if info.IsDir() && info.Name() == ".imgup" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(real, p)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			m[rel] = "symlink to " + l
		case !info.IsDir():
			b, _ := os.ReadFile(p)
			m[rel] = string(b)
		}
		return nil
	})
	return m
}

func expectSame(t *testing.T, root string, want map[string]string) {
	t.Helper()
	got := snapshotFiles(t, root)
	for f, w := range want {
		if got[f] != w {
			t.Errorf("%s differs after the rollback:\n--- got\n%s\n--- want\n%s", f, got[f], w)
		}
	}
}

// checkDryRun holds the plan's dry run of the restart against what the script really
// does: it runs "SCRIPT restart" with docker-compose and docker behind shims that
// record each call's folder and words, then pass it to the real program. Every compose
// call the script makes must be in the dry run, in the same folder with the same words,
// and nothing else (queries like ps aside).
// dryRunCheck is the plan's dry run of the restart, and the PATH whose shims log what
// the real restart then runs: compare says whether they agree.
type dryRunCheck struct {
	dry        []string
	path, log  string
	root, name string
}

// planDryRun reads the plan's dry run of the control script's restart and sets up the
// shims that log the real one (docker-compose and docker, in front of the real ones).
func planDryRun(t *testing.T, root, scriptName, archives string) *dryRunCheck {
	t.Helper()
	out, errOut, code := imgup(t, "plan", "--json", "-C", root, archives)
	if code != 0 {
		t.Fatalf("plan --json: exit %d\n%s", code, errOut)
	}
	var p struct {
		DryRun *struct {
			Calls []struct {
				Dir     string   `json:"dir"`
				Args    []string `json:"args"`
				Compose bool     `json:"compose"`
			} `json:"calls"`
		} `json:"restart_dry_run"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.DryRun == nil {
		t.Fatalf("plan --json has no restart_dry_run (%v):\n%s", err, out)
	}
	var dry []string
	for _, c := range p.DryRun.Calls {
		if c.Compose {
			dry = append(dry, c.Dir+": "+strings.Join(c.Args, " "))
		}
	}
	shims := t.TempDir()
	log := filepath.Join(shims, "calls.log")
	for _, prog := range []string{"docker-compose", "docker"} {
		real, err := exec.LookPath(prog)
		if err != nil {
			t.Fatal(err)
		}
		sh := "#!/bin/sh\n{ printf '%s' \"$PWD\"; printf '\\037%s' " + prog + " \"$@\"; echo; } >> " + log + "\nexec " + real + " \"$@\"\n"
		os.WriteFile(filepath.Join(shims, prog), []byte(sh), 0o755)
	}
	return &dryRunCheck{dry: dry, path: shims + ":" + os.Getenv("PATH"), log: log, root: root, name: scriptName}
}

// compare holds the dry run against what the real restart ran (the log the shims
// wrote while imgup restarted with PATH set to c.path).
func (c *dryRunCheck) compare(t *testing.T) {
	t.Helper()
	dry, log, scriptName := c.dry, c.log, c.name
	realRoot, _ := filepath.EvalSymlinks(c.root)
	b, _ := os.ReadFile(log)
	var real []string
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\x1f")
		if len(f) < 2 {
			continue
		}
		dir, _ := filepath.Rel(realRoot, f[0])
		args := f[1:]
		if args[0] == "docker" && (len(args) < 2 || args[1] != "compose") {
			continue // docker itself: queries here, and docker compose's own call is logged as docker
		}
		verb := ""
		for i := 1; i < len(args); i++ {
			if a := args[i]; a != "compose" && !strings.HasPrefix(a, "-") && (i == 1 || !strings.HasPrefix(args[i-1], "-") || strings.Contains(args[i-1], "=") || args[i-1] == "-d") {
				verb = a
				break
			}
		}
		if verb == "version" || verb == "ps" || verb == "config" {
			continue
		}
		c := dir + ": " + strings.Join(args, " ")
		if !seen[c] {
			seen[c] = true
			real = append(real, c)
		}
	}
	if strings.Join(real, "\n") != strings.Join(dry, "\n") {
		t.Errorf("the dry run of %s restart differs from what it does:\n--- dry run\n%s\n--- real\n%s", scriptName, strings.Join(dry, "\n"), strings.Join(real, "\n"))
	}
}

// runIn runs imgup in a process of its own with -C root and more environment.
func runIn(t *testing.T, root string, env []string, args ...string) (string, int) {
	t.Helper()
	return run(t, env, append(args, "-C", root)...)
}
