package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/sysconfig"
)

// Discover reads the deployment at root and binds each stack to its compose project
// and files by one precedence table (docs/design.md, "Finding what runs"):
//
//	question   1st            2nd                    3rd                        4th
//	which      imgup.yaml     the restart's compose  containers made from a     the root and vicode/,
//	stacks     stacks:        calls (each folder)    folder the calls' project  with no usable call
//	files      stacks: files  the containers' labels the restart's call, as     compose's default in
//	                                                 compose resolves it        the folder
//	project    --project,     the containers' labels the swarm stack, then the  COMPOSE_PROJECT_NAME,
//	           imgup.yaml                            restart's call             the folder's name
//
// The 4th column holds only when the restart makes no compose call imgup can follow
// (or there is no control script): a wrong claim is worse than "unknown".
func Discover(ctx context.Context, root string, opt Options) (*Deployment, error) {
	d, set, err := open(root)
	if err != nil {
		return nil, err
	}
	script := d.dryRun(ctx, d.DeployScript, d.RestartCommand, opt.Environ)
	in := &inputs{
		flags:    opt.Projects,
		settings: set,
		running:  made(opt.Containers),
		swarm:    opt.Swarm,
		script:   script,
		calls:    d.resolveCalls(ctx, script, opt.Environ),
		claimed:  map[*Made]bool{},
	}
	if r := d.Restart; r != nil && r.Exit != 0 && !r.Stopped && r.ExitAt != nil {
		in.stops = true
	}
	for _, c := range in.calls {
		// A file the restart's compose would read and imgup refuses (a FIFO, a device,
		// a link out of the root) is the deployment's fault, said as for any file.
		if c.err != nil && !errors.Is(c.err, errNoComposeFile) {
			return nil, c.err
		}
	}
	in.extra = d.envFiles(set, script)
	if k := opt.Kube; k != nil || set.Kubernetes != nil {
		if k == nil {
			k = set.Kubernetes
		}
		st, err := d.kubeStack(ctx, k, opt.Environ, script.kubeCalls())
		if err != nil {
			return nil, err
		}
		d.Stacks = append(d.Stacks, st)
		return d, nil
	}
	if len(set.Stacks) == 0 && d.DeployScript == "" && !d.hasSettings && len(composeNamed(d.Root)) == 0 {
		return nil, &NotDeployment{Dir: d.Root, Found: d.foundBelow(in.running)}
	}
	for _, c := range d.candidates(in) {
		s, err := d.bind(ctx, c, in)
		if err != nil {
			return nil, err
		}
		if s != nil {
			d.Stacks = append(d.Stacks, s)
		}
	}
	if len(d.Stacks) == 0 {
		if r := d.Restart; r != nil && r.Exit != 0 && r.ExitAt != nil && len(in.calls) == 0 {
			return nil, i18n.Errorf("%s: the restart (%s) ends at %s line %d with exit status %d before it runs compose, and no compose file is in %s: say the stacks in imgup.yaml (stacks:), or fix what stops it",
				d.Root, r.Command, r.ExitAt.Script, r.ExitAt.Line, r.Exit, d.Root)
		}
		return nil, &NotDeployment{Dir: d.Root}
	}
	return d, nil
}

// open finds the deployment's settings and control script at root.
func open(root string) (*Deployment, *settings, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, i18n.Errorf("%s: no such folder", root)
		}
		return nil, nil, err
	}
	if !st.IsDir() {
		return nil, nil, i18n.Errorf("%s is a file; give the deployment's folder", root)
	}
	d := &Deployment{Root: abs, ConfigKeys: map[string]string{}}
	set, err := d.readSettings()
	if err != nil {
		return nil, nil, err
	}
	scriptPath := filepath.Join(abs, "deploy.sh")
	if set.Script != "" {
		scriptPath = filepath.Join(abs, set.Script)
		if _, err := os.Stat(scriptPath); err != nil {
			return nil, nil, i18n.Errorf("%s: script: %s: %w", d.Rel(filepath.Join(abs, "imgup.yaml")), set.Script, err)
		}
	}
	if st, err := os.Stat(scriptPath); err == nil && st.Mode().IsRegular() {
		// A script that resolves outside the root still restarts the deployment; its
		// dry run does not read it, and says so.
		d.DeployScript = scriptPath
		d.RestartCommand = "./" + filepath.Base(scriptPath) + " restart"
	} else if err == nil || set.Script != "" {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s is not a file imgup reads as a control script", d.Rel(scriptPath)))
	}
	if set.Restart != "" {
		d.RestartCommand = set.Restart
	}
	return d, set, nil
}

