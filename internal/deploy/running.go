package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"

	"github.com/encoo-tools/imgup/internal/engine"
)

// Made is one compose project's containers made from one folder, as their labels say:
// what runs answers "which containers are this stack's", never a guess.
type Made struct {
	Project string
	// WorkingDir is the working_dir label; Real is it after symlinks.
	WorkingDir, Real string
	// Files are the config_files label's files, absolute (compose v1 writes them
	// relative to the working folder, v2 absolute).
	Files []string
	// Version is the compose version that made them (com.docker.compose.version).
	Version string
	// Running and Total count the containers (one-off containers excluded).
	Running, Total int
	Services       []string
}

// Where a stack's compose project name came from.
const (
	FromLabels   = "labels"     // the labels of the containers made from the stack
	FromFlag     = "--project"  // the operator's flag
	FromSettings = "imgup.yaml" // projects: or stacks: in imgup.yaml
	FromScript   = "script"     // the control script, dry-run in the shell interpreter
	FromDotEnv   = "env"        // COMPOSE_PROJECT_NAME in .env or .systemconfig
	FromDefault  = "default"    // compose's default: the folder's name
	FromUnknown  = "unknown"    // nothing tells: said in the plan
	FromSwarm    = "swarm"      // the swarm stack whose services are the stack's
)

// made groups the engine's compose containers by project and working folder.
func made(cs []engine.Container) []*Made {
	var out []*Made
	byKey := map[string]*Made{}
	for _, c := range cs {
		l := c.Labels
		if l[engine.LabelProject] == "" || l[engine.LabelService] == "" || l[engine.LabelOneoff] == "True" {
			continue
		}
		wd := l[engine.LabelWorkingDir]
		key := l[engine.LabelProject] + "\x00" + wd
		m := byKey[key]
		if m == nil {
			m = &Made{Project: l[engine.LabelProject], WorkingDir: wd, Real: realPath(wd), Version: l[engine.LabelVersion]}
			for _, f := range strings.Split(l[engine.LabelConfig], ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				if !filepath.IsAbs(f) {
					f = filepath.Join(wd, f)
				}
				m.Files = append(m.Files, filepath.Clean(f))
			}
			byKey[key] = m
			out = append(out, m)
		}
		m.Total++
		if c.State == "running" || c.State == "restarting" {
			m.Running++
		}
		if s := l[engine.LabelService]; !slices.Contains(m.Services, s) {
			m.Services = append(m.Services, s)
		}
	}
	return out
}

type realAnswer struct {
	path string
	at   time.Time
}

var (
	realMu    sync.Mutex
	realCache = map[string]realAnswer{}
)

// realPath is p after symlinks; for a missing file, its folder's real path and its
// name; p itself when neither resolves. Answers are
// kept for a few seconds: verification asks for every container every second.
func realPath(p string) string {
	if p == "" {
		return ""
	}
	realMu.Lock()
	defer realMu.Unlock()
	now := time.Now()
	if r, ok := realCache[p]; ok && now.Sub(r.at) < 5*time.Second {
		return r.path
	}
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		// A file that does not exist (yet): its folder after symlinks.
		if dir, derr := filepath.EvalSymlinks(filepath.Dir(p)); derr == nil {
			r = filepath.Join(dir, filepath.Base(p))
		} else {
			r = filepath.Clean(p)
		}
	}
	if len(realCache) > 4096 {
		clear(realCache)
	}
	realCache[p] = realAnswer{r, now}
	return r
}

// madeFrom reports whether m's containers were made from the stack in dir with files:
// the same folder after symlinks, or one of the same compose files.
func madeFrom(m *Made, dir string, files []string) bool {
	if m.Real != "" && m.Real == realPath(dir) {
		return true
	}
	for _, f := range m.Files {
		rf := realPath(f)
		for _, g := range files {
			if rf == realPath(g) {
				return true
			}
		}
	}
	return false
}

// existing keeps the files that exist.
func existing(files []string) []string {
	var out []string
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			out = append(out, f)
		}
	}
	return out
}

// AmbiguousProject is returned when containers of several compose projects were made
// from one stack and none of them, or more than one, runs.
type AmbiguousProject struct {
	Stack, Dir string
	Candidates []*Made
}

