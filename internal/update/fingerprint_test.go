package update

import (
	"testing"

	"github.com/encoo-tools/imgup/internal/plan"
)

// The plan page (no load) and apply (a load that knows each node's bytes) confirm the
// same plan: what each swarm node will be sent is not in the fingerprint, and the
// plan itself is left as it was.
func TestFingerprintLeavesOutNodeBytes(t *testing.T) {
	page := &plan.Plan{Nodes: []plan.Node{{Name: "node1", Lacks: []string{"a:1"}}}}
	applied := &plan.Plan{Nodes: []plan.Node{{Name: "node1", Lacks: []string{"a:1"}, Send: &plan.Send{Bytes: 9}}}}
	if Fingerprint(page) != Fingerprint(applied) {
		t.Error("the per-node bytes change the fingerprint")
	}
	if applied.Nodes[0].Send == nil {
		t.Error("Fingerprint changed the plan")
	}
	other := &plan.Plan{Nodes: []plan.Node{{Name: "node1", Lacks: []string{"a:2"}}}}
	if Fingerprint(page) == Fingerprint(other) {
		t.Error("what a node lacks is part of the plan")
	}
}
