//go:build e2e

package e2e

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"

	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/history"

	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/e2e/swarmrig"
)

// swarmStack is an offline swarm deployment: four services on three nodes (a web
// service of 3 replicas that updates start-first and whose tag is a variable of
// .systemconfig, an api constrained to a worker, a db with a healthcheck, and a
// cache nothing updates), the compose file in the root, and imgup.yaml naming how to
// reach the workers' engines.
const swarmCompose = `version: "3.8"
services:
  web:
    image: {P}/acme/web:${WEB_VERSION}
    deploy:
      replicas: 3
      update_config:
        order: start-first
        parallelism: 3
        failure_action: rollback
        monitor: 1s
` + testHealth + `  api:
    image: {P}/acme/api:1.1
    deploy:
      placement:
        constraints: ["node.hostname == node3"]
  db:
    image: "{P}/acme/db:5.7" # the database
    healthcheck:
      test: ["CMD", "/testapp", "health"]
      interval: 1s
      retries: 3
  cache:
    image: {P}/acme/cache:6
`

type swarmDeployment struct {
	rig   *swarmrig.Rig
	eng   *dockertest.Engine
	dir   string
	stack string
	files map[string][]byte
}

// startSwarm builds the rig and deploys the stack at its first versions.
func startSwarm(t *testing.T) *swarmDeployment {
	t.Helper()
	rig := startRig(t)
	eng := dockertest.New(t)
	s := &swarmDeployment{rig: rig, eng: eng, dir: t.TempDir(), stack: "imguptest" + eng.Run + "sw", files: map[string][]byte{}}
	var old []string
	for name, tag := range map[string]string{"web": "1.0.0", "api": "1.1", "db": "5.7", "cache": "6"} {
		old = append(old, eng.Ref("acme/"+name, tag))
	}
	seedRig(t, rig, eng, old...)
	for name, content := range map[string]string{
		"docker-compose.yml": strings.ReplaceAll(swarmCompose, "{P}", eng.Prefix),
		".systemconfig":      "# versions\nWEB_VERSION=1.0.0\n",
		"imgup.yaml":         "# how imgup reaches the workers' engines\n" + nodesYAML(rig),
	} {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		s.files[name] = []byte(content)
	}
	stackDeploy(t, rig, s.dir, s.stack, "WEB_VERSION=1.0.0")
	s.converged(t, map[string]string{"web": eng.ImageID(t, eng.Ref("acme/web", "1.0.0")), "api": eng.ImageID(t, eng.Ref("acme/api", "1.1"))})
	return s
}

