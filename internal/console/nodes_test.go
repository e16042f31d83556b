package console

import (
	"bytes"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
)

// renderPlanBody renders the plan page's body for p in lang.
func renderPlanBody(t *testing.T, p *plan.Plan, lang string) string {
	t.Helper()
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := pages["plan"].ExecuteTemplate(&b, "plan-body", page{tr: i18n.New(lang), Lang: lang, Data: planView{Plan: p}}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The plan page shows, per swarm node, what it lacks and the bytes it will be sent;
// it claims "each sent only the layers it lacks" only when that holds.
func TestPlanPageNodes(t *testing.T) {
	p := &plan.Plan{Nodes: []plan.Node{
		{Name: "node1", Role: "manager", Engine: "unix:///var/run/docker.sock", Placeable: true, Lacks: []string{"acme/web:2.0"},
			Send: &plan.Send{Bytes: 1_100_000, Total: 9_500_000, OmittedLayers: 3, OmittedBytes: 8_400_000}},
		{Name: "node2", Role: "worker", Engine: "ssh://ops@10.0.0.2", Placeable: true},
		{Name: "node3", Role: "worker", Engine: "ssh://ops@10.0.0.3", Placeable: true, Lacks: []string{"acme/web:2.0"},
			Send: &plan.Send{Bytes: 9_500_000, Total: 9_500_000}},
	}}
	body := renderPlanBody(t, p, i18n.English)
	for _, want := range []string{"each sent only the layers it lacks", "<code>acme/web:2.0</code>", "1.1 MB of 9.5 MB (3 layer(s) it has left out)", "9.5 MB of 9.5 MB (0 layer(s) it has left out)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}

	// node3's layers cannot be read: every node is sent every layer, and no claim.
	p.Nodes[0].Send = &plan.Send{Bytes: 9_500_000, Total: 9_500_000, Full: true}
	p.Nodes[2].Send = &plan.Send{Bytes: 9_500_000, Total: 9_500_000, Full: true}
	body = renderPlanBody(t, p, i18n.English)
	if strings.Contains(body, "each sent only") || !strings.Contains(body, "To every node of the swarm:") {
		t.Errorf("the claim is made where it does not hold:\n%s", body)
	}
	if !strings.Contains(body, "9.5 MB: every layer (imgup cannot read its layers)") {
		t.Errorf("a node sent every layer is not said:\n%s", body)
	}
	body = renderPlanBody(t, p, i18n.Chinese)
	if !strings.Contains(body, "全部层") || strings.Contains(body, "每个节点只发送") {
		t.Errorf("in Chinese:\n%s", body)
	}
}

// On Kubernetes the page says the images go into each node's containerd, what each
// lacks, and which workloads may run on a node (its placement), in both languages.
func TestPlanPageKubeNodes(t *testing.T) {
	p := &plan.Plan{Stacks: []plan.Stack{{Name: "shop", Kubernetes: true}}, Nodes: []plan.Node{
		{Name: "node1", Role: plan.KubeNode, Engine: "unix:///run/containerd/containerd.sock", Placeable: true, Lacks: []string{"acme/web:2.0"}},
		{Name: "node2", Role: plan.KubeNode, Unreachable: "imgup.yaml names no address for it", Placeable: true, Runs: []string{"web"}},
	}}
	body := renderPlanBody(t, p, i18n.English)
	for _, want := range []string{"Into every node&#39;s containerd", "<code>acme/web:2.0</code>", "every workload", "<code>web</code>", "Edit the manifests, the kustomization or the Helm values"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "swarm") {
		t.Errorf("a Kubernetes plan speaks of a swarm:\n%s", body)
	}
	if body = renderPlanBody(t, p, i18n.Chinese); strings.Contains(body, "Into every node") {
		t.Errorf("in Chinese:\n%s", body)
	}
}