// inputs are the sources of the precedence table.
type inputs struct {
	flags    map[string]string
	settings *settings
	running  []*Made
	swarm    []engine.Service
	script   *script
	calls    []*composeCall
	// extra are the env files (imgup.yaml env-files:, files the script sources).
	extra []string
	// claimed are the groups of containers a stack took already.
	claimed map[*Made]bool
	// stops: the restart's dry run ends with a failure of its own.
	stops bool
}

// followed reports whether the restart makes a compose call imgup resolved and runs
// to its end: then the calls alone say which folders are stacks and with which files.
// A restart that stops on its way may not have reached every folder.
func (in *inputs) followed() bool {
	if in.stops {
		return false
	}
	for _, c := range in.calls {
		if c.err == nil {
			return true
		}
	}
	return false
}

// envFiles are imgup.yaml's env-files and the files the control script sources that
// read as KEY=VALUE.
func (d *Deployment) envFiles(set *settings, script *script) []string {
	var extra []string
	for _, f := range set.EnvFiles {
		extra = append(extra, filepath.Clean(f))
	}
	for _, f := range script.sourced() {
		if f != ".systemconfig" && f != ".env" && !strings.HasSuffix(f, "/.systemconfig") && !strings.HasSuffix(f, "/.env") && !slices.Contains(extra, f) {
			// A file the script sources gives compose variables when imgup can read it;
			// one it cannot is the dry run's note, never an error.
			if _, err := d.configFile(filepath.Join(d.Root, f)); err == nil {
				extra = append(extra, f)
			}
		}
	}
	return extra
}

// candidate is a folder that may hold a stack, with what names it so.
type candidate struct {
	dir string
	// files and project are imgup.yaml's stacks: entry.
	files   []string
	project string
	// calls are the restart's resolved compose calls whose project folder it is.
	calls []*composeCall
}

// candidates are the folders that may be stacks, in the table's order.
func (d *Deployment) candidates(in *inputs) []*candidate {
	var out []*candidate
	find := func(dir string) *candidate {
		for _, c := range out {
			if realPath(c.dir) == realPath(dir) {
				return c
			}
		}
		return nil
	}
	add := func(c *candidate) *candidate {
		if x := find(c.dir); x != nil {
			return x
		}
		out = append(out, c)
		return c
	}
	for _, s := range in.settings.Stacks {
		c := &candidate{dir: filepath.Join(d.Root, s.Dir), project: s.Project}
		for _, f := range s.Files {
			c.files = append(c.files, filepath.Join(c.dir, f))
		}
		add(c)
	}
	add(&candidate{dir: d.Root})
	add(&candidate{dir: filepath.Join(d.Root, "vicode")})
	var projects []string
	for _, call := range in.calls {
		if call.err != nil {
			continue
		}
		c := add(&candidate{dir: call.dir})
		c.calls = append(c.calls, call)
		if !slices.Contains(projects, call.project) {
			projects = append(projects, call.project)
		}
	}
	if !in.followed() {
		for _, sub := range in.script.dirs() {
			add(&candidate{dir: filepath.Join(d.Root, sub)})
		}
	}
	// Containers below the root made by a project the restart names are its stacks
	// too (the script may pick its folder at run time); another compose project
	// below the root is another deployment.
	realRoot := realPath(d.Root)
	projects = append(projects, in.script.projects()...)
	for _, g := range in.running {
		if rel, err := filepath.Rel(realRoot, g.Real); err == nil && g.Real != "" && !strings.HasPrefix(rel, "..") && slices.Contains(projects, g.Project) {
			add(&candidate{dir: filepath.Join(d.Root, rel)})
		}
	}
	return out
}