func (e *AmbiguousProject) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *AmbiguousProject) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *AmbiguousProject) err() error {
	var c []string
	for _, m := range e.Candidates {
		c = append(c, fmt.Sprintf("%s (%d of %d containers running)", m.Project, m.Running, m.Total))
	}
	return i18n.Errorf("%s: containers of %d compose projects were made from the %s stack: %s; say which is the deployment's with --project %s=NAME (or projects: {%s: NAME} in imgup.yaml)",
		e.Dir, len(e.Candidates), e.Stack, strings.Join(c, ", "), e.Stack, e.Stack)
}

// choose picks the project of a stack among the groups made from it: a pinned name
// first, else the only one, else the only one whose containers run.
func choose(stack, dir string, groups []*Made, pin string) (*Made, []string, error) {
	if pin != "" {
		for _, m := range groups {
			if m.Project == pin {
				return m, nil, nil
			}
		}
		return nil, nil, nil
	}
	switch len(groups) {
	case 0:
		return nil, nil, nil
	case 1:
		return groups[0], nil, nil
	}
	var running []*Made
	for _, m := range groups {
		if m.Running > 0 {
			running = append(running, m)
		}
	}
	if len(running) == 1 {
		var others []string
		for _, m := range groups {
			if m != running[0] {
				others = append(others, m.Project)
			}
		}
		sort.Strings(others)
		return running[0], []string{fmt.Sprintf("the %s stack: containers of compose project(s) %s were also made from %s, but only those of %s run; imgup takes %s (say otherwise with --project %s=NAME)",
			stack, strings.Join(others, ", "), dir, running[0].Project, running[0].Project, stack)}, nil
	}
	sorted := append([]*Made{}, groups...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Project < sorted[j].Project })
	return nil, nil, &AmbiguousProject{Stack: stack, Dir: dir, Candidates: sorted}
}

// Owns reports whether c is one of this stack's service containers: made by compose
// for a service of the stack, in the stack's project (or, while the project is not
// known, from the stack's folder or files), and not a one-off `run` container.
func (s *Stack) Owns(c engine.Container) bool {
	if s.Kube != nil {
		return s.ownsKube(c)
	}
	if s.Swarm {
		return c.Labels[engine.LabelStack] == s.Project && c.Labels[engine.LabelSwarmSvc] != "" && s.Service(c.Service()) != nil
	}
	l := c.Labels
	if l[engine.LabelOneoff] == "True" || l[engine.LabelService] == "" || s.Service(l[engine.LabelService]) == nil {
		return false
	}
	if s.Project != "" && l[engine.LabelProject] != s.Project {
		return false
	}
	g := made([]engine.Container{c})
	return len(g) == 1 && madeFrom(g[0], s.Dir, s.FilePaths())
}

// Containers are the stack's containers of service (every service when "").
func (s *Stack) Containers(cs []engine.Container, service string) []engine.Container {
	var out []engine.Container
	for _, c := range cs {
		if s.Owns(c) && (service == "" || c.Service() == service) {
			out = append(out, c)
		}
	}
	return out
}

// Container is the first container of the stack's service, or nil.
func (s *Stack) Container(cs []engine.Container, service string) *engine.Container {
	if c := s.Containers(cs, service); len(c) > 0 {
		return &c[0]
	}
	return nil
}

// Service is the stack's service of that name, or nil.
func (s *Stack) Service(name string) *Service {
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	return nil
}

// FilePaths are the stack's compose files, absolute, in compose's order.
func (s *Stack) FilePaths() []string {
	var out []string
	for _, f := range s.Files {
		out = append(out, f.Path)
	}
	return out
}

// Stack is the stack of that name, or nil.
func (d *Deployment) Stack(name string) *Stack {
	for _, s := range d.Stacks {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ContainersOf are the containers of a stack's service; none when there is no such stack.
func (d *Deployment) ContainersOf(cs []engine.Container, stack, service string) []engine.Container {
	if s := d.Stack(stack); s != nil {
		return s.Containers(cs, service)
	}
	return nil
}

// ProjectText says a stack's project and where it came from, as the plan prints it.
func (s *Stack) ProjectText() string {
	if s.Project == "" {
		return "unknown (" + s.ProjectWhy + ")"
	}
	return s.Project + " (" + s.ProjectWhy + ")"
}
