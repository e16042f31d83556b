package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type fakeNode struct {
	Client // only the listings are called
	cs     []Container
	err    error
}

func (f *fakeNode) Containers(context.Context) ([]Container, error)      { return f.cs, f.err }
func (f *fakeNode) ContainerStates(context.Context) ([]Container, error) { return f.cs, f.err }

type fakeManager struct {
	*fakeNode
	Swarm
	tasks []Task
}

func (f *fakeManager) Tasks(context.Context, string) ([]Task, error) { return f.tasks, nil }

// A node that stops answering is lost, not fatal: the listing goes on with the others
// and Lost names it with imgup.yaml's address; it is no longer lost once it answers.
// The manager not answering fails the listing.
func TestClusterLostNode(t *testing.T) {
	task := func(id string) Container {
		return Container{ID: id, Labels: map[string]string{LabelSwarmTask: id}}
	}
	m := &fakeManager{fakeNode: &fakeNode{cs: []Container{task("t1")}}, tasks: []Task{{ID: "t1", DesiredState: "running"}, {ID: "t3", DesiredState: "running"}}}
	n3 := &fakeNode{err: errors.New("Cannot connect to the Docker daemon")}
	cl := &Cluster{Manager: m, Engines: []Member{{Name: "node1", Client: m}, {Name: "node3", Client: n3, Addr: "ssh://ops@10.0.0.13"}}}
	cs, err := cl.Containers(context.Background())
	if err != nil || len(cs) != 1 || cs[0].Node != "node1" {
		t.Fatalf("containers with node3 lost: %v %v", cs, err)
	}
	if lost := cl.Lost(); len(lost) != 1 || !strings.HasPrefix(lost[0], "node3 (ssh://ops@10.0.0.13): Cannot connect") || !cl.IsLost("node3") {
		t.Errorf("lost: %q", lost)
	}
	n3.err, n3.cs = nil, []Container{task("t3")}
	if cs, err := cl.ContainerStates(context.Background()); err != nil || len(cs) != 2 || len(cl.Lost()) != 0 {
		t.Errorf("node3 back: %v %v lost %q", cs, err, cl.Lost())
	}
	m.err = errors.New("manager down")
	if _, err := cl.Containers(context.Background()); err == nil {
		t.Error("the manager not answering must fail the listing")
	}
}
