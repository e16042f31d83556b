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
// (kuberig), four ways, each in its own namespace with its own image: plain
// manifests (kubectl apply -f), a kustomize overlay over a base (kubectl apply -k,
// the tag in images: newTag), a vendor's control script that runs kubectl apply -f
// of a folder with -n (imgup runs the script to restart) and a Helm chart with the
// operator's values file (helm upgrade, the tag in image.tag, the release found from
// the cluster). Each has a
// Deployment (2 replicas, maxUnavailable 0), a StatefulSet and a DaemonSet on :1,
// imported into both nodes' containerd. For each: imgup plan lists the nodes and
// what each lacks; apply imports :2 into each node's containerd, edits only the tag
// characters, restarts, and every pod runs :2's image ID; a second apply does
// nothing; rollback brings :1 back (files byte for byte, image IDs); a crashing :3
// is undone (exit 3); and with a node imgup cannot reach, apply refuses before any
// change.
func TestKubernetes(t *testing.T) {
	// The cluster's API server, etcd, containerds and kubelets take CPU the whole
	// time: beside the heavy turn they slowed it by 4 to 7 minutes on 2 cores, so it
	// takes the heavy turn (about 2 min 15 s), beside small-stack tests only.
	heavy(t)
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
	for _, w := range kubeWays(c) {
		t.Run(w.name, func(t *testing.T) {
			start := time.Now()
			testKubeWay(ctx, t, c, work, prog, w)
			t.Logf("%s: %s", w.name, time.Since(start).Round(time.Millisecond))
		})
	}
	t.Logf("whole test %s", time.Since(begin).Round(time.Millisecond))
}

// kubeWay is one way a vendor ships a Kubernetes deployment: its files (each a
// function of the tag imgup edits, so that the expected files after an update are
// the same function of the new tag), how the operator installed it first, and
// imgup.yaml's kubernetes: entry beyond the cluster and namespace.
type kubeWay struct {
	name    string
	files   map[string]func(repo, tag string) string
	install func(ctx context.Context, dir, ns string) (string, error)
	// services are the names the plan gives the workloads.
	services []string
	// settings is imgup.yaml without nodes: (KUBECONFIG replaced), when not the
	// cluster and namespace alone.
	settings string
	// pinned is the StatefulSet's service when it has a tag of its own: its pods
	// may run only on the first node, so node2 unreachable does not refuse it.
	pinned string
}

const kubeWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
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
        image: IMAGE   # the version imgup edits
        imagePullPolicy: Never
        readinessProbe:
          exec: {command: [/testapp, health]}
          periodSeconds: 1
      - name: helper      # the same image: the same edit
        image: IMAGE
        imagePullPolicy: Never
        env: [{name: MODE, value: unhealthy}]
      - name: pause       # another image: left alone
        image: ` + kuberig.PauseRef + `
        imagePullPolicy: Never
`

const kubeStore = `apiVersion: v1
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
  name: SNAME
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
      affinity:   # the store's volume is on the first node
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchFields: [{key: metadata.name, operator: In, values: [NODE1]}]
      containers:
      - name: store
        image: "IMAGE"
        imagePullPolicy: IfNotPresent
        readinessProbe:
          exec: {command: [/testapp, health]}
          periodSeconds: 1
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: DNAME
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
      - {name: agent, image: 'IMAGE', imagePullPolicy: Never}
