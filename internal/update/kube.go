package update

import (
	"context"
	"slices"
	"strings"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/kube"
	"github.com/encoo-tools/imgup/internal/plan"
)

// observeKube is Observe of a Kubernetes deployment: the cluster (its API and each
// node's containerd at imgup.yaml's nodes:) is the engine, its pods the containers.
func (svc *Service) observeKube(ctx context.Context, t Target, k *deploy.Kube, withImages bool) (*Snapshot, error) {
	addrs, err := deploy.ReadNodes(t.Dir)
	if err != nil {
		return nil, err
	}
	cl, err := kube.Dial(ctx, kube.Config{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.NS(), Snapshotter: k.Snapshotter}, addrs)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{eng: cl, svc: svc}
	fail := func(err error) (*Snapshot, error) {
		cl.Close()
		return nil, err
	}
	for _, n := range cl.Nodes {
		state := "ready"
		if !n.Schedulable {
			state = "unschedulable"
		}
		s.nodes = append(s.nodes, NodeState{Node: engine.Node{ID: n.Name, Hostname: n.Name, State: state, Availability: "active"}, Addr: n.Addr, Err: n.Err})
	}
	if s.containers, err = cl.Containers(ctx); err != nil {
		return fail(err)
	}
	if k.Managed, err = cl.Managed(ctx); err != nil {
		return fail(err)
	}
	if s.d, err = deploy.Discover(ctx, t.Dir, deploy.Options{Containers: s.containers, Projects: t.Projects, Environ: svc.Environ, Kube: k}); err != nil {
		return fail(err)
	}
	for _, st := range s.d.Stacks {
		for _, svc := range st.Services {
			if _, name, ok := strings.Cut(svc.Name, "/"); ok {
				if cl.Qualified == nil {
					cl.Qualified = map[string]bool{}
				}
				cl.Qualified[name] = true
			}
		}
	}
	if len(cl.Qualified) > 0 {
		// Two kinds share a name: list again, their pods' service is kind/name.
		if s.containers, err = cl.Containers(ctx); err != nil {
			return fail(err)
		}
	}
	if s.records, err = history.List(s.d.Root); err != nil {
		return fail(err)
	}
	if withImages {
		if s.images, err = cl.Images(ctx); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// kubeNodes are a Kubernetes cluster's nodes for the plan, with the archives' images
// each reachable node's containerd lacks.
func (s *Snapshot) kubeNodes(ctx context.Context, cl *kube.Cluster, archives []*archive.Archive) ([]plan.Node, error) {
	lacks, err := nodeLacks(ctx, archives, cl.NodeImageIDs)
	if err != nil {
		return nil, err
	}
	place, err := cl.Placement(ctx)
	if err != nil {
		return nil, err
	}
	var out []plan.Node
	for _, n := range cl.Nodes {
		pn := plan.Node{Name: n.Name, ID: n.Name, Role: plan.KubeNode, Engine: n.Addr, Unreachable: n.Err, Placeable: n.Schedulable, Lacks: lacks[n.Name]}
		// Which workloads may run there, when not every one may.
		all, runs := true, []string{}
		for _, svc := range sortedKeys(place) {
			if slices.Contains(place[svc], n.Name) {
				runs = append(runs, svc)
			} else {
				all = false
			}
		}
		if !all {
			pn.Runs = runs
		}
		out = append(out, pn)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
