package kube

import (
	"context"
	"strings"

	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/nodestore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Containers are the containers of the namespace's pods that a workload runs (a
// Deployment through its ReplicaSet, a StatefulSet, a DaemonSet), as engine
// containers: ImageID the config digest the kubelet reports, Health from Ready, Node
// the pod's node, and labels that make Service() the workload and Project() the
// namespace. A pod being deleted, or done, is history, not what runs.
func (c *Cluster) Containers(ctx context.Context) ([]engine.Container, error) {
	pods, err := c.core.Pods(c.NS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	rs, err := c.apps.ReplicaSets(c.NS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	deployOf := map[string]string{}
	for _, r := range rs.Items {
		if o := metav1.GetControllerOf(&r); o != nil && o.Kind == "Deployment" {
			deployOf[r.Name] = o.Name
		}
	}
	stores := map[string]map[string]string{} // node -> image name -> config digest, when asked
	var out []engine.Container
	ids := map[string][2]string{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		kind, name := owner(p, deployOf)
		if name == "" {
			continue
		}
		service := name
		if c.Qualified[name] {
			service = strings.ToLower(kind) + "/" + name
		}
		status := map[string]corev1.ContainerStatus{}
		for _, cs := range p.Status.ContainerStatuses {
			status[cs.Name] = cs
		}
		for _, spec := range p.Spec.Containers {
			cs, seen := status[spec.Name]
			ct := engine.Container{
				ID:    strings.TrimPrefix(cs.ContainerID, "containerd://"),
				Name:  p.Name + "/" + spec.Name,
				Image: spec.Image,
				State: "created",
				Node:  p.Spec.NodeName,
				Labels: map[string]string{engine.LabelKubeNamespace: p.Namespace, engine.LabelKubeWorkload: service, engine.LabelKubeKind: kind,
					engine.LabelKubePod: p.Name, engine.LabelKubeContainer: spec.Name},
			}
			if ct.ID == "" {
				ct.ID = string(p.UID) + "/" + spec.Name
			}
			if seen {
				ct.RestartCount = int(cs.RestartCount)
				ct.ImageID = c.imageID(ctx, stores, p.Spec.NodeName, cs)
				switch s := cs.State; {
				case s.Running != nil:
					ct.State, ct.StartedAt = "running", s.Running.StartedAt.Time
				case s.Terminated != nil:
					ct.State, ct.ExitCode = "exited", int(s.Terminated.ExitCode)
				case s.Waiting != nil && s.Waiting.Reason == "CrashLoopBackOff":
					ct.State = "restarting"
				}
				if t := cs.LastTerminationState.Terminated; t != nil && ct.State != "running" {
					ct.ExitCode = int(t.ExitCode)
				}
				switch {
				case cs.Ready:
					ct.Health = "healthy"
				case ct.State == "running":
					ct.Health = "starting"
				}
			}
			ids[ct.ID] = [2]string{p.Name, spec.Name}
			out = append(out, ct)
		}
	}
	c.mu.Lock()
	c.pods = ids
	c.mu.Unlock()
	return out, nil
}

// ContainerStates is Containers: one listing of pods is the cheapest call there is.
func (c *Cluster) ContainerStates(ctx context.Context) ([]engine.Container, error) {
	return c.Containers(ctx)
}

// owner is the workload a pod belongs to: its kind and name ("" when none).
func owner(p *corev1.Pod, deployOf map[string]string) (string, string) {
	o := metav1.GetControllerOf(p)
	if o == nil {
		return "", ""
	}
	switch o.Kind {
	case "ReplicaSet":
		if d := deployOf[o.Name]; d != "" {
			return "Deployment", d
		}
	case "StatefulSet", "DaemonSet":
		return o.Kind, o.Name
	}
	return "", ""
}

// imageID is the config digest the container runs: containerStatuses[].imageID as
// the kubelet reports an image imported without a registry digest ("sha256:…"), or,
// when it reports a repository digest (name@sha256:… of the manifest, not the
// config), the config digest the node's containerd holds under the image's name.
func (c *Cluster) imageID(ctx context.Context, stores map[string]map[string]string, node string, cs corev1.ContainerStatus) string {
	id := cs.ImageID
	if id == "" {
		return ""
	}
	if strings.HasPrefix(id, "sha256:") && !strings.Contains(id, "@") {
		return id
	}
	imgs, ok := stores[node]
	if !ok {
		imgs = map[string]string{}
		for _, n := range c.reached() {
			if n.Name != node {
				continue
			}
			if got, err := nodestore.Images(ctx, n.Store); err == nil {
				for k, v := range got {
					imgs[k] = v.String()
				}
			}
		}
		stores[node] = imgs
	}
	if d := imgs[containerdName(cs.Image)]; d != "" {
		return d
	}
	return id
}

// Managed says who made each workload of the namespace: the Helm release
// (meta.helm.sh/release-name), app.kubernetes.io/managed-by, and kubectl apply (its
// last-applied-configuration annotation). Discovery binds the root's files by it.
func (c *Cluster) Managed(ctx context.Context) ([]engine.Managed, error) {
	var out []engine.Managed
	for _, list := range c.apps.lists(c.NS) {
		kind, items, err := list(ctx)
		if err != nil {
			return nil, err
		}
		for _, w := range items {
			m := w.meta
			_, applied := m.Annotations["kubectl.kubernetes.io/last-applied-configuration"]
			out = append(out, engine.Managed{Kind: kind, Name: m.Name, HelmRelease: m.Annotations["meta.helm.sh/release-name"],
				ManagedBy: m.Labels["app.kubernetes.io/managed-by"], LastApplied: applied})
		}
	}
	return out, nil
}
