//go:build e2e

// These tests run imgup on deployments written in the shapes of real products' control
// scripts (testdata/vendors/README.md: JumpServer, MeterSphere, DataEase, Hyperledger
// Fabric, Greenbone, Sentry self-hosted) and of the five shapes of issue 28, with
// nothing running first, as on a fresh install or after a reboot. For each:
//
//   - plan --json names the right compose project and the files compose reads, in
//     compose's order, each with its source, and claims no other project;
//   - the deployment is started by its own script; apply runs the script's restart
//     (its dry run in the plan is held against the compose calls it really makes) and
//     the new image ID runs healthy; rollback brings the old one back and the files
//     byte for byte;
//   - a restart that would stop on a prompt (as root), on an offline pull or download
//     is named in the plan at its line, refused by apply with exit 2 and nothing
//     changed; --restart services then updates it, and rollback undoes that.
//
// The machine has no registry: the shims the restart runs behind fail every pull and
// download as an offline machine does (and so nothing reaches the network).
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

type vendorCase struct {
	// name is the subtest's; dir the folder in testdata/vendors.
	name, dir string
	// v2: the scripts run compose v2; convert: they are the fixture's v1 scripts
	// turned into v2 (deploytest.ComposeV2), start and stop commands too.
	v2, convert bool
	// folder is the root folder's name: "" for dir, "{NAME}" when the folder names
	// the project.
	folder string
	// start, restart and stop are shell commands run in the root (restart as
	// imgup.yaml or the script says); stdin is what start and stop read.
	start, restart, stop, stdin string
	// home: the script finds its folder from $HOME, the root's parent.
	home bool
	// files are the files compose reads, in its order, relative to the root.
	files []string
	// call is the file holding the restart's compose calls ("" when the restart
	// command of imgup.yaml makes some itself): the stack's source names it.
	call string
	// edit is the file the update changes (its only 1.0.0 becomes 1.0.1).
	edit string
	// containers is how many containers the deployment runs; web the service that
	// runs acme/web ("" for web).
	containers int
	web        string
	// refuse says why the restart stops: "prompt", "pull", "download"; stops is the
	// text of the line where, in script; exits the text of the exit line (a prompt's).
	refuse, script, stops, exits string
	// warn is the text of a line the plan warns about (a pull that carries on), in
	// warnIn.
	warn, warnIn string
}

