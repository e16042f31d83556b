package status

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/target"
)

// swarmDeployment is a stack docker stack deploy runs: its tag a quoted value of .env,
// one service pinned to a node, its tasks' containers labelled by swarm.
func swarmDeployment(t *testing.T, script bool) (*deploy.Deployment, map[string]string, []engine.Container) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"docker-compose.yml": "services:\n  gateway:\n    image: acme/gateway:${GATEWAY_TAG}\n  worker:\n    image: acme/worker:1.0\n    deploy:\n      placement:\n        constraints: [\"node.hostname == node2\"]\n",
		".env":               "GATEWAY_TAG=\"2.0\"\n",
	}
	if script {
		files["deploy.sh"] = "#!/bin/sh\nset -a; . ./.env; set +a\ndocker stack deploy --resolve-image never -c docker-compose.yml console\n"
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	svcs := []engine.Service{
		{ID: "s1", Name: "console_gateway", Labels: map[string]string{engine.LabelStack: "console"}, Replicas: 2},
		{ID: "s2", Name: "console_worker", Labels: map[string]string{engine.LabelStack: "console"}, Replicas: 1, Constraints: []string{"node.hostname == node2"}},
	}
	images := map[string]string{"acme/gateway:2.0": "sha256:" + strings.Repeat("a", 64), "acme/gateway:1.0": "sha256:" + strings.Repeat("b", 64), "acme/worker:1.0": "sha256:" + strings.Repeat("c", 64)}
	task := func(svc, image string, state string) engine.Container {
		return engine.Container{ID: svc + image, Name: "console_" + svc + ".1.x", Image: image, ImageID: images[image], State: state, Node: "node1",
			Labels: map[string]string{engine.LabelStack: "console", engine.LabelSwarmSvc: "console_" + svc, engine.LabelSwarmTask: "t" + svc}}
	}
	// The gateway runs 1.0 though .env says "2.0" (a hand edit), and the worker exited.
	cs := []engine.Container{task("gateway", "acme/gateway:1.0", "running"), task("worker", "acme/worker:1.0", "exited")}
	d, err := deploy.Discover(context.Background(), root, deploy.Options{Containers: cs, Swarm: svcs})
	if err != nil {
		t.Fatal(err)
	}
	if !d.IsSwarm() {
		t.Fatalf("the stack is not bound to the swarm stack: %+v", d.Stacks[0])
	}
	return d, images, cs
}

// No advice on a swarm stack tells the operator to run compose up: on a swarm manager
// that starts a second, non-swarm copy of the stack. The fixes name docker stack
// deploy (with the .env sourced) or the control script.
func TestSwarmAdviceNeverComposeUp(t *testing.T) {
	for _, script := range []bool{false, true} {
		d, images, cs := swarmDeployment(t, script)
		r := Make(Input{Deployment: d, Images: images, Containers: cs})
		var fixes []string
		for _, f := range r.Findings {
			fixes = append(fixes, f.Fix, f.FixIn(i18n.New(i18n.Chinese)))
		}
		for _, m := range append(target.Names(), "") {
			fixes = append(fixes, target.Hint(d, m))
		}
		want := "docker stack deploy --resolve-image never -c docker-compose.yml console"
		if script {
			want = "./deploy.sh restart"
		}
		joined := strings.Join(fixes, "\n")
		if strings.Contains(joined, "compose up") || !strings.Contains(joined, want) {
			t.Errorf("script=%v: advice on a swarm stack:\n%s", script, joined)
		}
		if !script && !strings.Contains(joined, "set -a && . ./.env && set +a") {
			t.Errorf("the redeploy by hand does not source .env:\n%s", joined)
		}
		if !strings.Contains(joined, "docker service logs console_worker") {
			t.Errorf("no service logs for the exited worker:\n%s", joined)
		}
	}
}

// A node a service's placement constraints keep it off needs none of its images: no
// node-missing-image there; the node the service is pinned to does need it.
func TestNodeMissingImagePlacement(t *testing.T) {
	d, images, cs := swarmDeployment(t, false)
	holds := func(refs ...string) map[string]string {
		m := map[string]string{}
		for _, r := range refs {
			m[r] = images[r]
		}
		return m
	}
	r := Make(Input{Deployment: d, Images: images, Containers: cs, Nodes: []Node{
		{Name: "node1", ID: "n1", Manager: true, State: "ready/active", Images: holds("acme/gateway:2.0")},
		{Name: "node2", ID: "n2", State: "ready/active", Images: holds("acme/gateway:2.0")},
	}})
	var missing []string
	for _, f := range r.Findings {
		if f.Kind == NodeMissing {
			missing = append(missing, f.Message)
		}
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "node node2 lacks image acme/worker:1.0") {
		t.Errorf("node-missing-image findings: %q", missing)
	}
}

// On Kubernetes a node lacks only the images of the workloads that may run there
// (Runs, from their nodeSelector, affinity and tolerations), and the report lists
// the nodes under their own heading with what may run on each.
func TestKubeNodes(t *testing.T) {
	st := &deploy.Stack{Name: "shop", Project: "shop", Kube: &deploy.Kube{Namespace: "shop", Mode: deploy.ModeManifests}}
	for _, s := range []struct{ name, ref string }{{"web", "acme/web:2"}, {"db", "acme/db:5"}} {
		name, tag, _ := strings.Cut(s.ref, ":")
		st.Services = append(st.Services, &deploy.Service{Stack: st, Name: s.name, Target: &composefile.Target{Ref: s.ref, Name: name, Tag: tag}})
	}
	d := &deploy.Deployment{Root: "/srv/shop", Stacks: []*deploy.Stack{st}}
	r := Make(Input{Deployment: d, Nodes: []Node{
		{Name: "node1", State: "ready", Images: map[string]string{"acme/web:2": "sha256:a", "acme/db:5": "sha256:b"}},
		{Name: "node2", State: "ready", Images: map[string]string{"acme/web:1": "sha256:c"}, Runs: []string{"web"}},
	}})
	var missing []string
	for _, f := range r.Findings {
		if f.Kind == NodeMissing {
			missing = append(missing, f.Message)
		}
	}
	if len(missing) != 1 || !strings.Contains(missing[0], "node node2 lacks image acme/web:2: a pod placed there") {
		t.Errorf("node-missing-image findings: %q", missing)
	}
	text := r.String()
	for _, want := range []string{"IMAGE IN FILES", "Kubernetes nodes", "node2  ready  lacks 1 image(s)", "may run: web"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
}
