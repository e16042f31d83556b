package kube

import (
	"context"
	"fmt"
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Rollout is what the API says of a workload's rollout, with kubectl rollout status's
// semantics: the spec observed (observedGeneration), then for a Deployment every
// replica updated, no old one left and the updated ones available; for a StatefulSet
// the update revision current and every replica ready; for a DaemonSet every
// scheduled pod updated and available. failed says it cannot succeed any more: a pod
// of the current template whose node lacks the image (ErrImageNeverPull,
// ErrImagePull, ImagePullBackOff), one in CrashLoopBackOff (its pod, node, exit code
// and last log lines), or a Deployment past its progress deadline. workload is the
// service name: the workload's name, or kind/name.
func (c *Cluster) Rollout(ctx context.Context, workload string) (problems []i18n.Message, failed bool, err error) {
	kind, name, _ := strings.Cut(workload, "/")
	if name == "" {
		kind, name = "", kind
	}
	var (
		sel      *metav1.LabelSelector
		template corev1.PodTemplateSpec
	)
	notFound := func(err error) bool { return apierrors.IsNotFound(err) }
	found := false
	if kind == "" || kind == "deployment" {
		d, err := c.apps.Deployments(c.NS).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			found, sel, template = true, d.Spec.Selector, d.Spec.Template
			problems, failed = deploymentStatus(d)
		case !notFound(err):
			return nil, false, err
		}
	}
	if !found && (kind == "" || kind == "statefulset") {
		s, err := c.apps.StatefulSets(c.NS).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			found, sel, template = true, s.Spec.Selector, s.Spec.Template
			problems = statefulSetStatus(s)
		case !notFound(err):
			return nil, false, err
		}
	}
	if !found && (kind == "" || kind == "daemonset") {
		s, err := c.apps.DaemonSets(c.NS).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			found, sel, template = true, s.Spec.Selector, s.Spec.Template
			problems = daemonSetStatus(s)
		case !notFound(err):
			return nil, false, err
		}
	}
	if !found {
		return []i18n.Message{i18n.Msg("namespace %s has no workload %s", c.NS, workload)}, false, nil
	}
	bad, err := c.podFailures(ctx, sel, template)
	if err != nil {
		return nil, false, err
	}
	if len(bad) > 0 {
		return append(bad, problems...), true, nil
	}
	return problems, failed, nil
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func deploymentStatus(d *appsv1.Deployment) ([]i18n.Message, bool) {
	if d.Generation > d.Status.ObservedGeneration {
		return []i18n.Message{i18n.Msg("deployment %s: waiting for its new spec to be observed", d.Name)}, false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return []i18n.Message{i18n.Msg("deployment %s exceeded its progress deadline: %s", d.Name, c.Message)}, true
		}
	}
	want, st := replicas(d.Spec.Replicas), d.Status
	switch {
	case st.UpdatedReplicas < want:
		return []i18n.Message{i18n.Msg("deployment %s: %d of %d replicas updated", d.Name, st.UpdatedReplicas, want)}, false
	case st.Replicas > st.UpdatedReplicas:
		return []i18n.Message{i18n.Msg("deployment %s: %d old replicas are pending termination", d.Name, st.Replicas-st.UpdatedReplicas)}, false
	case st.AvailableReplicas < st.UpdatedReplicas:
		return []i18n.Message{i18n.Msg("deployment %s: %d of %d updated replicas available", d.Name, st.AvailableReplicas, st.UpdatedReplicas)}, false
	}
	return nil, false
}

func statefulSetStatus(s *appsv1.StatefulSet) []i18n.Message {
	if s.Generation > s.Status.ObservedGeneration {
		return []i18n.Message{i18n.Msg("statefulset %s: waiting for its new spec to be observed", s.Name)}
	}
	want, st := replicas(s.Spec.Replicas), s.Status
	if st.ReadyReplicas < want {
		return []i18n.Message{i18n.Msg("statefulset %s: %d of %d replicas ready", s.Name, st.ReadyReplicas, want)}
	}
	if s.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && st.UpdateRevision != st.CurrentRevision {
		return []i18n.Message{i18n.Msg("statefulset %s: %d of %d replicas updated to revision %s", s.Name, st.UpdatedReplicas, want, st.UpdateRevision)}
	}
	return nil
}

