package target

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Services is --restart services: compose recreates only the updated services'
// containers, one stack at a time, as their containers were made.
const Services = "services"

// ServicesCommand is what the plan shows for it.
const ServicesCommand = "compose up -d --no-deps of the updated services only, one stack at a time (the project, files and folder their containers were made with)"

type services struct{ composeLabels }

func (services) Name() string { return Services }
func (services) Help() i18n.Message {
	return i18n.Msg("recreate only the updated services' containers, as their labels say they were made")
}
func (services) Command(d *deploy.Deployment) (string, error) {
	for _, st := range d.Stacks {
		if st.Swarm {
			return "", i18n.Errorf("--restart services: the %s stack runs on a swarm (stack %s), which compose cannot update; use --restart stack", st.Name, st.Project)
		}
	}
	return ServicesCommand, nil
}

func (services) Restart(ctx context.Context, r Run) error {
	emit := r.Emit
	for _, st := range r.Deployment.Stacks {
		svcs := slices.Clone(r.Services[st.Name])
		if len(svcs) == 0 {
			continue
		}
		slices.Sort(svcs)
		svcs = slices.Compact(svcs)
		how, err := composeFor(ctx, st)
		if err != nil {
			return err
		}
		args := append([]string{}, how.command[1:]...)
		args = append(args, "-p", how.project)
		for _, f := range how.files {
			args = append(args, "-f", f)
		}
		args = append(args, "up", "-d", "--no-deps", "--no-build")
		if how.v2 {
			args = append(args, "--pull", "never")
		}
		args = append(args, svcs...)
		emit(event.Said(event.Event{Kind: event.StageStarted, Stage: "restart", Stack: st.Name}, i18n.Msg("restarting %s: %s %s (in %s; %s)", st.Name, how.command[0], strings.Join(args, " "), how.dir, how.why)))
		cmd := exec.CommandContext(ctx, how.command[0], args...)
		cmd.Dir = how.dir
		env, err := stackEnv(r, st)
		if err != nil {
			return err
		}
		cmd.Env = env
		if err := run(cmd, emit, filepath.Base(how.command[len(how.command)-1])); err != nil {
			return err
		}
	}
	return nil
}
