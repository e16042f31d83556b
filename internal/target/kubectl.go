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
// (kubectl apply -f each file, with the kubeconfig, context and namespace of
// imgup.yaml), and Kubernetes rolls each changed workload out by its own strategy
// (maxSurge, maxUnavailable; a StatefulSet's and a DaemonSet's updateStrategy).
const Kubectl = "kubectl"

type kubectl struct{ composeLabels }

func (kubectl) Name() string { return Kubectl }
func (kubectl) Help() i18n.Message {
	return i18n.Msg("kubectl apply -f of a Kubernetes stack's manifests, rolled out by Kubernetes")
}

func (kubectl) Command(d *deploy.Deployment) (string, error) {
	var cmds []string
	for _, st := range d.Stacks {
		if st.Kube != nil {
			cmds = append(cmds, "kubectl "+strings.Join(kubectlArgs(st), " "))
		}
	}
	if len(cmds) == 0 {
		return "", i18n.Errorf("--restart kubectl: no stack of %s is Kubernetes manifests", d.Root)
	}
	return strings.Join(cmds, "; "), nil
}

// kubectlArgs are kubectl's arguments that apply a Kubernetes stack's files.
func kubectlArgs(st *deploy.Stack) []string {
	var args []string
	if k := st.Kube; k.Kubeconfig != "" {
		args = append(args, "--kubeconfig", k.Kubeconfig)
	}
	if k := st.Kube; k.Context != "" {
		args = append(args, "--context", k.Context)
	}
	args = append(args, "--namespace", st.Kube.NS(), "apply")
	for _, f := range st.FilePaths() {
		args = append(args, "-f", rel(st.Dir, f))
	}
	return args
}

func (kubectl) Restart(ctx context.Context, r Run) error {
	for _, st := range r.Deployment.Stacks {
		if st.Kube == nil || len(r.Services[st.Name]) == 0 {
			continue
		}
		args := kubectlArgs(st)
		r.Emit(event.Said(event.Event{Kind: event.StageStarted, Stage: "restart", Stack: st.Name}, i18n.Msg("restarting %s: kubectl %s (in %s; Kubernetes rolls each changed workload out by its strategy)", st.Name, strings.Join(args, " "), st.Dir)))
		cmd := exec.CommandContext(ctx, "kubectl", args...)
		cmd.Dir = st.Dir
		cmd.Env = r.Environ
		if err := run(cmd, r.Emit, "kubectl apply"); err != nil {
			return err
		}
		if ro, ok := r.Engine.(rollouts); ok && r.Undo {
			for _, svc := range r.Services[st.Name] {
				if err := ro.Unstick(ctx, svc); err != nil {
					return err
				}
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
func (kubectl) Check(ctx context.Context, r Run, stackName, service string) ([]i18n.Message, bool, error) {
	ro, ok := r.Engine.(rollouts)
	st := r.Deployment.Stack(stackName)
	if !ok || st == nil || st.Kube == nil {
		return nil, false, nil
	}
	return ro.Rollout(ctx, service)
}

func (kubectl) Hint(d *deploy.Deployment) string {
	var cmds []string
	for _, st := range d.Stacks {
		if st.Kube != nil {
			cmds = append(cmds, "cd "+shellQuote(st.Dir)+" && kubectl "+strings.Join(kubectlArgs(st), " "))
		}
	}
	return strings.Join(cmds, "; ")
}

var _ Checker = kubectl{}
