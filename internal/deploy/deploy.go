package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/sysconfig"
	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v4"
)

func init() {
	// compose-go logs warnings through logrus; imgup speaks for itself.
	logrus.SetOutput(io.Discard)
}

// Deployment is what imgup found at the root an operator named.
type Deployment struct {
	Root string
	// DeployScript is the root's deploy.sh, or "" when there is none.
	DeployScript string
	Stacks       []*Stack
	// ConfigKeys maps an image name to the .systemconfig key of its version, from
	// <root>/imgup.yaml ("config-keys:").
	ConfigKeys map[string]string
	// Warnings are things an operator should know that do not stop imgup.
	Warnings []string
}

// Stack is one folder of compose files that deploy.sh starts together.
type Stack struct {
	Name  string // "console" for the root, else the folder's name
	Dir   string
	Files []*composefile.File
	// Config is the stack's .systemconfig, DotEnv its .env; nil when absent.
	Config *sysconfig.File
	DotEnv *sysconfig.File
	// Project is the compose project name deploy.sh gives (or compose's default).
	Project  string
	Services []*Service
}

// Service is a service and the image compose gives it.
type Service struct {
	Stack *Stack
	Name  string
	// Image is the scalar that holds the image (the last definition wins), nil if none.
	Image *composefile.Scalar
	// Target is the image compose reads and where its tag's characters are; nil when
	// the image does not resolve. Err says why imgup cannot edit it (Target may still
	// name the image).
	Target *composefile.Target
	Err    error
}

