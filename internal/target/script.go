package target

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Script is --restart deploy: the deployment's control script (./deploy.sh restart),
// or the restart: command of imgup.yaml, run in the root.
const Script = "deploy"

type script struct{ composeLabels }

func (script) Name() string { return Script }
func (script) Help() i18n.Message {
	return i18n.Msg("./deploy.sh restart, or restart: of imgup.yaml")
}

func (script) Command(d *deploy.Deployment) (string, error) {
	if d.RestartCommand == "" {
		return "", i18n.Errorf("--restart deploy: %s has no deploy.sh, and imgup.yaml names no restart: command", d.Root)
	}
	return d.RestartCommand, nil
}

func (script) Restart(ctx context.Context, r Run) error {
	d := r.Deployment
	r.Emit(event.Said(event.Event{Kind: event.StageStarted, Stage: "restart"}, i18n.Msg("restarting: %s (in %s)", r.Command, d.Root)))
	name := "restart"
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", r.Command)
	if d.DeployScript != "" && r.Command == "./"+filepath.Base(d.DeployScript)+" restart" {
		name = filepath.Base(d.DeployScript)
		cmd = exec.CommandContext(ctx, "./"+name, "restart")
		if st, err := os.Stat(d.DeployScript); err == nil && st.Mode()&0o111 == 0 {
			cmd = exec.CommandContext(ctx, "bash", "./"+name, "restart")
		}
	}
	cmd.Dir = d.Root
	cmd.Env = r.Environ
	return run(cmd, r.Emit, name)
}
