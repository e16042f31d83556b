package kubefile

import "testing"

func TestParseMultiDocument(t *testing.T) {
	data := []byte(`# the app
apiVersion: v1
kind: Service
metadata: {name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop   # here
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: "acme/web:1.0"
      containers:
      - {name: web, image: acme/web:1.0, imagePullPolicy: Never}
      - name: side
        image: 'acme/side:2'   # pinned
---
kind: NotAnObject
`)
	f, err := Parse("m.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Objects != 2 || len(f.Workloads) != 1 {
		t.Fatalf("objects %d, workloads %d", f.Objects, len(f.Workloads))
	}
	w := f.Workloads[0]
	if w.Kind != "Deployment" || w.Name != "web" || w.Namespace != "shop" || len(w.Containers) != 3 {
		t.Fatalf("%+v", w)
	}
	want := map[string]string{"migrate": "acme/web:1.0", "web": "acme/web:1.0", "side": "acme/side:2"}
	for _, c := range w.Containers {
		if c.Err != nil || c.Image == nil {
			t.Fatalf("%s: %v", c.Name, c.Err)
		}
		if got := string(data[c.Image.Start:c.Image.End]); got != want[c.Name] {
			t.Errorf("%s: bytes %q, want %q", c.Name, got, want[c.Name])
		}
	}
	if w.Containers[0].PullPolicy != "Never" || !w.Containers[2].Init {
		t.Errorf("%+v", w.Containers)
	}
}