var vendorCases = []vendorCase{
	{name: "jumpserver", restart: "./jmsctl.sh restart", dir: "jumpserver", start: "./jmsctl.sh start", stop: "./jmsctl.sh down",
		files: []string{"compose/network.yml", "compose/web.yml", "compose/db.yml"}, call: "jmsctl.sh", edit: "static.env", containers: 2},
	{name: "jumpserver-compose-v2", restart: "./jmsctl.sh restart", dir: "jumpserver", v2: true, convert: true, start: "./jmsctl.sh start", stop: "./jmsctl.sh down",
		files: []string{"compose/network.yml", "compose/web.yml", "compose/db.yml"}, call: "jmsctl.sh", edit: "static.env", containers: 2},
	{name: "metersphere", restart: "./msctl reload", dir: "metersphere", folder: "{NAME}", start: "./msctl reload", stop: "./msctl uninstall",
		files: []string{"docker-compose-base.yml", "docker-compose-server.yml", "docker-compose-mysql.yml"}, call: "msctl", edit: ".env", containers: 2},
	// dectl takes compose v2 when the engine has it (it has, here).
	{name: "dataease-compose-v2", restart: "./dectl reload", dir: "dataease", v2: true, folder: "{NAME}", start: "./dectl reload", stop: "./dectl uninstall",
		files: []string{"docker-compose.yml", "docker-compose-mysql.yml"}, call: "dectl", edit: "docker-compose.yml", containers: 2},
	// network.sh takes docker-compose when it is installed (it is, here).
	{name: "fabric", restart: "./network.sh restart", dir: "fabric", folder: "test-network", start: "./network.sh up", stop: "./network.sh down",
		files: []string{"compose/compose-test-net.yaml", "compose/docker/docker-compose-test-net.yaml"}, call: "network.sh", edit: "compose/compose-test-net.yaml", containers: 2, web: "peer0.org1.example.com"},
	{name: "greenbone-compose-v2", restart: "./setup-and-start-acme-scanner.sh", dir: "greenbone", v2: true, folder: "greenbone-community-container", home: true,
		start: "docker compose -f docker-compose-22.4.yml -p {NAME} up -d", stop: "docker compose -f docker-compose-22.4.yml -p {NAME} down",
		files: []string{"docker-compose-22.4.yml"}, edit: "docker-compose-22.4.yml", containers: 2,
		refuse: "download", script: "setup-and-start-acme-scanner.sh", stops: "curl -f -O"},
	// install.sh takes compose v2 when the engine has it.
	{name: "sentry-compose-v2", restart: "./install.sh && docker compose up -d", dir: "sentry", v2: true, start: "docker compose up -d", stop: "docker compose down",
		files: []string{"docker-compose.yml"}, edit: ".env", containers: 2,
		warn: "$dc pull --ignore-pull-failures", warnIn: "install/update-docker-images.sh"},
	{name: "wrapper-rc", restart: "bin/acmectl restart", dir: "wrapper-rc", start: "bin/acmectl start", stop: "bin/acmectl stop",
		files: []string{"lib/base.yml", "lib/web.yml"}, call: "lib/compose-wrapper.sh", edit: "VERSION", containers: 2},
	{name: "wrapper-rc-compose-v2", restart: "bin/acmectl restart", dir: "wrapper-rc", v2: true, convert: true, start: "bin/acmectl start", stop: "bin/acmectl stop",
		files: []string{"lib/base.yml", "lib/web.yml"}, call: "lib/compose-wrapper.sh", edit: "VERSION", containers: 2},
	{name: "exact-f", restart: "./launch.sh", dir: "exact-f", folder: "{NAME}", start: "./launch.sh", stop: "docker-compose down",
		files: []string{"docker-compose.yml"}, call: "launch.sh", edit: "docker-compose.yml", containers: 2},
	{name: "exact-f-compose-v2", restart: "./launch.sh", dir: "exact-f", v2: true, convert: true, folder: "{NAME}", start: "./launch.sh", stop: "docker-compose down",
		files: []string{"docker-compose.yml"}, call: "launch.sh", edit: "docker-compose.yml", containers: 2},
	{name: "root-prompt", restart: "./deploy.sh restart", dir: "root-prompt", start: "./deploy.sh start", stop: "./deploy.sh stop", stdin: "y\n",
		files: []string{"docker-compose.yml"}, edit: "docker-compose.yml", containers: 2,
		refuse: "prompt", script: "deploy.sh", stops: `read -p "Do you still want to continue? (y/n) " answer`, exits: "    exit 1"},
	{name: "root-prompt-compose-v2", restart: "./deploy.sh restart", dir: "root-prompt", v2: true, convert: true, start: "./deploy.sh start", stop: "./deploy.sh stop", stdin: "y\n",
		files: []string{"docker-compose.yml"}, edit: "docker-compose.yml", containers: 2,
		refuse: "prompt", script: "deploy.sh", stops: `read -p "Do you still want to continue? (y/n) " answer`, exits: "    exit 1"},
	{name: "pull-setup", restart: "./chatctl.sh restart", dir: "pull-setup", start: "./chatctl.sh start", stop: "./chatctl.sh stop",
		files: []string{"docker-compose.yml"}, edit: ".env", containers: 2,
		refuse: "pull", script: "chatctl.sh", stops: "    docker-compose pull"},
	{name: "pull-setup-compose-v2", restart: "./chatctl.sh restart", dir: "pull-setup", v2: true, convert: true, start: "./chatctl.sh start", stop: "./chatctl.sh stop",
		files: []string{"docker-compose.yml"}, edit: ".env", containers: 2,
		refuse: "pull", script: "chatctl.sh", stops: "    docker compose pull"},
	{name: "shasum-pushd", restart: "./install.sh", dir: "shasum-pushd", start: "./install.sh", stop: "cd stack && docker-compose -p {NAME} down",
		files: []string{"stack/docker-compose.yml"}, call: "install.sh", edit: "stack/.env", containers: 2},
	{name: "shasum-pushd-compose-v2", restart: "./install.sh", dir: "shasum-pushd", v2: true, convert: true, start: "./install.sh", stop: "cd stack && docker-compose -p {NAME} down",
		files: []string{"stack/docker-compose.yml"}, call: "install.sh", edit: "stack/.env", containers: 2},
}

