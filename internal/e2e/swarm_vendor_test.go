//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

// vendorCompose is a stack nobody on the team wrote: a gateway of 2 replicas that
// updates start-first and pauses on failure, with a healthcheck and its tag a quoted
// value of .env; a worker pinned to node3 by hostname; a store never updated.
const vendorCompose = `version: "3.8"
services:
  gateway:
    image: {P}/vendor/gateway:${GATEWAY_TAG}
    deploy:
      replicas: 2
      update_config:
        order: start-first
        parallelism: 2
        failure_action: pause
        monitor: 2s
` + testHealth + `  worker:
    image: {P}/vendor/worker:1.0
    deploy:
      placement:
        constraints: [node.hostname==node3]
  store:
    image: {P}/vendor/store:1.0
`

// vendorScript is the vendor's control script: it sources .env and runs docker stack
// deploy itself.
const vendorScript = `#!/bin/bash
# vendor control script
cd "$(dirname "$0")"
set -a
. ./.env
set +a
case "$1" in
  start|restart) docker stack deploy --resolve-image never -c docker-compose.yml {STACK} ;;
  stop) docker stack rm {STACK} ;;
  *) echo "usage: $0 start|stop|restart"; exit 1 ;;
esac
`

// TestSwarmVendor runs a vendor's stack of another shape on a 3-node swarm, restarted
// by its own deploy.sh: a crashing image is caught by swarm's word (not by a lucky
// poll) and reported with the failed task's node, exit code and log lines, the
// failed attempt names the new image; a hand edit's fix never says compose up; an
// unreachable node is named with imgup.yaml's address; a node lost during the update
// ends in an undo that names it, never in exit 4.
func TestSwarmVendor(t *testing.T) {
	besides(t)
	rig := startRig(t)
	eng := dockertest.New(t)
	dir, stack := t.TempDir(), "imguptest"+eng.Run+"vd"
	var old []string
	for _, name := range []string{"gateway", "worker", "store"} {
		old = append(old, eng.Ref("vendor/"+name, "1.0"))
	}
	seedRig(t, rig, eng, old...)
	files := map[string]string{
		"docker-compose.yml": strings.ReplaceAll(vendorCompose, "{P}", eng.Prefix),
		".env":               "# gateway version\nGATEWAY_TAG=\"1.0\"\n",
		"deploy.sh":          strings.ReplaceAll(vendorScript, "{STACK}", stack),
		"imgup.yaml":         nodesYAML(rig),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	manager := "DOCKER_HOST=" + rig.Manager().Host
	cmd := exec.Command("./deploy.sh", "start")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), manager)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy.sh start: %v\n%s", err, out)
	}
	s := &swarmDeployment{rig: rig, eng: eng, dir: dir, stack: stack}
	gw1 := eng.ImageID(t, eng.Ref("vendor/gateway", "1.0"))
	replicas := map[string]int{"gateway": 2, "worker": 1, "store": 1}
	converged := func(t *testing.T, gateway string) {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for {
			got := s.tasks(t)
			ok := true
			for svc, n := range replicas {
				ok = ok && len(got[svc]) == n
			}
			for _, task := range got["gateway"] {
				ok = ok && strings.HasPrefix(task, gateway+"@") && strings.HasSuffix(task, "/healthy")
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the stack did not converge: %v", got)
			}
			time.Sleep(time.Second)
		}
	}
	converged(t, gw1)
	sameFiles := func(t *testing.T, env string) {
		t.Helper()
		for name, want := range files {
			if name == ".env" && env != "" {
				want = strings.Replace(want, `"1.0"`, `"`+env+`"`, 1)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
				t.Errorf("%s:\n%s\nwant:\n%s", name, got, want)
			}
		}
	}
	archive := func(t *testing.T, tag, mode string) string {
		ref := eng.Ref("vendor/gateway", tag)
		eng.Build(t, ref, mode, 0)
		p := filepath.Join(t.TempDir(), "gateway-"+tag+".tar")
		eng.Save(t, p, ref)
		return p
	}
	noComposeUp := func(t *testing.T, out string) {
		t.Helper()
		if strings.Contains(out, "compose up") || strings.Contains(out, "copy the files back") {
			t.Errorf("advice that would start a second copy of a swarm stack, or exit 4's:\n%s", out)
		}
	}

	t.Run("crash", func(t *testing.T) {
		crash := archive(t, "2.1", "exit")
		start := time.Now()
		out, code := s.imgup(t, "apply", "--yes", "--timeout", "120s", crash)
		took := time.Since(start)
		t.Logf("apply of a crashing image through deploy.sh: exit %d in %s\n%s", code, took.Round(time.Second), out)
		if code != 3 {
			t.Fatalf("exit %d, want 3 (undone)", code)
		}
		// Caught by swarm's word at once, not after most of --timeout.
		if took > 75*time.Second {
			t.Errorf("the crash took %s to be caught and undone", took.Round(time.Second))
		}
		for _, want := range []string{"exit code 3", "fail at start", "on node node", "/gateway ran " + eng.Ref("vendor/gateway", "2.1") + " ("} {
			if !strings.Contains(out, want) {
				t.Errorf("the output lacks %q", want)
			}
		}
		if strings.Contains(out, "/gateway ran "+eng.Ref("vendor/gateway", "1.0")) {
			t.Errorf("the failed attempt names the old start-first tasks")
		}
		noComposeUp(t, out)
		converged(t, gw1)
		sameFiles(t, "")
	})

	gw2Archive := archive(t, "2.0", "ok")
	gw2 := eng.ImageID(t, eng.Ref("vendor/gateway", "2.0"))
	t.Run("update", func(t *testing.T) {
		out, code := s.imgup(t, "apply", "--yes", "--timeout", "120s", gw2Archive)
		if code != 0 {
			t.Fatalf("apply: exit %d\n%s", code, out)
		}
		converged(t, gw2)
		sameFiles(t, "2.0")
	})

	t.Run("drift", func(t *testing.T) {
		// A hand edit of .env back to 1.0 without a restart: status's fix must be the
		// vendor's script (or docker stack deploy), never compose up.
		env := filepath.Join(dir, ".env")
		b, _ := os.ReadFile(env)
		os.WriteFile(env, []byte(strings.Replace(string(b), `"2.0"`, `"1.0"`, 1)), 0o644)
		defer os.WriteFile(env, b, 0o644)
		out, _ := s.imgup(t, "status")
		if !strings.Contains(out, "running-drift") || !strings.Contains(out, "./deploy.sh restart") {
			t.Errorf("status after a hand edit:\n%s", out)
		}
		noComposeUp(t, out)
	})

	gw3Archive := archive(t, "3.0", "ok")
	t.Run("unreachable", func(t *testing.T) {
		// An address from imgup.yaml that refuses: named as such, not as DOCKER_HOST;
		// an ssh node's own words come back.
		bad := "nodes:\n  node2: tcp://" + rig.Node("node2").IP + ":1\n  node3: ssh://nobody@" + rig.Node("node3").IP + ":1\n"
		os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(bad), 0o644)
		defer os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(files["imgup.yaml"]), 0o644)
		start := time.Now()
		out, _ := s.imgup(t, "plan", gw3Archive)
		for _, want := range []string{"tcp://" + rig.Node("node2").IP + ":1", "imgup.yaml (nodes:)", "ssh said:", "port 1"} {
			if !strings.Contains(out, want) {
				t.Errorf("the plan lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "DOCKER_HOST") {
			t.Errorf("a node's address is called DOCKER_HOST:\n%s", out)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("the plan took %s with unreachable nodes", took)
		}
	})

	t.Run("delta", func(t *testing.T) {
		// node3 lacks the base that node1 and node2 have: each node is sent only the
		// layers it lacks, and the plan and the output say how much per node.
		base := eng.Ref("vendor/base", "1")
		eng.Build(t, base, "ok", 8<<20)
		baseTar := filepath.Join(t.TempDir(), "base.tar")
		eng.Save(t, baseTar, base)
		for _, n := range rig.Nodes[:2] {
			if _, err := rig.Docker(n, "load", "-i", baseTar); err != nil {
				t.Fatal(err)
			}
		}
		ref := eng.Ref("vendor/gateway", "2.5")
		id := eng.BuildOn(t, ref, base, 1<<20)
		tar := filepath.Join(t.TempDir(), "gateway-2.5.tar")
		eng.Save(t, tar, ref)
		// plan, which streams nothing, gives each node's bytes too.
		plan, code := s.imgup(t, "plan", tar)
		planned := map[string]float64{}
		for _, m := range regexp.MustCompile(`(node\d) \(.*\): lacks .*; sends ([0-9.]+) (B|kB|MB) of`).FindAllStringSubmatch(plan, -1) {
			v, _ := strconv.ParseFloat(m[2], 64)
			planned[m[1]] = v * map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6}[m[3]]
		}
		t.Logf("bytes planned per node: %v", planned)
		if code != 0 || len(planned) != 3 || planned["node3"] < 8e6 || planned["node1"] > 1.5e6 || planned["node2"] > 1.5e6 || !strings.Contains(plan, "each sent only the layers it lacks") {
			t.Errorf("plan (exit %d): per-node bytes %v (node3 lacks the 8 MiB base, the others only the 1 MiB layer)\n%s", code, planned, plan)
		}
		out, code := s.imgup(t, "apply", "--yes", "--timeout", "120s", tar)
		if code != 0 {
			t.Fatalf("apply: exit %d\n%s", code, out)
		}
		converged(t, id)
		sent := map[string]float64{}
		for _, m := range regexp.MustCompile(`node (node\d): sent ([0-9.]+) (B|kB|MB) of`).FindAllStringSubmatch(out, -1) {
			v, _ := strconv.ParseFloat(m[2], 64)
			sent[m[1]] = v * map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6}[m[3]]
		}
		t.Logf("bytes sent per node: %v", sent)
		if len(sent) != 3 || sent["node3"] < 8e6 || sent["node1"] > 1.5e6 || sent["node2"] > 1.5e6 {
			t.Errorf("per-node delta: sent %v (node3 lacks the 8 MiB base, the others only the 1 MiB layer)\n%s", sent, out)
		}
		if !strings.Contains(out, "each sent only the layers it lacks") || !strings.Contains(out, "sends ") {
			t.Errorf("the plan does not give bytes per node:\n%s", out)
		}
	})

	t.Run("lost-node", func(t *testing.T) {
		// node3's engine stops once the restart has begun.
		want := eng.Ref("vendor/gateway", "3.0")
		done := make(chan struct{})
		go func() {
			defer close(done)
			deadline := time.Now().Add(90 * time.Second)
			for time.Now().Before(deadline) {
				img, _ := rig.Docker(rig.Manager(), "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", stack+"_gateway")
				if strings.HasPrefix(img, want) {
					rig.Stop(rig.Node("node3"))
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
		out, code := s.imgup(t, "apply", "--yes", "--timeout", "40s", gw3Archive)
		<-done
		t.Logf("apply with node3 lost: exit %d\n%s", code, out)
		if code != 0 && code != 3 {
			t.Errorf("exit %d, want 0 or 3 (an undo)", code)
		}
		if !strings.Contains(out, "node3") || !strings.Contains(out, "stopped answering") && !strings.Contains(out, "lost node") {
			t.Errorf("the outcome does not name the lost node")
		}
		noComposeUp(t, out)
		if code == 3 {
			sameFiles(t, "2.5")
			if !strings.Contains(out, "deployed again") {
				t.Errorf("the undo does not say the files were deployed again")
			}
		}
	})
}