func daemonSetStatus(s *appsv1.DaemonSet) []i18n.Message {
	if s.Generation > s.Status.ObservedGeneration {
		return []i18n.Message{i18n.Msg("daemonset %s: waiting for its new spec to be observed", s.Name)}
	}
	st := s.Status
	if st.UpdatedNumberScheduled < st.DesiredNumberScheduled {
		return []i18n.Message{i18n.Msg("daemonset %s: %d of %d scheduled pods updated", s.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled)}
	}
	if st.NumberAvailable < st.DesiredNumberScheduled {
		return []i18n.Message{i18n.Msg("daemonset %s: %d of %d pods available", s.Name, st.NumberAvailable, st.DesiredNumberScheduled)}
	}
	return nil
}

// podFailures are the pods of the workload's current template (their containers'
// images are the template's: an old pod that crashed is not this update's) that
// cannot become ready: a node without the image, or a crash loop.
func (c *Cluster) podFailures(ctx context.Context, sel *metav1.LabelSelector, template corev1.PodTemplateSpec) ([]i18n.Message, error) {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	pods, err := c.core.Pods(c.NS).List(ctx, metav1.ListOptions{LabelSelector: s.String()})
	if err != nil {
		return nil, err
	}
	var out []i18n.Message
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil || !sameImages(p.Spec, template.Spec) {
			continue
		}
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			w := cs.State.Waiting
			if w == nil {
				continue
			}
			switch w.Reason {
			case "ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
				out = append(out, i18n.Msg("pod %s on node %s: %s: %s", p.Name, p.Spec.NodeName, w.Reason, w.Message))
			case "CrashLoopBackOff":
				code := "?"
				if t := cs.LastTerminationState.Terminated; t != nil {
					code = fmt.Sprint(t.ExitCode)
				}
				logs, _ := c.logs(ctx, p.Name, cs.Name, 3, true)
				logs = strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(logs), "\n", " / ")), " ")
				out = append(out, i18n.Msg("pod %s on node %s: container %s in CrashLoopBackOff (exit code %s, %d restarts); its last log lines: %s", p.Name, p.Spec.NodeName, cs.Name, code, cs.RestartCount, logs))
			}
		}
	}
	return out, nil
}

// sameImages: the pod runs the template's images.
func sameImages(pod, template corev1.PodSpec) bool {
	if len(pod.Containers) != len(template.Containers) || len(pod.InitContainers) != len(template.InitContainers) {
		return false
	}
	for i := range pod.Containers {
		if pod.Containers[i].Image != template.Containers[i].Image {
			return false
		}
	}
	for i := range pod.InitContainers {
		if pod.InitContainers[i].Image != template.InitContainers[i].Image {
			return false
		}
	}
	return true
}

// Unstick is Kubernetes' forced rollback of a StatefulSet: its controller does not
// replace a pod of a broken revision that never became Ready, even once the template
// is reverted, so the undo deletes those pods (images other than the template's, not
// Ready) and the controller makes them again from the reverted template. Nothing for
// a Deployment or a DaemonSet, which replace such pods themselves.
func (c *Cluster) Unstick(ctx context.Context, workload string) error {
	kind, name, _ := strings.Cut(workload, "/")
	if name == "" {
		kind, name = "", kind
	}
	if kind != "" && kind != "statefulset" {
		return nil
	}
	s, err := c.apps.StatefulSets(c.NS).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	if err != nil {
		return err
	}
	pods, err := c.core.Pods(c.NS).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil || sameImages(p.Spec, s.Spec.Template.Spec) || podReady(p) {
			continue
		}
		if err := c.core.Pods(c.NS).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