func TestVendors(t *testing.T) {
	t.Parallel() // each fixture takes its own turn (parallel) below
	if exec.Command("docker", "compose", "version").Run() != nil {
		t.Fatal("compose v2 (docker compose) is not installed: ./scripts/test.sh builds it")
	}
	eng := dockertest.New(t)
	eng.Build(t, eng.Ref("acme/db", "1"), "ok", 0)
	oldID := eng.Build(t, eng.Ref("acme/web", "1.0.0"), "ok", 0)
	web := eng.Ref("acme/web", "1.0.1")
	newID := eng.Build(t, web, "ok", 0)
	archives := t.TempDir()
	eng.Save(t, filepath.Join(archives, "acme-web-1.0.1.tar"), web)
	eng.Remove(t, web)

	for i, c := range vendorCases {
		if c.web == "" {
			c.web = "web"
		}
		t.Run(c.name, func(t *testing.T) {
			parallel(t)
			name := eng.Project(fmt.Sprintf("v%02d", i))
			v := writeVendor(t, c, name, eng.Prefix+"/")
			orig := snapshotFiles(t, v.root)

			// Nothing runs yet: the plan's stacks come from the restart's compose calls.
			p := v.plan(t, archives)
			v.checkStacks(t, p)
			text := v.planText(t, archives)
			t.Logf("the plan with nothing running:\n%s", text)
			for _, l := range strings.Split(text, "\n") {
				if strings.HasSuffix(l, "  ") || strings.Contains(l, "(in .)") {
					t.Errorf("a plan line padded past its text, or saying (in .) of the root: %q", l)
				}
			}

			// The deployment started by its own means.
			v.sh(t, v.c.start)
			t.Cleanup(func() {
				if os.Getenv("IMGUP_TEST_KEEP") == "" {
					v.shErr(v.c.stop)
				}
			})
			before := waitStyle(t, name, c.containers)
			if before[c.web].Image != oldID {
				t.Fatalf("web runs %s after %q, want %s", short(before[c.web].Image), v.c.start, short(oldID))
			}
			want := updated(t, orig, c.edit)

			// The fixture's own restart, run for real behind the offline shims: it
			// restarts the deployment, or stops where the plan says it will.
			if out, err := v.restartErr(); c.refuse == "" && err != nil {
				t.Fatalf("%s: %v\n%s", v.c.restart, err, out)
			} else if c.refuse != "" {
				if err == nil {
					t.Fatalf("%s did not stop (%s):\n%s", v.c.restart, c.refuse, out)
				}
				v.sh(t, v.c.start)
			}
			if now := waitStyle(t, name, c.containers); now[c.web].Image != oldID {
				t.Fatalf("web runs %s after %q, want %s", short(now[c.web].Image), v.c.restart, short(oldID))
			}
			os.Remove(v.log)
			before = waitStyle(t, name, c.containers)

			if c.refuse != "" {
				v.checkStop(t, text)
				out, code := v.imgupAll(t, "apply", "--yes", "--timeout", "90s", archives)
				if code != 2 || !strings.Contains(out, "--restart services") || !strings.Contains(out, "nothing was changed") {
					t.Errorf("apply: exit %d, want 2, nothing changed, pointing at restart: and --restart services:\n%s", code, out)
				}
				expectSame(t, v.root, orig)
				for svc, ctr := range waitStyle(t, name, c.containers) {
					if ctr.ID != before[svc].ID {
						t.Errorf("%s was recreated by a refused apply", svc)
					}
				}
				// The operator's way out: only the updated services.
				if out, code := v.imgupAll(t, "apply", "--yes", "--restart", "services", "--timeout", "90s", archives); code != 0 {
					t.Fatalf("apply --restart services: exit %d\n%s", code, out)
				}
			} else {
				if c.warn != "" {
					line := lineOf(t, filepath.Join(v.root, c.warnIn), c.warn)
					if at := fmt.Sprintf("%s line %d", c.warnIn, line); !strings.Contains(text, at) {
						t.Errorf("the plan does not warn about the pull that carries on (%s):\n%s", at, text)
					}
				}
				dry := v.dryRun(t, p)
				out, code := v.imgupAll(t, "apply", "--yes", "--timeout", "90s", archives)
				if code != 0 {
					t.Fatalf("imgup apply: exit %d\n%s", code, out)
				}
				if dry != nil {
					dry.compare(t)
				}
			}
			now := waitStyle(t, name, c.containers)
			if w := now[c.web]; w.Image != newID || w.Health != "healthy" {
				t.Errorf("after apply web runs %s (%s), want %s healthy", short(w.Image), w.Health, short(newID))
			}
			expectSame(t, v.root, want)

			if out, code := v.imgupAll(t, "rollback", "--yes", "--timeout", "90s"); code != 0 {
				t.Fatalf("imgup rollback: exit %d\n%s", code, out)
			}
			now = waitStyle(t, name, c.containers)
			if w := now[c.web]; w.Image != oldID || w.Health != "healthy" {
				t.Errorf("after rollback web runs %s (%s), want %s healthy", short(w.Image), w.Health, short(oldID))
			}
			expectSame(t, v.root, orig)
		})
	}
}