`

func kubeWays(c *kuberig.Cluster) []kubeWay {
	fill := func(text, image, web, store, agent string) string {
		return strings.NewReplacer("IMAGE", image, "SNAME", store, "DNAME", agent, "NODE1", c.Nodes[0].Name, "NAME", web).Replace(text)
	}
	apply := func(args ...string) func(ctx context.Context, dir, ns string) (string, error) {
		return func(ctx context.Context, dir, ns string) (string, error) {
			if out, err := c.Kubectl(ctx, "create", "namespace", ns); err != nil {
				return out, err
			}
			a := []string{"apply", "-n", ns}
			for _, x := range args {
				a = append(a, strings.ReplaceAll(x, "DIR", dir))
			}
			return c.Kubectl(ctx, a...)
		}
	}
	return []kubeWay{{
		name: "manifests",
		files: map[string]func(repo, tag string) string{
			// The DaemonSet has the Deployment's name: the services are
			// deployment/web and daemonset/web.
			"web.yaml":   func(repo, tag string) string { return "# the web tier\n" + fill(kubeWeb, repo+":"+tag, "web", "", "") },
			"store.yaml": func(repo, tag string) string { return fill(kubeStore, repo+":"+tag, "", "store", "web") },
		},
		// imgup.yaml is no Kubernetes object: kubectl apply -f DIR would refuse it,
		// so the manifests are named (as imgup's kubectl target names them).
		install:  apply("-f", "DIR/web.yaml", "-f", "DIR/store.yaml"),
		services: []string{"deployment/web", "store", "daemonset/web"},
		pinned:   "store",
	}, {
		name: "kustomize",
		files: map[string]func(repo, tag string) string{
			"base/kustomization.yaml": func(repo, tag string) string {
				return "resources:\n- web.yaml\n- store.yaml\n"
			},
			"base/web.yaml":   func(repo, tag string) string { return fill(kubeWeb, repo+":0.0.1", "web", "", "") },
			"base/store.yaml": func(repo, tag string) string { return fill(kubeStore, repo+":0.0.1", "", "store", "agent") },
			// The overlay a vendor ships per site: its images: entry is the version.
			"kustomization.yaml": func(repo, tag string) string {
				return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\nnamePrefix: site-\nresources:\n  - base\n\nimages:\n  - name: " + repo + "\n    newTag: \"" + tag + "\"   # bumped by each release\n"
			},
		},
		install:  apply("-k", "DIR"),
		services: []string{"site-web", "site-store", "site-agent"},
	}, {
		// A vendor's control script that deploys with kubectl: its restart's call
		// says which manifests (a folder) and the namespace; imgup runs it to restart.
		name: "script",
		files: map[string]func(repo, tag string) string{
			"k8s/web.yaml":   func(repo, tag string) string { return fill(kubeWeb, repo+":"+tag, "web", "", "") },
			"k8s/store.yaml": func(repo, tag string) string { return fill(kubeStore, repo+":"+tag, "", "store", "agent") },
			"acmectl.sh": func(repo, tag string) string {
				return "#!/bin/sh\n# acme control script\nset -e\nNS=kube-script\ncd \"$(dirname \"$0\")\"\ncase \"$1\" in\n  restart|upgrade)\n    kubectl -n \"$NS\" apply -f k8s/\n    kubectl -n \"$NS\" get pods\n    ;;\n  *) echo \"usage: $0 restart\" >&2; exit 1 ;;\nesac\n"
			},
		},
		install:  apply("-f", "DIR/k8s"),
		services: []string{"web", "store", "agent"},
		settings: "script: acmectl.sh\nkubernetes:\n  kubeconfig: KUBECONFIG\n  snapshotter: native\n",
	}, {
		name: "helm",
		files: map[string]func(repo, tag string) string{
			"chart/Chart.yaml": func(repo, tag string) string {
				return "apiVersion: v2\nname: shop\nversion: 0.1.0\nappVersion: \"0.0.1\"\n"
			},
			"chart/values.yaml": func(repo, tag string) string {
				return "image:\n  repository: " + repo + "\n  tag: \"\"\n  pullPolicy: IfNotPresent\n"
			},
			"chart/templates/_helpers.tpl": func(repo, tag string) string {
				return "{{- define \"shop.image\" -}}\n{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}\n{{- end }}\n"
			},
			"chart/templates/web.yaml": func(repo, tag string) string {
				return fill(kubeWeb, `{{ include "shop.image" . }}`, "{{ .Release.Name }}-web", "", "")
			},
			"chart/templates/store.yaml": func(repo, tag string) string {
				return fill(kubeStore, `{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}`, "", "{{ .Release.Name }}-store", "{{ .Release.Name }}-agent")
			},
			// The operator's values: the chart's defaults are never edited.
			"values.yaml": func(repo, tag string) string {
				return "# site values\nimage:\n  tag: \"" + tag + "\"\n"
			},
		},
		install: func(ctx context.Context, dir, ns string) (string, error) {
			return c.Helm(ctx, "install", "shop", filepath.Join(dir, "chart"), "-n", ns, "--create-namespace", "-f", filepath.Join(dir, "values.yaml"))
		},
		services: []string{"shop-web", "shop-store", "shop-agent"},
	}}
}

func testKubeWay(ctx context.Context, t *testing.T, c *kuberig.Cluster, work string, prog []byte, w kubeWay) {
	repo := "imgup.invalid/kube-" + w.name
	ns := "kube-" + w.name
	image := func(tag, mode string) (string, string) {
		path := filepath.Join(work, w.name+"-"+tag+".tar")
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
	dir := filepath.Join(work, w.name)
	files := func(tag string) map[string][]byte {
		out := map[string][]byte{}
		for name, f := range w.files {
			out[name] = []byte(f(repo, tag))
		}
		return out
	}
	for name, b := range files("1") {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	settings := func(nodes []*kuberig.Node) {
		s := "kubernetes:\n  kubeconfig: " + c.Kubeconfig + "\n  namespace: " + ns + "\n  snapshotter: native\n"
		if w.settings != "" {
			s = strings.ReplaceAll(w.settings, "KUBECONFIG", c.Kubeconfig)
		}
		s += "nodes:\n"
		for _, n := range nodes {
			s += "  " + n.Name + ": unix://" + n.Containerd + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	settings(c.Nodes)
	same := func(when string, want map[string][]byte) {
		t.Helper()
		for name, b := range want {
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, b) {
				t.Errorf("%s: %s is not as expected (only the tag's characters changed):\n%s", when, name, got)
			}
		}
	}
	applied := time.Now()
	if out, err := w.install(ctx, dir, ns); err != nil {
		t.Fatal(out, err)
	}
	// 2 web, 1 store, 2 agent pods Ready on id1.
	waitPods(ctx, t, c, ns, id1, 5, others(id1))
	t.Logf("5 pods Ready on :1 %s after the install", time.Since(applied).Round(time.Millisecond))

	// The control script's kubectl finds the cluster as an operator's does.
	env := append(os.Environ(), "PATH="+c.Bin+":"+os.Getenv("PATH"), "LC_ALL=C", "KUBECONFIG="+c.Kubeconfig)
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
	for _, svc := range w.services {
		if !strings.Contains(out, svc) {
			t.Errorf("the plan does not name %s", svc)
		}
	}

	if _, code := run("apply", "--yes", "--timeout", "180s", "-C", dir, tar2); code != 0 {
		t.Fatalf("apply: exit %d", code)
	}
	waitPods(ctx, t, c, ns, id2, 5, others(id2))
	same("after the update", files("2"))
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
	// status names both nodes under their own heading; --json says it is Kubernetes.
	if out, code := run("status", "-C", dir); code != 0 || !strings.Contains(out, "Kubernetes nodes") || !strings.Contains(out, c.Nodes[1].Name+"  ready  holds every image") {
		t.Errorf("status: exit %d, or no Kubernetes nodes holding every image", code)
	}
	if out, code := run("status", "--json", "-C", dir); code != 0 || !strings.Contains(out, `"kubernetes": true`) {
		t.Errorf("status --json: exit %d, or not Kubernetes", code)
	}

	if out, code := run("apply", "--yes", "--timeout", "180s", "-C", dir, tar2); code != 0 || strings.Contains(out, "restarting") {
		t.Errorf("a second apply: exit %d, or it restarted", code)
	}
	same("after a second apply", files("2"))

	if _, code := run("rollback", "--yes", "--timeout", "180s", "-C", dir); code != 0 {
		t.Fatalf("rollback: exit %d", code)
	}
	waitPods(ctx, t, c, ns, id1, 5, others(id1))
	same("after the rollback", files("1"))
	if out, code := run("history", "-C", dir); code != 0 || strings.Count(out, "rolled back")+strings.Count(out, "rollback") == 0 {
		t.Errorf("history: exit %d, or it does not show the rollback", code)
	}

	// A crashing :3: the crash loop fails it at once, and the undo puts :1 back (a
	// StatefulSet's broken pod deleted, as Kubernetes' forced rollback wants).
	out, code = run("apply", "--yes", "--timeout", "180s", "-C", dir, tar3)
	if code != 3 {
		t.Errorf("a crashing image: exit %d, want 3", code)
	}
	// The stages' own check sees the first exit (code 3, its log lines) before the
	// kubelet's back-off; the rollout check names a CrashLoopBackOff when it comes first.
	if !strings.Contains(out, "exit code 3") && !strings.Contains(out, "CrashLoopBackOff") {
		t.Errorf("the failure does not name the crash")
	}
	waitPods(ctx, t, c, ns, id1, 5, others(id1))
	same("after the undo", files("1"))

	// imgup.yaml no longer says how to reach node2, where every workload may run:
	// the plan names it, and apply refuses before anything changes.
	settings(c.Nodes[:1])
	out, _ = run("plan", "-C", dir, tar2)
	if !strings.Contains(out, c.Nodes[1].Name+": UNREACHABLE") || !strings.Contains(out, "REFUSED") {
		t.Errorf("the plan does not name the unreachable node")
	}
	if out, code := run("apply", "--yes", "-C", dir, tar2); code == 0 || !strings.Contains(out, "nothing was changed") {
		t.Errorf("apply with an unreachable node: exit %d", code)
	}
	if w.pinned != "" {
		// The StatefulSet's pods may run only on the first node (its required node
		// affinity): updating it alone needs no other node.
		out, code := run("plan", "--service", w.pinned, "-C", dir, tar2)
		if code != 0 || strings.Contains(out, "REFUSED") || !strings.Contains(out, "may run there)") {
			t.Errorf("a workload placed on the reachable node only: exit %d, or refused, or the plan does not say what may run on the unreachable node", code)
		}
	}
	same("after a refused apply", files("1"))
}

// waitPods waits until want pods of namespace ns, none being deleted, are Ready and
// run image id (and none of the others), and no other pod is left.
func waitPods(ctx context.Context, t *testing.T, c *kuberig.Cluster, ns, id string, want int, others []string) {
	t.Helper()
	const query = `jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.metadata.deletionTimestamp} {.status.conditions[?(@.type=="Ready")].status} {.status.containerStatuses[*].imageID}{"\n"}{end}`
	var out string
	for deadline := time.Now().Add(3 * time.Minute); ; {
		var err error
		out, err = c.Kubectl(ctx, "get", "pods", "-n", ns, "-o", query)
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