// pin is the project the operator named for a stack: --project, then imgup.yaml.
func (in *inputs) pin(c *candidate, name, rel string) (string, string) {
	for _, k := range []string{name, rel} {
		if v := in.flags[k]; v != "" {
			return v, FromFlag
		}
	}
	for _, k := range []string{name, rel} {
		if v := in.settings.Projects[k]; v != "" {
			return v, FromSettings
		}
	}
	if c.project != "" {
		return c.project, FromSettings
	}
	return "", ""
}

// restartSays is what the restart's compose calls for a folder say: the files in
// compose's order, the project, and why; the calls that make containers count
// first, the others (down, pull, run) only when none does.
type restartSays struct {
	files    []string
	project  string
	why      i18n.Message
	filesWhy i18n.Message
	exported map[string]string
}

func (c *candidate) restart() *restartSays {
	calls := c.calls
	if slices.ContainsFunc(calls, (*composeCall).makesContainers) {
		calls = slices.DeleteFunc(slices.Clone(calls), func(x *composeCall) bool { return !x.makesContainers() })
	}
	if len(calls) == 0 {
		return nil
	}
	r := &restartSays{exported: map[string]string{}}
	var names []string
	first := calls[0]
	for _, x := range calls {
		for _, f := range x.files {
			if !slices.Contains(r.files, f) {
				r.files = append(r.files, f)
			}
		}
		if !slices.Contains(names, x.project) {
			names = append(names, x.project)
		}
		for k, v := range x.exported {
			if _, ok := r.exported[k]; !ok {
				r.exported[k] = v
			}
		}
	}
	r.filesWhy = callMsg(first)
	for _, x := range calls {
		if !x.Knows("project") {
			r.why = i18n.Msg("%s line %d builds the project name or folder from the output of %s, which the dry run of %s does not run", x.Script, x.Line, x.Unknown, x.run)
			return r
		}
	}
	switch {
	case len(names) == 1:
		r.project = names[0]
		r.why = i18n.Msg("from %s (%s), as compose resolves it", first.place(), first.how)
	default:
		r.why = i18n.Msg("the restart gives compose several project names here: %s", strings.Join(names, ", "))
	}
	return r
}

// callMsg names a call's place as the reason for a list of files.
func callMsg(c *composeCall) i18n.Message {
	return i18n.Msg("%s, in compose's order", c.place())
}