// vendorRoot is one fixture written out for a test.
type vendorRoot struct {
	c          vendorCase
	root, name string
	// env is what the scripts and imgup get besides the test's own environment.
	env []string
	// shims come first in PATH for apply and rollback: they log docker and compose
	// calls, and fail pulls and downloads as an offline machine does.
	shims, log string
}

// writeVendor copies testdata/vendors/DIR into a new root with the project name and
// image prefix set; a v2 variant's scripts run docker compose.
func writeVendor(t *testing.T, c vendorCase, name, prefix string) *vendorRoot {
	t.Helper()
	base := t.TempDir()
	folder := c.dir
	if c.folder != "" {
		folder = strings.ReplaceAll(c.folder, "{NAME}", name)
	}
	root := filepath.Join(base, folder)
	if err := deploytest.Copy(filepath.Join("testdata", "vendors", c.dir), root, strings.NewReplacer("{NAME}", name, "{P}", prefix)); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("{NAME}", name)
	c.start, c.restart, c.stop = r.Replace(c.start), r.Replace(c.restart), r.Replace(c.stop)
	if c.convert {
		c.start, c.restart, c.stop = deploytest.ComposeV2.Replace(c.start), deploytest.ComposeV2.Replace(c.restart), deploytest.ComposeV2.Replace(c.stop)
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil || !info.Mode().IsRegular() || strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, []byte(deploytest.ComposeV2.Replace(string(b))), info.Mode().Perm())
		})
	}
	v := &vendorRoot{c: c, root: root, name: name}
	if c.home {
		// docker finds the compose plugin in $DOCKER_CONFIG/cli-plugins, by default
		// below $HOME: it stays where the machine has it.
		v.env = append(v.env, "HOME="+base)
		if os.Getenv("DOCKER_CONFIG") == "" {
			home, _ := os.UserHomeDir()
			v.env = append(v.env, "DOCKER_CONFIG="+filepath.Join(home, ".docker"))
		}
	}
	v.shims = t.TempDir()
	v.log = filepath.Join(v.shims, "calls.log")
	for _, prog := range []string{"docker-compose", "docker"} {
		real, err := exec.LookPath(prog)
		if err != nil {
			t.Fatal(err)
		}
		sh := "#!/bin/sh\n{ printf '%s' \"$PWD\"; printf '\\037%s' " + prog + " \"$@\"; echo; } >> " + v.log + "\n" +
			"for a in \"$@\"; do case \"$a\" in pull) echo \"" + prog + " pull: no registry answers (offline)\" >&2; exit 1 ;; esac; done\n" +
			"exec " + real + " \"$@\"\n"
		os.WriteFile(filepath.Join(v.shims, prog), []byte(sh), 0o755)
	}
	for prog, code := range map[string]int{"curl": 6, "wget": 4} {
		os.WriteFile(filepath.Join(v.shims, prog), []byte(fmt.Sprintf("#!/bin/sh\necho \"%s: could not resolve host (offline)\" >&2\nexit %d\n", prog, code)), 0o755)
	}
	return v
}

