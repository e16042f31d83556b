package target

import (
	"context"
	"os/exec"
	"strings"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Kubectl is --restart kubectl: a Kubernetes stack's manifests are applied again
// (kubectl apply -f each file, or apply -k of a kustomization, with the kubeconfig,
// context and namespace of imgup.yaml), and Kubernetes rolls each changed workload
// out by its own strategy (maxSurge, maxUnavailable; a StatefulSet's and a
// DaemonSet's updateStrategy).
const Kubectl = "kubectl"

// Helm is --restart helm: a Helm stack's release is upgraded with the operator's
// values files (helm upgrade --install RELEASE CHART -f ...), without --wait: imgup
// checks the rollout itself.
const Helm = "helm"

// kube is the kubectl and helm targets: which stacks each applies, and how.
type kube struct {
	composeLabels
	name string
}

func (k kube) Name() string { return k.name }
func (k kube) Help() i18n.Message {
	if k.name == Helm {
		return i18n.Msg("helm upgrade of a Helm release with the operator's values, rolled out by Kubernetes")
	}
	return i18n.Msg("kubectl apply -f (or -k) of a Kubernetes stack's manifests, rolled out by Kubernetes")
}

// takes says whether the target applies stack st.
func (k kube) takes(st *deploy.Stack) bool {
	return st.Kube != nil && (st.Kube.Mode == deploy.ModeHelm) == (k.name == Helm)
}

func (k kube) Command(d *deploy.Deployment) (string, error) {
	var cmds []string
	for _, st := range d.Stacks {
		if k.takes(st) {
			cmds = append(cmds, strings.Join(kubeCommand(st), " "))
		}
	}
	if len(cmds) == 0 {
		if k.name == Helm {
			return "", i18n.Errorf("--restart helm: no stack of %s is a Helm release", d.Root)
		}
		return "", i18n.Errorf("--restart kubectl: no stack of %s is Kubernetes manifests or a kustomization", d.Root)
	}
	return strings.Join(cmds, "; "), nil
}

// kubeCommand is the command that applies a Kubernetes stack's files, run in its
// folder: kubectl apply -f each manifest, kubectl apply -k ., or helm upgrade.
func kubeCommand(st *deploy.Stack) []string {
	k := st.Kube
	if k.Mode == deploy.ModeHelm {
		return append([]string{"helm", "upgrade", "--install"}, deploy.HelmArgs(st)...)
	}
	args := []string{"kubectl"}
	if k.Kubeconfig != "" {
		args = append(args, "--kubeconfig", k.Kubeconfig)
	}
	if k.Context != "" {
		args = append(args, "--context", k.Context)
	}
	args = append(args, "--namespace", k.NS(), "apply")
	if k.Mode == deploy.ModeKustomize {
		dir := "."
		if k.Kustomize != "" {
			dir = rel(st.Dir, k.Kustomize)
		}
		return append(args, "-k", dir)
	}
	for _, f := range st.FilePaths() {
		args = append(args, "-f", rel(st.Dir, f))
	}
	return args
}

func (k kube) Restart(ctx context.Context, r Run) error {
	for _, st := range r.Deployment.Stacks {
		if !k.takes(st) || len(r.Services[st.Name]) == 0 {
			continue
		}
		args := kubeCommand(st)
		r.Emit(event.Said(event.Event{Kind: event.StageStarted, Stage: "restart", Stack: st.Name}, i18n.Msg("restarting %s: %s (in %s; Kubernetes rolls each changed workload out by its strategy)", st.Name, strings.Join(args, " "), st.Dir)))
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = st.Dir
		cmd.Env = r.Environ
		if err := run(cmd, r.Emit, args[0]+" "+args[1]); err != nil {
			return err
		}
	}
	return nil
}

// AfterUndo is what an undo's restart of a Kubernetes stack needs after it, whichever
// target restarted it: a StatefulSet's pods of the broken revision are deleted
// (Kubernetes' forced rollback), or they would wait there for ever.
func AfterUndo(ctx context.Context, r Run) error {
	ro, ok := r.Engine.(rollouts)
	if !ok {
		return nil
	}
	for _, st := range r.Deployment.Stacks {
		if st.Kube == nil {
			continue
		}
		for _, svc := range r.Services[st.Name] {
			if err := ro.Unstick(ctx, svc); err != nil {
				return err
			}
		}
	}
	return nil
}

// rollouts is a cluster that can say how a workload's rollout goes (kube.Cluster).
type rollouts interface {
	Rollout(ctx context.Context, workload string) ([]i18n.Message, bool, error)
	// Unstick deletes a StatefulSet's pods of a broken revision after the undo's
	// apply (Kubernetes' forced rollback).
	Unstick(ctx context.Context, workload string) error
}

// Check is the Kubernetes API's word on a changed workload: kubectl rollout status's
// semantics, and a pod that cannot start (no image on its node, a crash loop) fails
// the update at once. It holds whoever restarted the stack (SwarmChecker).
func (kube) Check(ctx context.Context, r Run, stackName, service string) ([]i18n.Message, bool, error) {
	ro, ok := r.Engine.(rollouts)
	st := r.Deployment.Stack(stackName)
	if !ok || st == nil || st.Kube == nil {
		return nil, false, nil
	}
	return ro.Rollout(ctx, service)
}

func (k kube) Hint(d *deploy.Deployment) string {
	var cmds []string
	for _, st := range d.Stacks {
		if k.takes(st) {
			cmds = append(cmds, "cd "+shellQuote(st.Dir)+" && "+strings.Join(kubeCommand(st), " "))
		}
	}
	return strings.Join(cmds, "; ")
}

var _ Checker = kube{}
