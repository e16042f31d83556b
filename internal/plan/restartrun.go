package plan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/encoo-tools/imgup/internal/ctlscript"
	"github.com/encoo-tools/imgup/internal/deploy"
)

// startVerbs are the compose subcommands that create or start containers.
var startVerbs = []string{"up", "start", "restart", "create", "run"}

// setDryRun puts the restart command's dry run into the plan, and finds the calls
// that would start a compose project other than the one the running containers were
// made by: a second copy of the stack beside the running one.
func (p *Plan) setDryRun(d *deploy.Deployment) {
	if d.Restart == nil || p.Restart != RestartDeploy || p.RestartCommand != d.Restart.Command {
		return
	}
	p.DryRun = d.Restart
	for _, c := range d.Restart.Calls {
		if !c.Compose || !slices.Contains(startVerbs, c.Verb) || c.Project == "" || !c.Knows("project") || !c.Knows("dir") {
			continue
		}
		st := stackIn(d, c.ProjectDir)
		if st == nil || st.Made == nil {
			continue
		}
		running := st.Made.Project
		if st.ProjectFrom == deploy.FromFlag {
			running = st.Project
		}
		if want := deploy.NormalizeProject(c.Project); want != running {
			p.Conflicts = append(p.Conflicts, fmt.Sprintf("%s would start compose project %s from %s in %s, but the running containers of the %s stack were made by project %s: the restart would make a second copy of the stack beside the running one",
				p.RestartCommand, want, filesOr(c), c.ProjectDir, st.Name, running))
		}
	}
}

func filesOr(c ctlscript.Call) string {
	if len(c.Files) == 0 {
		return "its default files"
	}
	return strings.Join(c.Files, ", ")
}

// stackIn is the stack whose folder is dir (relative to the root).
func stackIn(d *deploy.Deployment, dir string) *deploy.Stack {
	for _, st := range d.Stacks {
		if filepath.Clean(d.Rel(st.Dir)) == filepath.Clean(dir) || (dir == "." && st.Dir == d.Root) {
			return st
		}
	}
	return nil
}
