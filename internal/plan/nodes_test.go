package plan

import (
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// The plan's text gives each node's bytes and claims "each sent only the layers it
// lacks" only when every reached node's load leaves out what it has.
func TestRenderNodeSends(t *testing.T) {
	p := &Plan{Nodes: []Node{
		{Name: "node1", Engine: "unix:///var/run/docker.sock", Lacks: []string{"acme/web:2.0"}, Send: &Send{Bytes: 1_100_000, Total: 9_500_000, OmittedLayers: 3}},
		{Name: "node2", Engine: "ssh://n2", Send: &Send{}},
		{Name: "node3", Engine: "ssh://n3", Lacks: []string{"acme/web:2.0"}, Send: &Send{Bytes: 9_500_000, Total: 9_500_000}},
		{Name: "node4", Unreachable: "drained", Placeable: false},
	}}
	var b strings.Builder
	p.renderNodes(&b, i18n.New(i18n.English))
	out := b.String()
	for _, want := range []string{"each sent only the layers it lacks:", "node1 (unix:///var/run/docker.sock): lacks acme/web:2.0; sends 1.1 MB of 9.5 MB (3 layer(s) it has left out)",
		"node2 (ssh://n2): has every image", "node3 (ssh://n3): lacks acme/web:2.0; sends 9.5 MB of 9.5 MB (0 layer(s) it has left out)", "node4: nothing (drained)"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	p.Nodes[2].Send.Full = true
	b.Reset()
	p.renderNodes(&b, i18n.New(i18n.English))
	if out := b.String(); strings.Contains(out, "each sent only") || !strings.Contains(out, "sends every layer, 9.5 MB (imgup cannot read its layers)") {
		t.Errorf("a node sent every layer, yet:\n%s", out)
	}
}
