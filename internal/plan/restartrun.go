package plan

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/encoo-tools/imgup/internal/ctlscript"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/i18n"
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
	p.setStop()
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

// Stop is where, and why, the restart's dry run ends with a failure: the real
// restart, run by imgup without a terminal on a machine with no registry, ends there
// too.
type Stop struct {
	// At is the command the run ended on (its script, line and words), Exit its
	// status.
	At   *ctlscript.Command `json:"at,omitempty"`
	Exit int                `json:"exit"`
	// Prompts are reads that met the end of their input; Offline the commands that
	// reached the network and failed.
	Prompts []ctlscript.Prompt  `json:"prompts,omitempty"`
	Offline []ctlscript.Command `json:"offline,omitempty"`
	// Output are the last lines the script printed: its own explanation.
	Output []string `json:"output,omitempty"`
	// Reaches names the compose call that makes containers the restart still
	// reaches; Stopped the calls that stop or remove containers with no such call
	// after them (the deployment would stay down).
	Reaches *ctlscript.Call  `json:"reaches,omitempty"`
	Stopped []ctlscript.Call `json:"stopped,omitempty"`
}

// stopVerbs are the compose subcommands that stop or remove containers.
var stopVerbs = []string{"down", "stop", "rm", "kill", "pause"}

// setStop reads the restart's dry run for where it ends: a failure is a Stop, which
// apply refuses; a network command or a prompt the restart carries on past is a note.
func (p *Plan) setStop() {
	r := p.DryRun
	if r == nil {
		return
	}
	if r.Exit == 0 || r.Stopped {
		for _, o := range r.Offline {
			p.Notes = append(p.Notes, fmt.Sprintf("%s line %d: %s reaches the network; on this machine it fails, and the restart carries on past it", o.Script, o.Line, o.String()))
		}
		for _, q := range r.Prompts {
			p.Notes = append(p.Notes, fmt.Sprintf("%s line %d asks %q; imgup restarts without a terminal, so it gets no answer, and the restart carries on past it", q.Script, q.Line, q.Text))
		}
		return
	}
	st := &Stop{At: r.ExitAt, Exit: r.Exit, Prompts: r.Prompts, Offline: r.Offline, Output: r.Output}
	for i, c := range r.Calls {
		if !c.Compose {
			continue
		}
		switch {
		case slices.Contains(startVerbs, c.Verb) && c.Verb != "run":
			st.Reaches, st.Stopped = &r.Calls[i], nil
		case slices.Contains(stopVerbs, c.Verb):
			st.Stopped = append(st.Stopped, c)
		}
	}
	p.Stop = st
}

// Refusal is the error apply gives for a plan it will not carry out as it stands;
// nil when it will.
func (p *Plan) Refusal() error {
	if p.Stop == nil {
		return nil
	}
	return &Refused{Stop: p.Stop, Command: p.RestartCommand}
}

// Refused is apply's refusal of a restart that would stop on its way: nothing was
// changed.
type Refused struct {
	Stop    *Stop
	Command string
}

func (e *Refused) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *Refused) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *Refused) err() error {
	why := i18n.Msg("exit status %d", e.Stop.Exit)
	switch {
	case len(e.Stop.Prompts) > 0:
		q := e.Stop.Prompts[len(e.Stop.Prompts)-1]
		why = i18n.Msg("it asks %q at %s line %d, and imgup restarts without a terminal", q.Text, q.Script, q.Line)
	case len(e.Stop.Offline) > 0:
		o := e.Stop.Offline[len(e.Stop.Offline)-1]
		why = i18n.Msg("%s at %s line %d needs a registry, and this machine reaches none", o.String(), o.Script, o.Line)
	}
	if e.Stop.At != nil {
		return i18n.Errorf("the restart (%s) would stop at %s line %d: %v; nothing was changed: give imgup.yaml a restart: command that asks nothing and pulls nothing, or choose --restart services", e.Command, e.Stop.At.Script, e.Stop.At.Line, why)
	}
	return i18n.Errorf("the restart (%s) would stop: %v; nothing was changed: give imgup.yaml a restart: command that asks nothing and pulls nothing, or choose --restart services", e.Command, why)
}
