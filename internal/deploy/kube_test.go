package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/engine"
)

// A root with kubernetes: in imgup.yaml is one stack of its manifests: a service per
// workload (kind/name where two kinds share a name), the first container's image, the
// other containers of that image edited alike, a sidecar of another image left out of
// verification, a pull policy that would pull warned of.
func TestDiscoverKube(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("imgup.yaml", "kubernetes:\n  kubeconfig: kc\n  namespace: shop\n")
	write("app.yaml", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
      - {name: migrate, image: acme/web:1}
      containers:
      - {name: web, image: acme/web:1, imagePullPolicy: Never}
      - {name: helper, image: "acme/web:1", imagePullPolicy: Never}
      - {name: proxy, image: acme/proxy:7, imagePullPolicy: Never}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - {name: db, image: acme/db:latest}
`)
	write("notes.yaml", "just: yaml\n")
	d, err := Discover(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Stacks) != 1 || d.Stacks[0].Kube == nil || d.Stacks[0].Project != "shop" || len(d.Stacks[0].Files) != 1 {
		t.Fatalf("stacks: %+v", d.Stacks)
	}
	st := d.Stacks[0]
	if st.Kube.Kubeconfig != filepath.Join(dir, "kc") {
		t.Errorf("kubeconfig %q", st.Kube.Kubeconfig)
	}
	web, db := st.Service("deployment/web"), st.Service("statefulset/web")
	if web == nil || db == nil {
		t.Fatalf("services: %v", st.Services)
	}
	if web.Target == nil || web.Target.Ref != "acme/web:1" || len(web.Also) != 2 || strings.Join(web.Containers, ",") != "web,helper" {
		t.Errorf("web: %+v", web)
	}
	if !d.IsKube() || len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "container db") {
		t.Errorf("warnings: %q", d.Warnings)
	}
}

// A kustomization root: an overlay over a base folder, as kustomize's examples lay
// them out. The overlay's newTag is where web's tag is edited; the worker's image
// is renamed by newName only, so its tag stays in the base manifest; a digest entry
// is refused naming it; namePrefix makes the names the cluster has; kubectl apply -k
// is the restart.
func TestDiscoverKustomize(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("imgup.yaml", "kubernetes:\n  namespace: shop\n")
	write("base/kustomization.yaml", "resources:\n- web.yaml\n- worker.yaml\nimages:\n- name: acme/web\n  newTag: \"0.9\"\n")
	write("base/web.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: acme/web:0.1\n        imagePullPolicy: IfNotPresent\n")
	write("base/worker.yaml", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: worker\nspec:\n  template:\n    spec:\n      containers:\n      - name: w\n        image: acme/worker-src:2.0\n        imagePullPolicy: IfNotPresent\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  template:\n    spec:\n      containers:\n      - {name: db, image: acme/db:5, imagePullPolicy: Never}\n")
	write("kustomization.yaml", "# prod overlay\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nnamePrefix: prod-\nresources:\n  - base\nimages:\n  - name: acme/web\n    newTag: 1.0.3   # the release\n  - name: acme/worker-src\n    newName: acme/worker\n  - name: acme/db\n    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\n")
	d, err := Discover(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := d.Stacks[0]
	if st.Kube.Mode != ModeKustomize || len(st.Files) != 4 {
		t.Fatalf("mode %s, files %d", st.Kube.Mode, len(st.Files))
	}
	web, worker, db := st.Service("prod-web"), st.Service("prod-worker"), st.Service("prod-db")
	if web == nil || worker == nil || db == nil {
		t.Fatalf("services: %v", st.Services)
	}
	over := filepath.Join(dir, "kustomization.yaml")
	if tg := web.Target; tg == nil || tg.Ref != "acme/web:1.0.3" || tg.File != over || tg.Old != "1.0.3" || !tg.Quote {
		t.Errorf("web: %+v %v", tg, web.Err)
	} else if b, _ := os.ReadFile(over); string(b[tg.Start:tg.End]) != "1.0.3" {
		t.Errorf("web's tag bytes: %q", b[tg.Start:tg.End])
	}
	if tg := worker.Target; tg == nil || tg.Ref != "acme/worker:2.0" || tg.Name != "acme/worker" || tg.File != "" || worker.Image.File != filepath.Join(dir, "base", "worker.yaml") {
		t.Errorf("worker: %+v %v", tg, worker.Err)
	}
	if db.Err == nil || !strings.Contains(db.Err.Error(), "pinned by digest") {
		t.Errorf("db: %v", db.Err)
	}
	// A patch that may set an image: refused, naming it.
	write("kustomization.yaml", "resources: [base]\npatches:\n- path: bump.yaml\n")
	write("bump.yaml", "- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: acme/web:9\n")
	d, err = Discover(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if web := d.Stacks[0].Service("web"); web == nil || web.Err == nil || !strings.Contains(web.Err.Error(), "patches (bump.yaml)") {
		t.Errorf("a patched image: %+v", web)
	}
}

// A vendor's control script that deploys with kubectl: its restart's calls say which
// manifests (a folder and a file, -n) or which kustomization (-k overlays/prod) make
// the deployment, and the namespace when imgup.yaml leaves it out. Only KUBECONFIG
// is set: the script's words make it a Kubernetes deployment.
func TestDiscoverKubeScript(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	deployment := func(name, image string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: " + image + "\n        imagePullPolicy: IfNotPresent\n"
	}
	write("k8s/web.yaml", deployment("web", "acme/web:1.0"), 0o644)
	write("k8s/api.yaml", deployment("api", "acme/api:1.0"), 0o644)
	write("extra/jobs.yaml", deployment("jobs", "acme/jobs:1.0"), 0o644)
	write("unused.yaml", deployment("old", "acme/old:0.1"), 0o644)
	write("deploy.sh", `#!/bin/sh
NS=acme-prod
KUBECTL="kubectl -n $NS"
case "$1" in
restart)
  $KUBECTL apply -f k8s/
  $KUBECTL apply -f ./extra/jobs.yaml
  $KUBECTL rollout status deploy/web
  ;;
esac
`, 0o755)
	env := []string{"PATH=/usr/bin:/bin", "HOME=/root", "KUBECONFIG=/etc/kc"}
	k, err := ReadKube(dir, env)
	if err != nil || k == nil {
		t.Fatalf("ReadKube: %v, %v", k, err)
	}
	d, err := Discover(context.Background(), dir, Options{Environ: env, Kube: k})
	if err != nil {
		t.Fatal(err)
	}
	st := d.Stacks[0]
	if st.Kube.Mode != ModeManifests || st.Kube.NS() != "acme-prod" || len(st.Files) != 3 || !strings.Contains(st.FilesFrom, "deploy.sh:6, deploy.sh:7") {
		t.Fatalf("mode %s ns %s files %d (%s)", st.Kube.Mode, st.Kube.NS(), len(st.Files), st.FilesFrom)
	}
	for _, name := range []string{"web", "api", "jobs"} {
		if st.Service(name) == nil {
			t.Errorf("no service %s: %v", name, st.Services)
		}
	}
	if st.Service("old") != nil {
		t.Error("a manifest the script does not apply is a service")
	}
	// The same with kustomize: apply -k of an overlay below the root.
	write("overlays/prod/kustomization.yaml", "namespace: acme-prod\nresources:\n- ../../k8s/web.yaml\nimages:\n- name: acme/web\n  newTag: '1.0'\n", 0o644)
	write("deploy.sh", "#!/bin/sh\nkubectl apply -k overlays/prod\n", 0o755)
	d, err = Discover(context.Background(), dir, Options{Environ: env, Kube: k})
	if err != nil {
		t.Fatal(err)
	}
	st = d.Stacks[0]
	web := st.Service("web")
	if st.Kube.Mode != ModeKustomize || st.Kube.Kustomize != filepath.Join(dir, "overlays", "prod") || web == nil || web.Target == nil ||
		web.Target.File != filepath.Join(dir, "overlays", "prod", "kustomization.yaml") || web.Target.Quote {
		t.Fatalf("kustomize: %+v %+v", st.Kube, web)
	}
}

// What the cluster says made a workload binds it: manifests applied with kubectl to
// a workload Helm made are warned about (Helm's next upgrade would put its image
// back).
func TestKubeManagedWarning(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte("kubernetes:\n  namespace: shop\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "web.yaml"), []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: acme/web:1, imagePullPolicy: Never}\n"), 0o644)
	k := &Kube{Namespace: "shop", Managed: []engine.Managed{{Kind: "Deployment", Name: "web", HelmRelease: "shop", ManagedBy: "Helm"}}}
	d, err := Discover(context.Background(), dir, Options{Kube: k})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0], "made by Helm release shop") {
		t.Errorf("warnings: %q", d.Warnings)
	}
}
