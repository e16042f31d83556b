package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