// imgup runs imgup against the swarm's manager.
func (s *swarmDeployment) imgup(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(imgupBin, append(args, "-C", s.dir)...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.rig.Manager().Host)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// tasks maps each service to the image IDs of its running task containers, on every
// node, with the node they run on.
func (s *swarmDeployment) tasks(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, n := range s.rig.Nodes {
		ids, err := s.rig.Docker(n, "ps", "-q", "--filter", "label=com.docker.stack.namespace="+s.stack)
		if err != nil || ids == "" {
			continue
		}
		lines, err := s.rig.Docker(n, append([]string{"inspect", "--format", `{{index .Config.Labels "com.docker.swarm.service.name"}} {{.Image}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}`}, strings.Fields(ids)...)...)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(lines, "\n") {
			f := strings.Fields(l)
			if len(f) == 3 {
				svc := strings.TrimPrefix(f[0], s.stack+"_")
				out[svc] = append(out[svc], f[1]+"@"+n.Name+"/"+f[2])
			}
		}
	}
	return out
}

// converged waits until every service runs its replicas, and the given services run
// only the given image IDs, healthy where checked.
func (s *swarmDeployment) converged(t *testing.T, want map[string]string) map[string][]string {
	t.Helper()
	replicas := map[string]int{"web": 3, "api": 1, "db": 1, "cache": 1}
	deadline := time.Now().Add(120 * time.Second)
	for {
		got := s.tasks(t)
		ok := true
		for svc, n := range replicas {
			if len(got[svc]) != n {
				ok = false
			}
			for _, task := range got[svc] {
				if id := want[svc]; id != "" && !strings.HasPrefix(task, id+"@") || strings.HasSuffix(task, "/starting") || strings.HasSuffix(task, "/unhealthy") {
					ok = false
				}
			}
		}
		if ok {
			return got
		}
		if time.Now().After(deadline) {
			svcs, _ := s.rig.Docker(s.rig.Manager(), "service", "ps", "--no-trunc", "--format", "{{.Name}} {{.Node}} {{.DesiredState}} {{.CurrentState}} {{.Error}}", s.stack+"_web", s.stack+"_api")
			t.Fatalf("the stack did not converge: %v, want %v\n%s", got, want, svcs)
		}
		time.Sleep(time.Second)
	}
}

// waitRecord waits until the newest update's record is final (the console's job ends
// after the tasks converge: verification's settle time).
func (s *swarmDeployment) waitRecord(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		recs, _ := history.List(s.dir)
		if len(recs) > 0 && !recs[0].Unfinished() {
			if recs[0].State != history.Verified {
				t.Fatalf("the console's update ended %s: %s", recs[0].State, recs[0].Error)
			}
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatal("the console's update did not end")
}

func (s *swarmDeployment) expectFiles(t *testing.T, changed map[string][2]string) {
	t.Helper()
	for name, orig := range s.files {
		got, _ := os.ReadFile(filepath.Join(s.dir, name))
		want := string(orig)
		if c, ok := changed[name]; ok {
			want = strings.Replace(want, c[0], c[1], 1)
		}
		if string(got) != want {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

// TestSwarm updates a 3-node offline swarm: the images go to every node without a
// registry, the stack is deployed again and rolled by swarm, every task is verified;
// rollback puts the files back byte for byte and the old images on every task; a
// crashing image is undone; a node imgup cannot reach stops the update before any
// change.
func TestSwarm(t *testing.T) {
	// Its engines are the rig's own, and it mostly waits on swarm's timers: it runs
	// beside every other test, in no turn.
	besides(t)
	s := startSwarm(t)
	eng := s.eng
	web2, api2 := eng.Ref("acme/web", "2.0.0"), eng.Ref("acme/api", "1.2")
	web2ID, api2ID := eng.Build(t, web2, "ok", 0), eng.Build(t, api2, "ok", 0)
	web1ID, api1ID := eng.ImageID(t, eng.Ref("acme/web", "1.0.0")), eng.ImageID(t, eng.Ref("acme/api", "1.1"))
	archive := filepath.Join(t.TempDir(), "acme-2.tar")
	eng.Save(t, archive, web2, api2)

	t.Run("update", func(t *testing.T) {
		plan, code := s.imgup(t, "plan", archive)
		for _, want := range []string{"runs on Docker Swarm, the swarm stack " + s.stack, "node2 (unix://", "lacks", "docker stack deploy --resolve-image never", `WEB_VERSION "1.0.0" -> "2.0.0"`,
			// plan, not only apply, gives each node's bytes (every node has the base).
			"each sent only the layers it lacks", "layer(s) it has left out"} {
			if code != 0 || !strings.Contains(plan, want) {
				t.Fatalf("plan (exit %d) lacks %q:\n%s", code, want, plan)
			}
		}
		start := time.Now()
		out, code := s.imgup(t, "apply", "--yes", "--timeout", "120s", archive)
		if code != 0 {
			t.Fatalf("apply: exit %d\n%s", code, out)
		}
		t.Logf("apply took %s:\n%s", time.Since(start).Round(time.Second), out)
		// start-first: the 3-replica service always had a ready task.
		if !regexp.MustCompile(`console/web .* updated +0s`).MatchString(out) {
			t.Errorf("the web service was unavailable during its start-first update:\n%s", out)
		}
		got := s.converged(t, map[string]string{"web": web2ID, "api": api2ID})
		for _, n := range s.rig.Nodes {
			if id, _ := s.rig.Docker(n, "image", "inspect", "--format", "{{.Id}}", web2); id != web2ID {
				t.Errorf("node %s has %s as %q, want %s", n.Name, web2, id, web2ID)
			}
		}
		if !strings.Contains(strings.Join(got["api"], " "), "@node3/") {
			t.Errorf("api runs off its node: %v", got["api"])
		}
		if !strings.Contains(out, "layer(s) it has left out") {
			t.Errorf("the load was not a delta (every node has the application's layer):\n%s", out)
		}
		s.expectFiles(t, map[string][2]string{".systemconfig": {"WEB_VERSION=1.0.0", "WEB_VERSION=2.0.0"}, "docker-compose.yml": {"/acme/api:1.1", "/acme/api:1.2"}})
		// status: files, every node's images and the tasks agree.
		st, code := s.imgup(t, "status")
		if code != 0 || !strings.Contains(st, "No drift") || strings.Count(st, "holds every image") != 3 {
			t.Errorf("status after the update: exit %d\n%s", code, st)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		if os.Getenv("IMGUP_SWARM_ONLY_UPDATE") != "" {
			t.Skip()
		}
		out, code := s.imgup(t, "rollback", "--yes", "--timeout", "120s")
		if code != 0 {
			t.Fatalf("rollback: exit %d\n%s", code, out)
		}
		s.converged(t, map[string]string{"web": web1ID, "api": api1ID})
		s.expectFiles(t, nil)
	})

	t.Run("bundle", func(t *testing.T) {
		v := newVendor(t)
		fix := v.create(t, "web-2.bundle", "--version", "2.0.0", "--service", eng.Prefix+"/acme/web=console/web", web2)
		trusted := filepath.Join(s.dir, ".imgup", "trusted")
		os.MkdirAll(trusted, 0o755)
		pub, _ := os.ReadFile(v.pub)
		os.WriteFile(filepath.Join(trusted, "encoo.pub"), pub, 0o644)
		out, code := s.imgup(t, "apply", "--yes", "--timeout", "120s", fix)
		if code != 0 || !strings.Contains(out, "signed by key") && !strings.Contains(out, "Bundle console-fix 2.0.0") {
			t.Fatalf("apply of a signed bundle: exit %d\n%s", code, out)
		}
		s.converged(t, map[string]string{"web": web2ID, "api": api1ID})
		s.expectFiles(t, map[string][2]string{".systemconfig": {"WEB_VERSION=1.0.0", "WEB_VERSION=2.0.0"}})
		if out, code := s.imgup(t, "rollback", "--yes", "--timeout", "120s"); code != 0 {
			t.Fatalf("rollback of the bundle: exit %d\n%s", code, out)
		}
		s.converged(t, map[string]string{"web": web1ID, "api": api1ID})
		s.expectFiles(t, nil)
	})

	t.Run("console", func(t *testing.T) {
		// The web console plans and applies on the swarm as the CLI does.
		os.MkdirAll(filepath.Join(s.dir, "image"), 0o755)
		b, _ := os.ReadFile(archive)
		os.WriteFile(filepath.Join(s.dir, "image", "acme-2.tar"), b, 0o644)
		defer os.RemoveAll(filepath.Join(s.dir, "image"))
		c := startConsole(t, s.dir, "127.0.0.1:0", "DOCKER_HOST="+s.rig.Manager().Host)
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, Timeout: 60 * time.Second}
		if resp, err := client.Get(c.url); err != nil || resp.StatusCode != 200 {
			t.Fatalf("login: %v %v\n%s", resp, err, c.log())
		}
		resp, err := client.Get(c.base() + "/plan?file=acme-2.tar")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"To every node of the swarm, each sent only the layers it lacks", "node2", "docker stack deploy --resolve-image never"} {
			if !strings.Contains(string(page), want) {
				t.Fatalf("the console's plan lacks %q:\n%s", want, page)
			}
		}
		field := func(name string) string {
			m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(page)
			if m == nil {
				t.Fatalf("the plan page has no %s field", name)
			}
			return html.UnescapeString(string(m[1]))
		}
		form := url.Values{"csrf": {field("csrf")}, "fingerprint": {field("fingerprint")}, "file": {"acme-2.tar"}, "restart": {"auto"}, "reviewed": {"on"}}
		resp, err = client.PostForm(c.base()+"/apply", form)
		if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.Path, "/jobs/") {
			t.Fatalf("apply from the console: %v %v\n%s", resp, err, c.log())
		}
		resp.Body.Close()
		s.converged(t, map[string]string{"web": web2ID, "api": api2ID})
		s.waitRecord(t)
		if out, code := s.imgup(t, "rollback", "--yes", "--timeout", "120s"); code != 0 {
			t.Fatalf("rollback: exit %d\n%s", code, out)
		}
		s.converged(t, map[string]string{"web": web1ID, "api": api1ID})
	})

	t.Run("crash", func(t *testing.T) {
		web3 := eng.Ref("acme/web", "3.0.0")
		eng.Build(t, web3, "exit", 0)
		crash := filepath.Join(t.TempDir(), "web-3.tar")
		eng.Save(t, crash, web3)
		start := time.Now()
		out, code := s.imgup(t, "apply", "--yes", "--timeout", "120s", crash)
		if code != 3 {
			t.Fatalf("apply of a crashing image: exit %d, want 3 (undone)\n%s", code, out)
		}
		t.Logf("crashing image: apply and undo took %s", time.Since(start).Round(time.Second))
		s.converged(t, map[string]string{"web": web1ID, "api": api1ID})
		s.expectFiles(t, nil)
	})

	t.Run("unreachable", func(t *testing.T) {
		// imgup.yaml no longer says how to reach node2: web may run there.
		only3 := "nodes:\n  node3: " + s.rig.Node("node3").Host + "\n"
		os.WriteFile(filepath.Join(s.dir, "imgup.yaml"), []byte(only3), 0o644)
		defer os.WriteFile(filepath.Join(s.dir, "imgup.yaml"), s.files["imgup.yaml"], 0o644)
		plan, _ := s.imgup(t, "plan", archive)
		if !strings.Contains(plan, "node2: UNREACHABLE") || !strings.Contains(plan, "may run on node node2") {
			t.Errorf("the plan does not name the unreachable node:\n%s", plan)
		}
		out, code := s.imgup(t, "apply", "--yes", archive)
		if code == 0 || !strings.Contains(out, "nothing was changed") {
			t.Errorf("apply with an unreachable node: exit %d\n%s", code, out)
		}
		s.expectFiles(t, map[string][2]string{"imgup.yaml": {string(s.files["imgup.yaml"]), only3}})
		// The api is constrained to node3, which imgup reaches: its update goes ahead.
		out, code = s.imgup(t, "apply", "--yes", "--timeout", "120s", "--service", "api", archive)
		if code != 0 {
			t.Fatalf("apply of the api alone: exit %d\n%s", code, out)
		}
		s.converged(t, map[string]string{"web": web1ID, "api": api2ID})
	})
}