// bind makes the stack of one candidate folder by the table; nil when the folder
// holds none.
func (d *Deployment) bind(ctx context.Context, c *candidate, in *inputs) (*Stack, error) {
	if st, err := os.Stat(c.dir); err != nil || !st.IsDir() {
		return nil, nil
	}
	name, rel := d.stackName(c.dir), d.Rel(c.dir)
	s := &Stack{Name: name, Dir: c.dir}
	pin, pinFrom := in.pin(c, name, rel)
	says := c.restart()
	var defaults []string
	var defaultsWhy i18n.Message
	if !in.followed() {
		defaults, defaultsWhy = folderFiles(c.dir, rel, in.script != nil && in.script.path != "")
	}
	// The containers made from this folder (or from the files it would use).
	look := c.files
	if len(look) == 0 && says != nil {
		look = says.files
	}
	if len(look) == 0 {
		look, _ = folderFiles(c.dir, rel, in.script != nil && in.script.path != "")
	}
	var mine []*Made
	for _, g := range in.running {
		if !in.claimed[g] && madeFrom(g, c.dir, look) {
			mine = append(mine, g)
		}
	}
	chosen, warns, err := choose(name, rel, mine, pin)
	if err != nil {
		return nil, err
	}
	d.Warnings = append(d.Warnings, warns...)

	// Files: imgup.yaml, the labels, the restart, compose's default.
	var files []string
	switch {
	case len(c.files) > 0:
		files = c.files
		s.filesBecause(i18n.Msg("imgup.yaml"))
	case chosen != nil && len(chosen.Files) > 0 && len(existing(chosen.Files)) == len(chosen.Files):
		for _, f := range chosen.Files {
			files = append(files, d.inRoot(f))
		}
		s.filesBecause(i18n.Msg("the labels of its containers"))
	case says != nil && len(says.files) > 0:
		files = says.files
		s.filesBecause(says.filesWhy)
	case len(defaults) > 0:
		files = defaults
		s.filesBecause(defaultsWhy)
	}
	if chosen != nil && len(chosen.Files) > 0 && len(existing(chosen.Files)) != len(chosen.Files) {
		d.Warnings = append(d.Warnings, fmt.Sprintf("the %s stack's containers were made from %s, which is no longer there; imgup reads %s instead",
			name, strings.Join(chosen.Files, ", "), filesText(d, files)))
	}
	if len(files) == 0 {
		return nil, nil
	}
	for _, g := range mine {
		in.claimed[g] = true
	}
	s.Made = chosen
	if says != nil {
		s.Exported = says.exported
		if len(s.Exported) > 0 {
			s.read = d.scriptReads(in.script)
		}
	}
	if err := d.read(s, files, in.extra); err != nil {
		return nil, err
	}

	// Project: the operator, the labels, the swarm, the restart, compose's default.
	ns, nsWhy := "", ""
	if chosen == nil {
		if ns, nsWhy, err = s.swarmStack(in.swarm, pin); err != nil {
			return nil, err
		}
	}
	switch {
	case ns != "":
		s.Project, s.ProjectFrom, s.Swarm = ns, FromSwarm, true
		for _, svc := range in.swarm {
			if svc.Labels[engine.LabelStack] == ns {
				s.SwarmServices = append(s.SwarmServices, svc)
			}
		}
		s.because(i18n.Msg("the swarm stack %s (%s)", ns, nsWhy))
	case pin != "":
		s.Project, s.ProjectFrom = normalizeProject(pin), pinFrom
		s.because(i18n.Msg("from %s", pinFrom))
	case chosen != nil:
		s.Project, s.ProjectFrom = chosen.Project, FromLabels
		s.because(i18n.Msg("from the labels of its %d container(s)", chosen.Total))
	case says != nil && says.project != "":
		s.Project, s.ProjectFrom = says.project, FromScript
		s.because(says.why)
	case says != nil:
		s.ProjectFrom = FromUnknown
		s.because(says.why)
	default:
		s.bindDefault(d, in, rel)
	}
	s.readServices()
	d.crossCheck(ctx, s)
	return s, nil
}

// bindDefault names the project of a stack the restart makes no call for: unknown
// when the restart runs compose in ways imgup cannot follow here, else compose's own
// default (COMPOSE_PROJECT_NAME, the folder's name).
func (s *Stack) bindDefault(d *Deployment, in *inputs, rel string) {
	if why := in.script.unknownProject(); why.Format != "" {
		s.ProjectFrom = FromUnknown
		s.because(why)
		return
	}
	if r := d.Restart; r != nil && r.Exit != 0 && !r.Stopped && len(in.script.calls()) == 0 {
		// The restart stops before its compose calls: what they would name is not known.
		at := ""
		if r.ExitAt != nil {
			at = fmt.Sprintf("%s:%d", r.ExitAt.Script, r.ExitAt.Line)
		}
		s.ProjectFrom = FromUnknown
		s.because(i18n.Msg("the restart stops (%s) before it runs compose, and no container runs yet; say it with --project %s=NAME", at, s.Name))
		return
	}
	if v := s.Env()["COMPOSE_PROJECT_NAME"]; v != "" && len(v) <= maxProjectName {
		s.Project, s.ProjectFrom = normalizeProject(v), FromDotEnv
		s.because(i18n.Msg("from COMPOSE_PROJECT_NAME"))
		return
	}
	if in.script != nil && len(in.script.calls()) > 0 {
		s.ProjectFrom = FromUnknown
		s.because(i18n.Msg("no container runs yet and %s runs compose in no way imgup can follow for %s; say it with --project %s=NAME", filepath.Base(in.script.path), rel, s.Name))
		return
	}
	s.Project, s.ProjectFrom = normalizeProject(filepath.Base(s.Dir)), FromDefault
	s.because(i18n.Msg("compose's default, the folder's name: no container runs yet and nothing names another"))
}