// ConfigFiles are the stack's config files, .systemconfig first.
func (s *Stack) ConfigFiles() []*sysconfig.File {
	var out []*sysconfig.File
	for _, f := range []*sysconfig.File{s.Config, s.DotEnv} {
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// Env is what compose interpolates with: .env, overridden by .systemconfig, which
// deploy.sh sources into its environment.
func (s *Stack) Env() map[string]string {
	env := map[string]string{}
	for _, f := range []*sysconfig.File{s.DotEnv, s.Config} {
		if f != nil {
			for k, v := range f.Env() {
				env[k] = v
			}
		}
	}
	return env
}

// FreshEnv reads .env and .systemconfig again from disk: what compose gets after an
// edit (deploy.sh sources .systemconfig when it runs).
func (s *Stack) FreshEnv() (map[string]string, error) {
	env := map[string]string{}
	for _, name := range []string{".env", ".systemconfig"} {
		b, err := os.ReadFile(filepath.Join(s.Dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		f, err := sysconfig.Parse(name, b)
		if err != nil {
			return nil, err
		}
		for k, v := range f.Env() {
			env[k] = v
		}
	}
	return env, nil
}

// VarFile returns the config file that defines variable name (.systemconfig before .env).
func (s *Stack) VarFile(name string) (*sysconfig.File, sysconfig.Entry, bool) {
	for _, f := range s.ConfigFiles() {
		if e, ok := f.Lookup(name); ok {
			return f, e, true
		}
	}
	return nil, sysconfig.Entry{}, false
}

var composeNames = []string{"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"}

// NotDeployment is returned when a folder holds no compose files.
type NotDeployment struct{ Dir string }

func (e *NotDeployment) Error() string {
	return fmt.Sprintf("%s is not a docker-compose deployment: found none of %s there or in vicode/; give the deployment root with --dir",
		e.Dir, strings.Join(composeNames, ", "))
}

// Discover reads the deployment at root.
func Discover(ctx context.Context, root string) (*Deployment, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such folder", root)
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is a file; give the deployment's folder", root)
	}
	d := &Deployment{Root: abs, ConfigKeys: map[string]string{}}
	script := readScript(filepath.Join(abs, "deploy.sh"))
	if script != nil {
		d.DeployScript = filepath.Join(abs, "deploy.sh")
	}
	if err := d.readSettings(); err != nil {
		return nil, err
	}
	dirs := []string{abs, filepath.Join(abs, "vicode")}
	for _, sub := range script.dirs() {
		p := filepath.Join(abs, sub)
		if !slices.Contains(dirs, p) && strings.HasPrefix(p, abs+string(filepath.Separator)) {
			dirs = append(dirs, p)
		}
	}
	for _, dir := range dirs {
		s, err := d.readStack(ctx, dir, script)
		if err != nil {
			return nil, err
		}
		if s != nil {
			d.Stacks = append(d.Stacks, s)
		}
	}
	if len(d.Stacks) == 0 {
		return nil, &NotDeployment{Dir: abs}
	}
	return d, nil
}

// readSettings reads <root>/imgup.yaml: config-keys: {IMAGE: KEY}.
func (d *Deployment) readSettings() error {
	p := filepath.Join(d.Root, "imgup.yaml")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var s struct {
		ConfigKeys map[string]string `yaml:"config-keys"`
	}
	if err := yaml.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %v", p, err)
	}
	for k, v := range s.ConfigKeys {
		d.ConfigKeys[k] = v
	}
	return nil
}

func (d *Deployment) readStack(ctx context.Context, dir string, script *script) (*Stack, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil // no such folder: no stack
	}
	var names []string
	for _, n := range script.files(d.Root, dir) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, n := range composeNames {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	var extra []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasPrefix(n, "docker-compose.") || strings.HasPrefix(n, "compose.")) &&
			(strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".yaml")) && !slices.Contains(names, n) {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	names = append(names, extra...)
	if len(names) == 0 {
		return nil, nil
	}
	s := &Stack{Name: filepath.Base(dir), Dir: dir}
	if dir == d.Root {
		s.Name = "console"
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		f, err := composefile.Parse(d.Rel(p), b)
		if err != nil {
			return nil, err
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
		p := filepath.Join(dir, c.name)
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		f, err := sysconfig.Parse(p, b)
		if err != nil {
			return nil, err
		}
		*c.dst = f
	}
	s.Project = script.project(d.Root, dir)
	if s.Project == "" {
		if v, ok := s.Env()["COMPOSE_PROJECT_NAME"]; ok && v != "" {
			s.Project = v
		} else {
			s.Project = normalizeProject(filepath.Base(dir))
		}
	}
	s.readServices()
	d.crossCheck(ctx, s)
	return s, nil
}

// readServices takes each service's image from the last file that sets it.
func (s *Stack) readServices() {
	byName := map[string]*Service{}
	env := s.Env()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, f := range s.Files {
		for _, def := range f.Services {
			svc, ok := byName[def.Name]
			if !ok {
				svc = &Service{Stack: s, Name: def.Name}
				byName[def.Name] = svc
				s.Services = append(s.Services, svc)
			}
			if def.Image != nil {
				svc.Image = def.Image
			}
		}
	}
	for _, svc := range s.Services {
		if svc.Image == nil {
			continue
		}
		svc.Target, svc.Err = composefile.Locate(svc.Image, lookup)
	}
}

// crossCheck loads the stack with compose-go; a service whose image compose reads
// differently from imgup is marked not editable.
func (d *Deployment) crossCheck(ctx context.Context, s *Stack) {
	var files []types.ConfigFile
	for _, f := range s.Files {
		files = append(files, types.ConfigFile{Filename: f.Path, Content: f.Data})
	}
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{WorkingDir: s.Dir, ConfigFiles: files, Environment: s.Env()},
		func(o *loader.Options) {
			o.SetProjectName(s.Project, true)
			o.SkipConsistencyCheck = true
			o.SkipResolveEnvironment = true
			o.SkipValidation = true
			o.Profiles = []string{"*"}
		})
	if err != nil {
		d.Warnings = append(d.Warnings, fmt.Sprintf("compose-go could not read the %s stack (%v); imgup checked its reading of the images against its own only", s.Name, firstLine(err.Error())))
		return
	}
	for _, svc := range s.Services {
		c, ok := p.Services[svc.Name]
		if !ok || svc.Target == nil {
			continue
		}
		if c.Image != svc.Target.Ref {
			svc.Err = fmt.Errorf("imgup reads image %q but compose reads %q; not editing it", svc.Target.Ref, c.Image)
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// Rel names a file relative to the deployment root, as messages and the plan print it.
func (d *Deployment) Rel(p string) string {
	if r, err := filepath.Rel(d.Root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

var projectChars = regexp.MustCompile(`[^a-z0-9_-]`)

// normalizeProject is compose's default project name for a folder.
func normalizeProject(n string) string {
	return projectChars.ReplaceAllString(strings.ToLower(n), "")
}