// imgup runs imgup in a process of its own with -C root, the fixture's environment
// and PATH through the offline shims: stdout, stderr, exit code.
func (v *vendorRoot) imgup(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(imgupBin, append(args, "-C", v.root)...)
	cmd.Env = append(os.Environ(), append(v.env, "PATH="+v.shims+":"+os.Getenv("PATH"))...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func (v *vendorRoot) imgupAll(t *testing.T, args ...string) (string, int) {
	t.Helper()
	o, e, code := v.imgup(t, args...)
	return o + e, code
}

// sh runs a shell command in the root, as the operator would, and fails the test on
// error.
func (v *vendorRoot) sh(t *testing.T, command string) {
	t.Helper()
	if out, err := v.shErr(command); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
}

func (v *vendorRoot) shErr(command string) (string, error) {
	cmd := exec.Command("bash", "-c", command)
	cmd.Dir = v.root
	cmd.Env = append(os.Environ(), v.env...)
	cmd.Stdin = strings.NewReader(v.c.stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// restartErr runs the restart as imgup will: no terminal, nothing on its input, the
// offline shims first in PATH.
func (v *vendorRoot) restartErr() (string, error) {
	cmd := exec.Command("bash", "-c", v.c.restart)
	cmd.Dir = v.root
	cmd.Env = append(os.Environ(), append(v.env, "PATH="+v.shims+":"+os.Getenv("PATH"))...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// vendorPlan is what the test reads of plan --json.
type vendorPlan struct {
	Stacks []map[string]any `json:"stacks"`
	DryRun *struct {
		Calls []struct {
			Dir     string   `json:"dir"`
			Args    []string `json:"args"`
			Compose bool     `json:"compose"`
		} `json:"calls"`
	} `json:"restart_dry_run"`
	raw string
}

func (v *vendorRoot) plan(t *testing.T, archives string) *vendorPlan {
	t.Helper()
	out, errOut, code := v.imgup(t, "plan", "--json", archives)
	if code != 0 {
		t.Errorf("plan --json with nothing running: exit %d\n%s%s", code, out, errOut)
		return nil
	}
	p := &vendorPlan{raw: out}
	if err := json.Unmarshal([]byte(out), p); err != nil {
		t.Errorf("plan --json: %v\n%s", err, out)
		return nil
	}
	return p
}

func (v *vendorRoot) planText(t *testing.T, archives string) string {
	t.Helper()
	out, errOut, code := v.imgup(t, "plan", archives)
	if code != 0 {
		t.Errorf("plan with nothing running: exit %d\n%s%s", code, out, errOut)
	}
	return out + errOut
}

// checkStacks (nil: the plan failed, said) holds the plan's stacks, with nothing running, against compose's own
// view: the fixture's project, the files in compose's order, each with its source,
// and no other project claimed. A restart that stops before its compose calls may
// claim nothing; one that stops on a pull still names what its calls carry.
func (v *vendorRoot) checkStacks(t *testing.T, p *vendorPlan) {
	t.Helper()
	if p == nil {
		return // said
	}
	found := false
	for _, st := range p.Stacks {
		project, _ := st["project"].(string)
		var files []string
		if fs, ok := st["files"].([]any); ok {
			for _, f := range fs {
				s, _ := f.(string)
				files = append(files, s)
			}
		}
		if project != "" && project != v.name {
			t.Errorf("the plan claims compose project %q (%v, %v), want %q:\n%s", project, st["project_from"], st["project_why"], v.name, p.raw)
		}
		if project != v.name {
			continue
		}
		if !slices.Equal(files, v.c.files) {
			t.Errorf("stack %v: files %q, want %q in compose's order", st["name"], files, v.c.files)
			continue
		}
		found = true
		var source []string
		for _, k := range []string{"source", "project_from", "project_why", "files_from"} {
			if s, ok := st[k].(string); ok && s != "" {
				source = append(source, s)
			}
		}
		src := strings.Join(source, " | ")
		if src == "" {
			t.Errorf("stack %v has no source", st["name"])
		} else if v.c.call != "" && !strings.Contains(src, v.c.call+" line ") {
			t.Errorf("stack %v: source %q does not name %s and the line of its compose call", st["name"], src, v.c.call)
		}
	}
	if !found && (v.c.refuse == "" || v.c.refuse == "pull") {
		t.Errorf("no stack of project %s with files %q in the plan:\n%s", v.name, v.c.files, p.raw)
	}
}

// checkStop holds the plan's account of a restart that stops: the script and line,
// the prompt, what an offline pull leaves stopped.
func (v *vendorRoot) checkStop(t *testing.T, text string) {
	t.Helper()
	line := lineOf(t, filepath.Join(v.root, v.c.script), v.c.stops)
	if at := fmt.Sprintf("%s line %d", v.c.script, line); !strings.Contains(text, at) {
		t.Errorf("the plan does not name where the restart stops (%s):\n%s", at, text)
	}
	switch v.c.refuse {
	case "prompt":
		if !strings.Contains(text, "Do you still want to continue? (y/n)") {
			t.Errorf("the plan does not name the prompt:\n%s", text)
		}
		exit := lineOf(t, filepath.Join(v.root, v.c.script), v.c.exits)
		if at := fmt.Sprintf("%s line %d", v.c.script, exit); !strings.Contains(text, at) {
			t.Errorf("the plan does not name the exit (%s):\n%s", at, text)
		}
	case "pull":
		if !strings.Contains(text, "stay stopped") {
			t.Errorf("the plan does not say the deployment stays stopped (down before the failing pull):\n%s", text)
		}
	}
	if !strings.Contains(text, "REFUSED") {
		t.Errorf("the plan does not say apply refuses this restart:\n%s", text)
	}
	if strings.Contains(text, "not a docker-compose deployment") {
		t.Errorf("the plan says this is not a compose deployment:\n%s", text)
	}
}

// dryRun is the plan's dry run of the restart, to hold against the compose calls the
// real restart makes behind the shims (nil when the plan gave none: said).
func (v *vendorRoot) dryRun(t *testing.T, p *vendorPlan) *dryRunCheck {
	t.Helper()
	if p == nil {
		return nil // said
	}
	if p.DryRun == nil {
		t.Errorf("plan --json has no restart_dry_run:\n%s", p.raw)
		return nil
	}
	var dry []string
	for _, c := range p.DryRun.Calls {
		if c.Compose {
			dry = append(dry, c.Dir+": "+strings.Join(c.Args, " "))
		}
	}
	return &dryRunCheck{dry: dry, path: v.shims, log: v.log, root: v.root, name: v.c.name}
}

// updated is the files after the update: the edited file's only 1.0.0 is 1.0.1.
func updated(t *testing.T, orig map[string]string, edit string) map[string]string {
	t.Helper()
	want := map[string]string{}
	for f, b := range orig {
		want[f] = b
	}
	if strings.Count(want[edit], "1.0.0") != 1 {
		t.Fatalf("test bug: 1.0.0 is not once in %s", edit)
	}
	want[edit] = strings.Replace(want[edit], "1.0.0", "1.0.1", 1)
	return want
}

// lineOf is the number of the first line of file that starts with text (indent aside).
func lineOf(t *testing.T, file, text string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), strings.TrimSpace(text)) {
			return i + 1
		}
	}
	t.Fatalf("test bug: no line %q in %s", text, file)
	return 0
}
