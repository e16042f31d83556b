//go:build e2e

package kuberig

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCluster starts a 2-node cluster, imports a tiny image into both nodes'
// containerd (no registry), runs a 2-replica Deployment of it with imagePullPolicy
// Never, one pod per node, and waits until both pods are Ready and report the image's
// ID. It holds the heavy lock.
func TestCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute) // the heavy lock may be busy for a while
	defer cancel()
	unlock, err := Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	begin := time.Now()
	c, err := Start(ctx, Options{Nodes: 2, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	var containers []string // the pods' container IDs, to check that none is left
	defer func() {
		closing := time.Now()
		id, dir := c.id, c.Dir
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		t.Logf("torn down in %s; whole test %s", time.Since(closing).Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
		checkGone(t, id, dir, containers)
	}()
	t.Logf("cluster of %d nodes Ready in %s (kubeconfig %s)", len(c.Nodes), time.Since(begin).Round(time.Millisecond), c.Kubeconfig)

	work := t.TempDir()
	app := filepath.Join(work, "testapp")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", app, "github.com/encoo-tools/imgup/internal/e2e/testapp")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testapp: %v: %s", err, out)
	}
	prog, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	const ref = "imgup.invalid/kuberig-test:1"
	archive := filepath.Join(work, "test.tar")
	id, err := WriteImage(archive, Image{Ref: ref, Files: map[string][]byte{"testapp": prog}, Entrypoint: []string{"/testapp"}, Env: []string{"MODE=ok", "VERSION=kuberig-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ImportAll(ctx, archive); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		out, err := c.Ctr(ctx, n, "images", "ls", "name=="+ref)
		if err != nil || !strings.Contains(out, "io.cri-containerd.image=managed") {
			t.Fatalf("%s: the image is not labelled for the kubelet: %s %v", n.Name, out, err)
		}
	}

	manifest := `apiVersion: v1
kind: Namespace
metadata:
  name: kuberig-test
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kuberig-test
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxUnavailable: 0}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        labelSelector:
          matchLabels: {app: web}
      containers:
      - name: web
        image: ` + ref + `
        imagePullPolicy: Never
`
	applied := time.Now()
	if out, err := c.KubectlIn(ctx, []byte(manifest), "apply", "-f", "-"); err != nil {
		t.Fatal(out, err)
	}
	const query = `jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[0].imageID} {.status.containerStatuses[0].state.waiting.reason}{"\n"}{end}`
	var out string
	for deadline := time.Now().Add(3 * time.Minute); ; {
		out, err = c.Kubectl(ctx, "get", "pods", "-n", "kuberig-test", "-l", "app=web", "-o", query)
		if err != nil {
			t.Fatal(err)
		}
		nodes := map[string]bool{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) >= 4 && f[2] == "True" && strings.HasSuffix(f[3], id) {
				nodes[f[1]] = true
			}
			if len(f) >= 4 && (strings.Contains(line, "ErrImageNeverPull") || strings.Contains(line, "CrashLoopBackOff")) {
				t.Fatalf("a pod fails:\n%s", out)
			}
		}
		if len(nodes) == 2 {
			break
		}
		if time.Now().After(deadline) {
			events, _ := c.Kubectl(ctx, "get", "events", "-A")
			t.Fatalf("the 2 pods are not Ready on 2 nodes with image ID %s after 3m:\n%s\nevents:\n%s", id, out, events)
		}
		time.Sleep(time.Second)
	}
	ids, err := c.Kubectl(ctx, "get", "pods", "-n", "kuberig-test", "-o", "jsonpath={.items[*].status.containerStatuses[*].containerID}")
	if err != nil {
		t.Fatal(err)
	}
	for _, cid := range strings.Fields(ids) {
		containers = append(containers, strings.TrimPrefix(cid, "containerd://"))
	}
	if len(containers) > 0 {
		m, _ := filepath.Glob("/sys/fs/cgroup/memory/*" + containers[0])
		m2, _ := filepath.Glob("/sys/fs/cgroup/memory/*/" + containers[0])
		t.Logf("container %s runs in cgroup %v", containers[0], append(m, m2...))
	}
	t.Logf("2 pods Ready, one per node, image ID %s, %s after apply:\n%s", id, time.Since(applied).Round(time.Millisecond), out)
}

// checkGone fails when anything of the rig outlives Close: its namespaces and links,
// its iptables rule, a process or mount under its folder, a container's cgroup.
func checkGone(t *testing.T, id, dir string, containers []string) {
	t.Helper()
	for _, probe := range [][]string{{"ip", "netns", "list"}, {"ip", "link"}, {"iptables", "-S", "FORWARD"}} {
		out, _ := exec.Command(probe[0], probe[1:]...).CombinedOutput()
		if strings.Contains(string(out), id) {
			t.Errorf("%s still shows %s:\n%s", strings.Join(probe, " "), id, out)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if strings.Contains(string(mounts), dir) {
		t.Errorf("mounts under %s are left", dir)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), dir) {
			t.Errorf("a process is left: %s", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s is left", dir)
	}
	for _, cid := range containers {
		for _, pattern := range []string{"/sys/fs/cgroup/*/" + cid, "/sys/fs/cgroup/*/*/" + cid, "/sys/fs/cgroup/*/*/*/" + cid} {
			if m, _ := filepath.Glob(pattern); len(m) > 0 {
				t.Errorf("cgroups of container %s are left: %v", cid, m)
			}
		}
	}
}
