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
	"github.com/encoo-tools/imgup/internal/status"
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
	k.Reached = true
	if s.d, err = deploy.Discover(ctx, t.Dir, deploy.Options{Containers: s.containers, Projects: t.Projects, Environ: svc.Environ, Kube: k}); err != nil {
		return fail(err)
	}
	if ns := s.d.Stacks[0].Kube.NS(); ns != cl.NS {
		// The namespace came from the deployment's files (the control script's -n, a
		// kustomization's namespace:), not imgup.yaml: read that one.
		cl.NS = ns
		k.Namespace = ns
		if k.Managed, err = cl.Managed(ctx); err != nil {
			return fail(err)
		}
		if s.containers, err = cl.Containers(ctx); err != nil {
			return fail(err)
		}
		if s.d, err = deploy.Discover(ctx, t.Dir, deploy.Options{Containers: s.containers, Projects: t.Projects, Environ: svc.Environ, Kube: k}); err != nil {
			return fail(err)
		}
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
		pn.Runs = runsOn(place, n.Name)
		out = append(out, pn)
	}
	return out, nil
}

// runsOn are the workloads whose pods may be placed on node (kube.Cluster.Placement),
// sorted; nil when every one may.
func runsOn(place map[string][]string, node string) []string {
	all, runs := true, []string{}
	for svc, nodes := range place {
		if slices.Contains(nodes, node) {
			runs = append(runs, svc)
		} else {
			all = false
		}
	}
	if all {
		return nil
	}
	slices.Sort(runs)
	return runs
}

// kubeStatusNodes are a Kubernetes cluster's nodes for status: what each node's
// containerd holds, and which workloads may run there.
func (s *Snapshot) kubeStatusNodes(cl *kube.Cluster) ([]status.Node, error) {
	ctx := context.Background()
	place, err := cl.Placement(ctx)
	if err != nil {
		return nil, err
	}
	var out []status.Node
	for _, n := range cl.Nodes {
		sn := status.Node{Name: n.Name, ID: n.Name, State: "ready", Unreachable: n.Err, Runs: runsOn(place, n.Name)}
		if !n.Schedulable {
			sn.State = "unschedulable"
		}
		if n.Store != nil {
			imgs, err := cl.NodeImages(ctx, n)
			if err != nil {
				sn.Unreachable = engine.FirstLine(err.Error())
			}
			sn.Images = imgs
		}
		out = append(out, sn)
	}
	return out, nil
}
