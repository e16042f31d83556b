//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/e2e/kuberig"
)

// TestKubernetes runs the real imgup on a real 2-node Kubernetes 1.34 cluster
// (kuberig): plain manifests with a Deployment (2 replicas, maxUnavailable 0), a
// StatefulSet and a DaemonSet, all on image :1 imported into both nodes' containerd.
// imgup plan lists the nodes and what each lacks; apply imports :2 into each node's
// containerd, edits only the tag characters, runs kubectl apply, and every pod runs
// :2's image ID; a second apply does nothing; rollback brings :1 back (files byte for
// byte, image IDs); a crashing :3 of the Deployment and StatefulSet is undone (exit 3).
func TestKubernetes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	unlock, err := kuberig.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	begin := time.Now()
	c, err := kuberig.Start(ctx, kuberig.Options{Nodes: 2, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Logf("cluster Ready in %s", time.Since(begin).Round(time.Millisecond))

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
	const repo = "imgup.invalid/kube-e2e"
	image := func(tag, mode string) (string, string) {
		path := filepath.Join(work, "app-"+tag+".tar")
		id, err := kuberig.WriteImage(path, kuberig.Image{Ref: repo + ":" + tag, Files: map[string][]byte{"testapp": prog}, Entrypoint: []string{"/testapp"},
			Env: []string{"MODE=" + mode, "VERSION=" + tag}})
		if err != nil {
			t.Fatal(err)
		}
		return path, id
	}
	tar1, id1 := image("1", "ok")
	tar2, id2 := image("2", "ok")
	tar3, id3 := image("3", "exit")
	others := func(id string) []string {
		var out []string
		for _, x := range []string{id1, id2, id3} {
			if x != id {
				out = append(out, x)
			}
		}
		return out
	}
	if err := c.ImportAll(ctx, tar1); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(work, "deploy")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"00-namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-e2e\n",
		"web.yaml": `# the web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  progressDeadlineSeconds: 120
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: ` + repo + `:1   # the version imgup edits
        imagePullPolicy: Never
        readinessProbe:
          exec: {command: [/testapp, health]}
          periodSeconds: 1
      - name: helper      # the same image: the same edit
        image: ` + repo + `:1
        imagePullPolicy: Never
        env: [{name: MODE, value: unhealthy}]
      - name: pause       # another image: left alone
        image: ` + kuberig.PauseRef + `
        imagePullPolicy: Never
`,
		"store.yaml": `apiVersion: v1
kind: Service
metadata:
  name: store
spec:
  clusterIP: None
  selector: {app: store}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: store
spec:
  serviceName: store
  replicas: 1
  selector:
    matchLabels: {app: store}
  template:
    metadata:
      labels: {app: store}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - name: store
        image: "` + repo + `:1"
        imagePullPolicy: IfNotPresent
        readinessProbe:
          exec: {command: [/testapp, health]}
          periodSeconds: 1
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: web      # the Deployment's name too: the services are deployment/web and daemonset/web
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - {name: agent, image: '` + repo + `:1', imagePullPolicy: Never}
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	settings := "kubernetes:\n  kubeconfig: " + c.Kubeconfig + "\n  namespace: kube-e2e\n  snapshotter: native\nnodes:\n"
	for _, n := range c.Nodes {
		settings += "  " + n.Name + ": unix://" + n.Containerd + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string][]byte {
		out := map[string][]byte{}
		for name := range files {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			out[name] = b
		}
		return out
	}
	original := snapshot()
	if out, err := c.Kubectl(ctx, "apply", "-f", filepath.Join(dir, "00-namespace.yaml")); err != nil {
		t.Fatal(out, err)
	}
	applied := time.Now()
	// imgup.yaml is no Kubernetes object: kubectl apply -f DIR would refuse it, so the
	// manifests are named (as imgup's kubectl target names them).
	if out, err := c.Kubectl(ctx, "apply", "-n", "kube-e2e", "-f", filepath.Join(dir, "web.yaml"), "-f", filepath.Join(dir, "store.yaml")); err != nil {
		t.Fatal(out, err)
	}
	// 2 web, 1 store, 2 agent pods Ready on id1.
	waitPods(ctx, t, c, id1, 5, others(id1))
	t.Logf("5 pods Ready on :1 %s after kubectl apply", time.Since(applied).Round(time.Millisecond))

	env := append(os.Environ(), "PATH="+c.Bin+":"+os.Getenv("PATH"), "LC_ALL=C")
	run := func(args ...string) (string, int) {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, imgupBin, args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("imgup %s: exit %d in %s\n%s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond), out.String())
		return out.String(), code
	}

	out, code := run("plan", "-C", dir, tar2)
	if code != 0 {
		t.Fatalf("plan: exit %d", code)
	}
	for _, n := range c.Nodes {
		if !strings.Contains(out, n.Name+" (unix://"+n.Containerd+"): lacks "+repo+":2") {
			t.Errorf("the plan does not say that %s lacks :2", n.Name)
		}
	}
	for _, svc := range []string{"deployment/web", "store", "daemonset/web"} {
		if !strings.Contains(out, svc) {
			t.Errorf("the plan does not name %s", svc)
		}
	}

	if _, code := run("apply", "--yes", "--timeout", "180s", "-C", dir, tar2); code != 0 {
		t.Fatalf("apply: exit %d", code)
	}
	waitPods(ctx, t, c, id2, 5, others(id2))
	for name, b := range snapshot() {
		want := bytes.ReplaceAll(original[name], []byte(repo+":1"), []byte(repo+":2")) // the helper container's too
		if !bytes.Equal(b, want) {
			t.Errorf("%s: not the original with only the tag changed:\n%s", name, b)
		}
	}
	edited := snapshot()
	// The new and the previous image are pinned on each node against the kubelet's
	// image cleanup.
	for _, n := range c.Nodes {
		for _, tag := range []string{"1", "2"} {
			out, err := c.Ctr(ctx, n, "images", "ls", "name=="+repo+":"+tag)
			if err != nil || !strings.Contains(out, "io.cri-containerd.pinned=pinned") {
				t.Errorf("%s: %s:%s is not pinned: %s %v", n.Name, repo, tag, out, err)
			}
		}
	}
	run("status", "-C", dir) // logged only: status has no Kubernetes specifics yet

	if out, code := run("apply", "--yes", "--timeout", "180s", "-C", dir, tar2); code != 0 || strings.Contains(out, "restarting") {
		t.Errorf("a second apply: exit %d, or it restarted", code)
	}
	for name, b := range snapshot() {
		if !bytes.Equal(b, edited[name]) {
			t.Errorf("%s changed on a second apply", name)
		}
	}

	if _, code := run("rollback", "--yes", "--timeout", "180s", "-C", dir); code != 0 {
		t.Fatalf("rollback: exit %d", code)
	}
	waitPods(ctx, t, c, id1, 5, others(id1))
	for name, b := range snapshot() {
		if !bytes.Equal(b, original[name]) {
			t.Errorf("%s is not byte for byte as before after the rollback", name)
		}
	}

	// A crashing :3 of the Deployment and the StatefulSet: the crash loop fails it at
	// once, and the undo puts :1 back (the StatefulSet's broken pod deleted, as
	// Kubernetes' forced rollback wants).
	out, code = run("apply", "--yes", "--timeout", "180s", "--service", "deployment/web", "--service", "store", "-C", dir, tar3)
	if code != 3 {
		t.Errorf("a crashing image: exit %d, want 3", code)
	}
	// The stages' own check sees the first exit (code 3, its log lines) before the
	// kubelet's back-off; the rollout check names a CrashLoopBackOff when it comes first.
	if !strings.Contains(out, "exit code 3") && !strings.Contains(out, "CrashLoopBackOff") {
		t.Errorf("the failure does not name the crash")
	}
	waitPods(ctx, t, c, id1, 5, others(id1))
	for name, b := range snapshot() {
		if !bytes.Equal(b, original[name]) {
			t.Errorf("%s is not byte for byte as before after the undo", name)
		}
	}

	// imgup.yaml no longer says how to reach node2, where every workload may run:
	// the plan names it, and apply refuses before anything changes.
	only1 := "kubernetes:\n  kubeconfig: " + c.Kubeconfig + "\n  namespace: kube-e2e\n  snapshotter: native\nnodes:\n  " + c.Nodes[0].Name + ": unix://" + c.Nodes[0].Containerd + "\n"
	if err := os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(only1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = run("plan", "-C", dir, tar2)
	if !strings.Contains(out, c.Nodes[1].Name+": UNREACHABLE") || !strings.Contains(out, "REFUSED") {
		t.Errorf("the plan does not name the unreachable node")
	}
	if out, code := run("apply", "--yes", "-C", dir, tar2); code == 0 || !strings.Contains(out, "nothing was changed") {
		t.Errorf("apply with an unreachable node: exit %d", code)
	}
	for name, b := range snapshot() {
		if !bytes.Equal(b, original[name]) {
			t.Errorf("%s changed though apply refused", name)
		}
	}
	t.Logf("whole test %s", time.Since(begin).Round(time.Millisecond))
}

// waitPods waits until want pods of namespace kube-e2e, none being deleted, are Ready
// and run image id (and none of the others), and no other pod is left.
func waitPods(ctx context.Context, t *testing.T, c *kuberig.Cluster, id string, want int, others []string) {
	t.Helper()
	const query = `jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.deletionTimestamp} {.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[*].imageID}{"\n"}{end}`
	var out string
	for deadline := time.Now().Add(3 * time.Minute); ; {
		var err error
		out, err = c.Kubectl(ctx, "get", "pods", "-n", "kube-e2e", "-o", query)
		if err != nil {
			t.Fatal(err)
		}
		good, all := 0, 0
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			all++
			if len(f) >= 4 && f[2] == "True" && strings.Contains(line, id) && !containsAny(line, others) {
				good++
			}
		}
		if good == want && all == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %d pods Ready on %s after 3m:\n%s", want, id, out)
		}
		time.Sleep(time.Second)
	}
}

func containsAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
