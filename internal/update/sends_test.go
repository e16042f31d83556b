package update

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/plan"
)

// sendsNode is a swarm node's engine: the images it has (ID to diffIDs, reference to
// ID), the bytes loads sent it, and the images a load gives it.
type sendsNode struct {
	engine.Client
	containerd bool
	layers     map[string][]string
	ids        map[string]string
	mu         sync.Mutex
	got        int64
	loads      map[string]string
}

func (n *sendsNode) Info(context.Context) (engine.Info, error) {
	return engine.Info{Containerd: n.containerd}, nil
}

func (n *sendsNode) Images(context.Context) ([]engine.Image, error) {
	var out []engine.Image
	for id := range n.layers {
		out = append(out, engine.Image{ID: id})
	}
	return out, nil
}

func (n *sendsNode) ImageLayers(_ context.Context, id string) ([]string, error) {
	return n.layers[id], nil
}

func (n *sendsNode) ImageID(_ context.Context, ref string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ids[ref], nil
}

func (n *sendsNode) Load(_ context.Context, r io.Reader) ([]string, error) {
	c, err := io.Copy(io.Discard, r)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got += c
	for ref, id := range n.loads {
		n.ids[ref] = id
	}
	return nil, err
}

// testdata/save-20.10.tar (docker save of Engine 20.10): two layers.
const (
	saveTar = "../archive/testdata/save-20.10.tar"
	diff1   = "sha256:4143e999e6796bf463889bbd3ba0d484889d056308210a387c35f46635d6b769"
	diff2   = "sha256:6f87d9f9d6806266ce8d1f33ee8aec833c612a4d1e40008a52a4b0cdf27086f5"
)

// swarm3 is three nodes: node1 has the image's base layer (another image on it),
// node2 nothing, node3 the image itself.
func swarm3(t *testing.T, a *archive.Archive) (*engine.Cluster, []*sendsNode) {
	img := a.Images()[0]
	loads := map[string]string{}
	for _, r := range img.Refs {
		loads[r] = img.ID
	}
	if len(loads) == 0 {
		loads[img.ID] = img.ID
	}
	n1 := &sendsNode{layers: map[string][]string{"sha256:base": {diff1}}, ids: map[string]string{}, loads: loads}
	n2 := &sendsNode{layers: map[string][]string{}, ids: map[string]string{}, loads: loads}
	n3 := &sendsNode{layers: map[string][]string{img.ID: {diff1, diff2}}, ids: map[string]string{}, loads: loads}
	for r, id := range loads {
		n3.ids[r] = id
	}
	nodes := []*sendsNode{n1, n2, n3}
	cl := &engine.Cluster{}
	for i, n := range nodes {
		cl.Engines = append(cl.Engines, engine.Member{Name: "node" + string(rune('1'+i)), Client: n})
	}
	return cl, nodes
}

// The plan's per-node bytes, worked out without streaming, are what apply's per-node
// loads then send: node1 is sent all but the base layer it has, node2 everything,
// node3, which has the image, nothing.
func TestPlanSendsMatchLoads(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Read(ctx, saveTar, archive.Options{Digest: true})
	if err != nil {
		t.Fatal(err)
	}
	cl, nodes := swarm3(t, a)
	sends, err := planSends(ctx, cl, []*archive.Archive{a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := a.Parts[0].TarBytes()
	if s := sends["node1"]; s.Full || s.OmittedLayers != 1 || s.Total != total || s.Bytes >= total {
		t.Errorf("node1 (has the base): %+v of %d", s, total)
	}
	if s := sends["node2"]; s.OmittedLayers != 0 || s.Bytes != total {
		t.Errorf("node2 (has nothing): %+v of %d", s, total)
	}
	if s := sends["node3"]; s.Bytes != 0 || s.Total != 0 {
		t.Errorf("node3 (has the image): %+v", s)
	}

	// Apply's load: one stream per node, each without what that node has.
	have, _, err := apply.Inventory(ctx, cl)
	if err != nil || have == nil {
		t.Fatal(have, err)
	}
	l, err := apply.StartLoad(ctx, cl, saveTar, apply.LoadOptions{Have: have, Defer: true})
	if err != nil {
		t.Fatal(err)
	}
	before := l.Nodes()
	if _, _, err := l.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	for i, ns := range l.Nodes() {
		want := sends[ns.Node]
		if before[i].Bytes != want.Bytes || ns.Omitted != want.OmittedLayers || ns.OmittedBytes != want.OmittedBytes {
			t.Errorf("%s: the plan says %+v, apply's read %+v", ns.Node, want, before[i])
		}
		if nodes[i].got != want.Bytes {
			t.Errorf("%s: the plan says %d bytes, the node got %d", ns.Node, want.Bytes, nodes[i].got)
		}
	}
}

// A node whose layers imgup cannot read (the containerd image store) makes apply send
// one stream of every layer to all: every node's figure says so, and the plan does
// not claim that each is sent only what it lacks.
func TestPlanSendsFull(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Read(ctx, saveTar, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl, nodes := swarm3(t, a)
	nodes[1].containerd = true
	sends, err := planSends(ctx, cl, []*archive.Archive{a}, nil)
	if err != nil {
		t.Fatal(err)
	}
	total := a.Parts[0].TarBytes()
	for _, name := range []string{"node1", "node2", "node3"} {
		if s := sends[name]; !s.Full || s.Bytes != total || s.OmittedLayers != 0 {
			t.Errorf("%s: %+v, want every layer (%d)", name, s, total)
		}
	}
	p := &plan.Plan{}
	for _, name := range []string{"node1", "node2"} {
		s := sends[name]
		p.Nodes = append(p.Nodes, plan.Node{Name: name, Lacks: []string{"x:1"}, Send: &s})
	}
	if p.EachOwnLayers() {
		t.Error("the claim is made while every node is sent every layer")
	}
	s1 := &plan.Send{Bytes: 10, Total: 20, OmittedLayers: 1}
	p.Nodes = []plan.Node{{Name: "node1", Send: s1}, {Name: "node4", Unreachable: "down"}}
	if !p.EachOwnLayers() {
		t.Error("no claim where every reached node is sent only what it lacks")
	}
	p.Nodes = append(p.Nodes, plan.Node{Name: "node5", Lacks: []string{"x:1"}})
	if p.EachOwnLayers() {
		t.Error("the claim is made for a node whose figure is unknown")
	}
}