// because says where the stack's project came from, or why it is unknown.
func (s *Stack) because(m i18n.Message) { s.WhyMsg, s.ProjectWhy = m, m.String() }

// filesBecause says where the stack's list of files came from.
func (s *Stack) filesBecause(m i18n.Message) { s.FilesMsg, s.FilesFrom = m, m.String() }

// read reads a stack's compose files and its config files.
func (d *Deployment) read(s *Stack, files, extra []string) error {
	if err := d.inside(s.Dir); err != nil {
		return err
	}
	for _, p := range files {
		b, err := d.readFile(p)
		if err != nil {
			return err
		}
		f, err := composefile.Parse(d.Rel(p), b)
		if err != nil {
			return err
		}
		f.Path = p
		for _, def := range f.Services {
			if def.Image != nil {
				def.Image.File = p
			}
		}
		s.Files = append(s.Files, f)
	}
	for _, c := range []struct {
		name string
		dst  **sysconfig.File
	}{{".systemconfig", &s.Config}, {".env", &s.DotEnv}} {
		f, err := d.configFile(filepath.Join(s.Dir, c.name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		*c.dst = f
	}
	for _, x := range extra {
		p := filepath.Join(d.Root, x)
		f, err := d.configFile(p)
		if err != nil {
			return i18n.Errorf("%s: %w", d.Rel(p), err)
		}
		s.Extra = append(s.Extra, f)
	}
	return nil
}

// composeDefault is compose's default file in dir and the override beside it (compose
// v2's order), never every docker-compose*.yml.
func composeDefault(dir string) []string {
	return defaultIn(dir, cli.DefaultFileNames, cli.DefaultOverrideFileNames)
}

// folderFiles are the compose files of a folder no restart call names. With no
// control script: compose's default; where it finds none, the folder's compose files
// (docker-compose*.yml, compose*.yaml), which the operator started with -f and imgup's
// own restart names. With a control script whose restart imgup could not follow to
// its compose calls: every compose file of the folder, compose's default first, said
// as such (the script names its files with -f in calls imgup did not see).
func folderFiles(dir, rel string, script bool) ([]string, i18n.Message) {
	def := composeDefault(dir)
	if script {
		all := def
		for _, f := range composeNamed(dir) {
			if !slices.Contains(all, f) {
				all = append(all, f)
			}
		}
		if len(all) > 0 {
			return all, i18n.Msg("the folder's compose files: the restart's compose calls could not be followed here")
		}
		return nil, i18n.Message{}
	}
	if len(def) > 0 {
		if rel == "." {
			return def, i18n.Msg("compose's default in the deployment root")
		}
		return def, i18n.Msg("compose's default in %s", rel)
	}
	if f := composeNamed(dir); len(f) > 0 {
		return f, i18n.Msg("the folder's compose files: compose's default finds none there")
	}
	return nil, i18n.Message{}
}

// composeNamed are a folder's files named like compose files, sorted.
func composeNamed(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && composeName(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

// scriptReads are the files the control script read during its dry runs (at most
// 64, each through the deployment's reader).
func (d *Deployment) scriptReads(sc *script) []readFile {
	if sc == nil {
		return nil
	}
	var out []readFile
	seen := map[string]bool{}
	for _, r := range sc.runs {
		for _, rel := range r.Scripts {
			seen[d.abs(rel)] = true
		}
	}
	for _, r := range sc.runs {
		for _, rel := range r.Read {
			p := d.abs(rel)
			if seen[p] || len(out) >= 64 || p == sc.path {
				continue
			}
			seen[p] = true
			// A script is code, not a place a value is written.
			if b, err := d.readFile(p); err == nil && !bytes.HasPrefix(b, []byte("#!")) {
				out = append(out, readFile{path: p, data: b})
			}
		}
	}
	return out
}
