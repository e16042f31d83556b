package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Node is a swarm node as the plan sees it: how imgup reaches its engine, or why it
// cannot; whether tasks may be placed there; and the images of the update it lacks.
type Node struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	// Role is manager or worker.
	Role string `json:"role"`
	// Engine is how imgup reaches it; Unreachable why it cannot.
	Engine      string `json:"engine,omitempty"`
	Unreachable string `json:"unreachable,omitempty"`
	// Placeable: ready and not drained, so the swarm may run tasks there.
	Placeable bool `json:"placeable"`
	// Lacks are the references of the update it does not have yet: the load sends
	// them (only the layers it lacks).
	Lacks []string `json:"lacks,omitempty"`
	// Send is what apply's load sends it: the figure of apply's own streams, or, for
	// plan (and the console's plan page), worked out from the archives and the
	// node's layers without streaming.
	Send *Send `json:"send,omitempty"`
	// Runs are, on Kubernetes, the workloads (services) whose pods may be placed on
	// the node by their nodeSelector, required node affinity and tolerations; nil
	// when every one may.
	Runs []string `json:"runs,omitempty"`
}

// KubeNode is the Role of a Kubernetes node: images go into its containerd.
const KubeNode = "kubernetes node"

// Send is what a load sends one node: Bytes of the archives' Total, the node's own
// layers (OmittedLayers, OmittedBytes) left out; Full when imgup cannot read its
// layers and sends it every one.
type Send struct {
	Bytes         int64 `json:"bytes"`
	Total         int64 `json:"total"`
	OmittedLayers int   `json:"omitted_layers"`
	OmittedBytes  int64 `json:"omitted_bytes"`
	Full          bool  `json:"full,omitempty"`
}

// checkNodes refuses an update of a swarm service that may run on a node imgup cannot
// reach: the node would not have the image, and the task would not start there. A
// service whose placement constraints keep it away from the node is fine.
func (p *Plan) checkNodes(in Input) {
	p.Nodes = in.Nodes
	for _, n := range in.Nodes {
		if n.Unreachable == "" || !n.Placeable {
			continue
		}
		for _, u := range p.Updates {
			st := in.Deployment.Stack(u.Stack)
			if st == nil || (!st.Swarm && st.Kube == nil) {
				continue
			}
			// A Kubernetes workload whose pods may be placed on a node imgup cannot
			// reach (its nodeSelector, affinity and tolerations allow it) would lack
			// its image there.
			if st.Kube != nil && n.Runs != nil && !slices.Contains(n.Runs, u.Service) {
				continue
			}
			var constraints []string
			for _, s := range st.SwarmServices {
				if s.Name == st.Project+"_"+u.Service {
					constraints = s.Constraints
				}
			}
			if engine.Allows(constraints, n.Name, n.ID, n.Role == "manager") {
				p.Unreachable = append(p.Unreachable, fmt.Sprintf("%s/%s may run on node %s, which imgup cannot reach (%s)", u.Stack, u.Service, n.Name, n.Unreachable))
			}
		}
	}
	sort.Strings(p.Unreachable)
}

// EachOwnLayers says whether the claim "each sent only the layers it lacks" holds:
// there are nodes, and every reached node's load leaves out the layers that node has
// (none is sent every layer; none that lacks an image has no figure).
func (p *Plan) EachOwnLayers() bool {
	if len(p.Nodes) == 0 {
		return false
	}
	for _, n := range p.Nodes {
		if n.Unreachable == "" && (n.Send == nil && len(n.Lacks) > 0 || n.Send != nil && n.Send.Full) {
			return false
		}
	}
	return true
}

// renderNodes is the plan's word on a swarm's nodes: where the images go.
func (p *Plan) renderNodes(b *strings.Builder, tr *i18n.Printer) {
	if len(p.Nodes) == 0 {
		return
	}
	each := p.EachOwnLayers()
	if p.Nodes[0].Role == KubeNode {
		b.WriteString(tr.T("   into every node's containerd, each sent only the blobs it lacks:\n"))
	} else if each {
		b.WriteString(tr.T("   to every node of the swarm, each sent only the layers it lacks:\n"))
	} else {
		b.WriteString(tr.T("   to every node of the swarm:\n"))
	}
	for _, n := range p.Nodes {
		switch {
		case n.Unreachable != "" && !n.Placeable:
			tr.Fprintf(b, "      %s: nothing (%s)\n", n.Name, n.Unreachable)
		case n.Unreachable != "" && n.Runs != nil:
			tr.Fprintf(b, "      %s: UNREACHABLE: %s (only %s may run there)\n", n.Name, n.Unreachable, orNothing(n.Runs))
		case n.Unreachable != "":
			tr.Fprintf(b, "      %s: UNREACHABLE: %s\n", n.Name, n.Unreachable)
		case len(n.Lacks) == 0:
			tr.Fprintf(b, "      %s (%s): has every image\n", n.Name, n.Engine)
		case n.Send != nil && n.Send.Full:
			tr.Fprintf(b, "      %s (%s): lacks %s; sends every layer, %s (imgup cannot read its layers)\n", n.Name, n.Engine, strings.Join(n.Lacks, ", "), Human(n.Send.Bytes))
		case n.Send != nil:
			tr.Fprintf(b, "      %s (%s): lacks %s; sends %s of %s (%d layer(s) it has left out)\n", n.Name, n.Engine, strings.Join(n.Lacks, ", "), Human(n.Send.Bytes), Human(n.Send.Total), n.Send.OmittedLayers)
		default:
			tr.Fprintf(b, "      %s (%s): lacks %s\n", n.Name, n.Engine, strings.Join(n.Lacks, ", "))
		}
	}
	for _, u := range p.Unreachable {
		if p.Nodes[0].Role == KubeNode {
			tr.Fprintf(b, "   REFUSED: %s; apply refuses: add the node's containerd to nodes: in imgup.yaml, or drain it (kubectl drain NODE)\n", u)
			continue
		}
		tr.Fprintf(b, "   REFUSED: %s; apply refuses: add the node to nodes: in imgup.yaml, drain it (docker node update --availability drain NODE), or constrain the service away from it\n", u)
	}
}

func orNothing(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}

// OnKubernetes says whether the plan's deployment runs on Kubernetes.
func (p *Plan) OnKubernetes() bool {
	return slices.ContainsFunc(p.Stacks, func(s Stack) bool { return s.Kubernetes })
}
