package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Where a pod may be scheduled: nodeSelector, required node affinity (In, NotIn,
// Exists, Gt, matchFields), and NoSchedule taints that only a toleration passes; a
// PreferNoSchedule taint keeps no pod away.
func TestSchedulable(t *testing.T) {
	gpu := &Node{Name: "gpu1", Labels: map[string]string{"kubernetes.io/hostname": "gpu1", "acme/gpu": "true", "acme/tier": "3"},
		Taints: []corev1.Taint{{Key: "acme/gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}}}
	plain := &Node{Name: "node1", Labels: map[string]string{"kubernetes.io/hostname": "node1"},
		Taints: []corev1.Taint{{Key: "acme/busy", Effect: corev1.TaintEffectPreferNoSchedule}}}
	tolerate := []corev1.Toleration{{Key: "acme/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	req := func(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	}
	expr := func(key string, op corev1.NodeSelectorOperator, v ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: v}}}
	}
	for _, c := range []struct {
		name      string
		spec      corev1.PodSpec
		gpu, node bool
	}{
		{"nothing said", corev1.PodSpec{}, false, true},
		{"tolerates the gpu taint", corev1.PodSpec{Tolerations: tolerate}, true, true},
		{"tolerates everything", corev1.PodSpec{Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}, true, true},
		{"nodeSelector gpu", corev1.PodSpec{NodeSelector: map[string]string{"acme/gpu": "true"}, Tolerations: tolerate}, true, false},
		{"affinity In hostname", corev1.PodSpec{Affinity: req(expr("kubernetes.io/hostname", corev1.NodeSelectorOpIn, "node1", "node9"))}, false, true},
		{"affinity NotIn node1, tolerating", corev1.PodSpec{Affinity: req(expr("kubernetes.io/hostname", corev1.NodeSelectorOpNotIn, "node1")), Tolerations: tolerate}, true, false},
		{"affinity Exists or Gt (terms are ORed)", corev1.PodSpec{Affinity: req(expr("acme/none", corev1.NodeSelectorOpExists), expr("acme/tier", corev1.NodeSelectorOpGt, "2")), Tolerations: tolerate}, true, false},
		{"matchFields name", corev1.PodSpec{Affinity: req(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node1"}}}})}, false, true},
	} {
		if got := schedulable(c.spec, gpu); got != c.gpu {
			t.Errorf("%s: gpu1 %v, want %v", c.name, got, c.gpu)
		}
		if got := schedulable(c.spec, plain); got != c.node {
			t.Errorf("%s: node1 %v, want %v", c.name, got, c.node)
		}
	}
}
