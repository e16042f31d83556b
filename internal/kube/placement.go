package kube

import (
	"context"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Placement says, for each workload of the namespace, the nodes the scheduler may put
// its pods on: its pod template's nodeSelector, its required node affinity, and the
// node taints (NoSchedule, NoExecute) its tolerations do not tolerate. A workload is
// named as its pods' service is (name, or kind/name where two kinds share it).
func (c *Cluster) Placement(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for _, list := range c.apps.lists(c.NS) {
		kind, items, err := list(ctx)
		if err != nil {
			return nil, err
		}
		for _, w := range items {
			name := w.meta.Name
			if c.Qualified[name] {
				name = strings.ToLower(kind) + "/" + name
			}
			var nodes []string
			for _, n := range c.Nodes {
				if schedulable(w.pod, n) {
					nodes = append(nodes, n.Name)
				}
			}
			out[name] = nodes
		}
	}
	return out, nil
}

// schedulable says whether a pod of spec may be placed on node n.
func schedulable(spec corev1.PodSpec, n *Node) bool {
	for k, v := range spec.NodeSelector {
		if got, ok := n.Labels[k]; !ok || got != v {
			return false
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if !slices.ContainsFunc(terms, func(t corev1.NodeSelectorTerm) bool { return termMatches(t, n) }) {
			return false
		}
	}
	for _, t := range n.Taints {
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool { return tolerates(tol, t) }) {
			return false
		}
	}
	return true
}

// termMatches: every expression of a node selector term holds for n (an empty term
// matches nothing, as the scheduler reads it).
func termMatches(t corev1.NodeSelectorTerm, n *Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for _, e := range t.MatchExpressions {
		v, ok := n.Labels[e.Key]
		if !requirement(e, v, ok) {
			return false
		}
	}
	for _, e := range t.MatchFields {
		if e.Key != "metadata.name" || !requirement(e, n.Name, true) {
			return false
		}
	}
	return true
}

func requirement(e corev1.NodeSelectorRequirement, v string, ok bool) bool {
	switch e.Operator {
	case corev1.NodeSelectorOpIn:
		return ok && slices.Contains(e.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !ok || !slices.Contains(e.Values, v)
	case corev1.NodeSelectorOpExists:
		return ok
	case corev1.NodeSelectorOpDoesNotExist:
		return !ok
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !ok || len(e.Values) != 1 {
			return false
		}
		a, err1 := strconv.ParseInt(v, 10, 64)
		b, err2 := strconv.ParseInt(e.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return (e.Operator == corev1.NodeSelectorOpGt && a > b) || (e.Operator == corev1.NodeSelectorOpLt && a < b)
	}
	return false
}

// tolerates is the scheduler's rule: the effect (or any), the key (or any, with
// Exists), and the value for Equal.
func tolerates(tol corev1.Toleration, t corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key != t.Key && !(tol.Key == "" && tol.Operator == corev1.TolerationOpExists) {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Value == t.Value
	}
	return false
}
