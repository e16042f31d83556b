package deploy

import (
	"context"
	"path/filepath"
	"slices"

	"github.com/encoo-tools/imgup/internal/ctlscript"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// script is what imgup learns of a control script (deploy.sh, or the one imgup.yaml
// names) by dry-running it with a real shell parser and interpreter: the compose
// calls it makes, in which folder, with which files and which project name. imgup
// uses it to bind stacks no container was made from yet, to find the folders the
// deployment reaches, and to show in the plan what the restart will run.
type script struct {
	path string
	// runs are the dry runs: the restart first, then (when it runs no compose) the
	// entries that start the deployment.
	runs []*ctlscript.Result
}

// dryRun dry-runs the restart command in root; when it runs no compose, it dry-runs
// the script's start and up entries too, for discovery.
func (d *Deployment) dryRun(ctx context.Context, scriptPath, restart string, environ []string) *script {
	s := &script{path: scriptPath}
	run := func(command string) *ctlscript.Result {
		return ctlscript.DryRun(ctx, ctlscript.Options{Root: d.Root, Command: command, Environ: environ, ReadFile: d.readFile})
	}
	if restart != "" {
		d.Restart = run(restart)
		s.runs = append(s.runs, d.Restart)
	}
	if scriptPath != "" && !s.composes() && (d.Restart == nil || !d.Restart.Stopped) {
		for _, entry := range []string{"start", "up"} {
			s.runs = append(s.runs, run("./"+ctlscript.Quote(filepath.Base(scriptPath))+" "+entry))
			if s.composes() {
				break
			}
		}
	}
	return s
}

// composes reports whether a dry run saw a compose call.
func (s *script) composes() bool {
	for _, c := range s.calls() {
		if c.Compose {
			return true
		}
	}
	return false
}

// kubeCalls are the kubectl and helm calls that deploy, of every dry run.
func (s *script) kubeCalls() []ctlscript.KubeCall {
	if s == nil {
		return nil
	}
	var out []ctlscript.KubeCall
	for _, r := range s.runs {
		out = append(out, r.Kube...)
	}
	return out
}

// calls are the compose calls of every dry run.
func (s *script) calls() []ctlscript.Call {
	if s == nil {
		return nil
	}
	var out []ctlscript.Call
	for _, r := range s.runs {
		for _, c := range r.Calls {
			if c.Compose {
				out = append(out, c)
			}
		}
	}
	return out
}

// sourced are the files (relative to the root) the script sources.
func (s *script) sourced() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, r := range s.runs {
		for _, f := range r.Sourced {
			if !slices.Contains(out, f) && !filepath.IsAbs(f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// dirs are the relative folders the script runs compose in, changes into, or takes
// compose files from: the folders it reaches.
func (s *script) dirs() []string {
	if s == nil {
		return nil
	}
	var out []string
	add := func(d string) {
		if d != "" && d != "." && !filepath.IsAbs(d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	for _, c := range s.calls() {
		if !c.Knows("dir") || !c.Knows("files") {
			continue
		}
		add(c.ProjectDir)
		for _, f := range c.Files {
			add(filepath.Dir(f))
		}
	}
	for _, r := range s.runs {
		for _, d := range r.Dirs {
			add(d)
		}
	}
	return out
}

// unknownProject says why the project is not known when a compose call builds its
// project name or folder from the output of a command the dry run does not run.
func (s *script) unknownProject() i18n.Message {
	if s == nil {
		return i18n.Message{}
	}
	for _, r := range s.runs {
		for _, c := range r.Calls {
			if c.Compose && (!c.Knows("project") || !c.Knows("dir")) {
				return i18n.Msg("%s line %d builds the project name or folder from the output of %s, which the dry run of %s does not run", c.Script, c.Line, c.Unknown, r.Command)
			}
		}
	}
	return i18n.Message{}
}

// projects are the project names the script's compose calls give, normalised: the
// running containers of these projects are the script's, wherever below the root they
// were made.
func (s *script) projects() []string {
	var out []string
	for _, c := range s.calls() {
		if c.Project != "" && c.Knows("project") && len(c.Project) <= maxProjectName {
			if n := normalizeProject(c.Project); !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// maxProjectName bounds a project name imgup passes on: compose's own are short.
const maxProjectName = 255
