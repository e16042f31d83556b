package target

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Stack is --restart stack: a swarm stack is deployed again from its edited compose
// files (docker stack deploy --resolve-image never: the images are on the nodes, and
// there is no registry to ask), and swarm rolls each changed service out by its
// update_config (order, parallelism, failure_action).
const Stack = "stack"

type stack struct{ composeLabels }

func (stack) Name() string { return Stack }
func (stack) Help() i18n.Message {
	return i18n.Msg("docker stack deploy --resolve-image never for a swarm stack, rolled out by swarm")
}

func (stack) Command(d *deploy.Deployment) (string, error) {
	var cmds []string
	for _, st := range d.Stacks {
		if st.Swarm {
			cmds = append(cmds, "docker "+strings.Join(stackArgs(st), " "))
		}
	}
	if len(cmds) == 0 {
		return "", i18n.Errorf("--restart stack: no stack of %s runs on a swarm", d.Root)
	}
	return strings.Join(cmds, "; "), nil
}

// stackArgs are docker's arguments that deploy a swarm stack from its files.
func stackArgs(st *deploy.Stack) []string {
	args := []string{"stack", "deploy", "--resolve-image", "never"}
	for _, f := range st.FilePaths() {
		rel, err := filepath.Rel(st.Dir, f)
		if err != nil {
			rel = f
		}
		args = append(args, "-c", rel)
	}
	return append(args, st.Project)
}

func (stack) Restart(ctx context.Context, r Run) error {
	for _, st := range r.Deployment.Stacks {
		if !st.Swarm || len(r.Services[st.Name]) == 0 {
			continue
		}
		args := stackArgs(st)
		r.Emit(event.Said(event.Event{Kind: event.StageStarted, Stage: "restart", Stack: st.Name}, i18n.Msg("restarting %s: docker %s (in %s; swarm rolls each changed service out by its update_config)", st.Name, strings.Join(args, " "), st.Dir)))
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Dir = st.Dir
		env, err := stackEnv(r, st)
		if err != nil {
			return err
		}
		cmd.Env = env
		if err := run(cmd, r.Emit, "docker stack deploy"); err != nil {
			return err
		}
	}
	return nil
}

// Check is what swarm says of a changed service beyond its containers: how many of
// its tasks run against how many are wanted, a task a node refused or failed since
// the restart (with its node, its exit code or the node's error, and its container's
// last log lines, read on that node's engine), and an update swarm paused or rolled
// back. failed says the update cannot succeed any more: verification ends at once.
// It holds for a swarm stack whoever restarted it (SwarmChecker).
func (stack) Check(ctx context.Context, r Run, stackName, service string) (problems []i18n.Message, failed bool, err error) {
	sw, ok := r.Engine.(engine.Swarm)
	st := r.Deployment.Stack(stackName)
	if !ok || st == nil || !st.Swarm {
		return nil, false, nil
	}
	svcs, err := sw.Services(ctx, st.Project)
	if err != nil {
		return nil, false, err
	}
	var svc *engine.Service
	for i := range svcs {
		if svcs[i].Name == st.Project+"_"+service {
			svc = &svcs[i]
		}
	}
	if svc == nil {
		return []i18n.Message{i18n.Msg("the swarm has no service %s_%s", st.Project, service)}, false, nil
	}
	tasks, err := sw.Tasks(ctx, svc.ID)
	if err != nil {
		return nil, false, err
	}
	var nodes []engine.Node
	host := func(id string) string {
		if nodes == nil {
			nodes, _ = sw.Nodes(ctx) // only to name the node of a failed task
		}
		for _, n := range nodes {
			if n.ID == id {
				return n.Hostname
			}
		}
		return id
	}
	running, failures := 0, 0
	var failedTasks []i18n.Message
	for _, t := range tasks {
		if t.DesiredState == "running" && t.State == "running" {
			running++
		}
		if t.Timestamp.Before(r.Started) || (t.State != "rejected" && t.State != "failed") {
			continue
		}
		failures++
		failedTasks = append(failedTasks, TaskFailure(ctx, r.Engine, t, host(t.NodeID)))
		// A node that refuses the task (no such image) will not change its mind;
		// tasks that keep failing are a crash loop, as for a container.
		failed = failed || t.State == "rejected" || failures >= crashLoop
	}
	state := svc.UpdateState
	if r.Undo && state == "rollback_completed" {
		state = "" // swarm put the old spec back itself: what the undo wants
	}
	switch state {
	case "paused", "rollback_started", "rollback_paused", "rollback_completed":
		// The failed task says why swarm gave up: the newest one is enough.
		m := i18n.Msg("swarm's update of %s is %s: %s", svc.Name, svc.UpdateState, svc.UpdateMessage)
		if len(failedTasks) > 0 {
			m = i18n.Msg("swarm's update of %s is %s (%s); %s", svc.Name, svc.UpdateState, svc.UpdateMessage, failedTasks[len(failedTasks)-1])
		}
		return []i18n.Message{m}, true, nil
	}
	problems = append(problems, failedTasks...)
	if svc.Replicas >= 0 && running != svc.Replicas {
		problems = append(problems, i18n.Msg("%d of %d replicas of %s run", running, svc.Replicas, svc.Name))
	}
	return problems, failed, nil
}

// TaskFailure says why a task failed: its node, its exit code or the node's error,
// and the last lines its container wrote (asked of the engines that speak for the
// nodes: a cluster asks the task's node).
func TaskFailure(ctx context.Context, eng engine.Client, t engine.Task, node string) i18n.Message {
	why := t.Err
	if t.State == "failed" && t.ContainerID != "" {
		why = fmt.Sprintf("exit code %d (%s)", t.ExitCode, t.Err)
	}
	logs := ""
	if t.ContainerID != "" && eng != nil {
		if out, err := nodeLogs(ctx, eng, node, t.ContainerID); err == nil && strings.TrimSpace(out) != "" {
			logs = strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(out), "\n", " / ")), " ")
		}
	}
	if logs != "" {
		return i18n.Msg("task %s of %s on node %s %s: %s; its last log lines: %s", engine.ShortID(t.ID), t.Image, node, t.State, why, logs)
	}
	return i18n.Msg("task %s of %s on node %s %s: %s", engine.ShortID(t.ID), t.Image, node, t.State, why)
}

// nodeLogs reads a task container's last lines on its node's engine.
func nodeLogs(ctx context.Context, eng engine.Client, node, id string) (string, error) {
	if cl, ok := eng.(*engine.Cluster); ok {
		if m, ok := cl.Member(node); ok {
			return m.Client.Logs(ctx, id, 3)
		}
	}
	return eng.Logs(ctx, id, 3)
}

// SwarmChecker is the swarm's own word on a service of d's stack, whichever target
// restarted it (deploy.sh, restart:, or the stack target): verification is by what
// runs, not by who restarted it. nil off a swarm.
func SwarmChecker(d *deploy.Deployment, stackName string) Checker {
	if st := d.Stack(stackName); st != nil && st.Swarm {
		return stack{}
	}
	if st := d.Stack(stackName); st != nil && st.Kube != nil {
		return kube{name: Kubectl} // the same for a Kubernetes stack: the API's word on its rollout
	}
	return nil
}

// crashLoop is how many failed tasks since the restart make a crash loop.
const crashLoop = 3

// Checker is a target with more to verify than containers: what a swarm says of its
// services.
type Checker interface {
	Check(ctx context.Context, r Run, stack, service string) (problems []i18n.Message, failed bool, err error)
}

var _ Checker = stack{}
