package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/ctlscript"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/readfile"
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
	// DeployScript is the control script imgup reads (deploy.sh, or script: in
	// imgup.yaml), or "" when there is none.
	DeployScript string
	// RestartCommand is the shell command that restarts the deployment, run in Root:
	// restart: in imgup.yaml, else ./deploy.sh restart; "" when there is none.
	RestartCommand string
	Stacks         []*Stack
	// ConfigKeys maps an image name to the .systemconfig key of its version, from
	// <root>/imgup.yaml ("config-keys:").
	ConfigKeys map[string]string
	// Restart is what the restart command does, dry-run in the shell interpreter
	// (nil when there is no restart command).
	Restart *ctlscript.Result
	// Warnings are things an operator should know that do not stop imgup.
	Warnings []string
	// configs are the config files read during discovery, by path.
	configs map[string]*sysconfig.File
	// hasSettings: the root holds imgup.yaml.
	hasSettings bool
}

// Stack is one compose project of the deployment: a folder and the compose files
// compose reads there.
type Stack struct {
	Name  string // "console" for the root, else the folder's path under the root
	Dir   string
	Files []*composefile.File
	// FilesFrom says where the list of files came from (FilesMsg, in English).
	FilesFrom string
	FilesMsg  i18n.Message
	// Config is the stack's .systemconfig, DotEnv its .env; nil when absent. Extra are
	// further files variables come from (env-files: in imgup.yaml, files the control
	// script sources), KEY=VALUE or export KEY=VALUE.
	Config *sysconfig.File
	DotEnv *sysconfig.File
	Extra  []*sysconfig.File
	// Exported are the variables the control script exports to compose for this
	// stack (its restart's calls): compose interpolates with them over the files'.
	Exported map[string]string
	// read are the files the control script read, where an exported value it
	// computed may be written.
	read []readFile
	// Project is the compose project name, "" when nothing tells it; ProjectFrom is
	// one of the From constants and ProjectWhy says it for the operator.
	Project     string
	ProjectFrom string
	ProjectWhy  string
	// WhyMsg is ProjectWhy as a message, for the operator's language.
	WhyMsg i18n.Message
	// Made is how compose made the stack's containers, from their labels; nil when
	// none exists.
	Made     *Made
	Services []*Service
	// Swarm: the stack runs on Docker Swarm (docker stack deploy), and Project is the
	// stack's name (com.docker.stack.namespace); SwarmServices are its services as
	// the manager lists them.
	Swarm         bool
	SwarmServices []engine.Service
	// Kube: the stack is the root's Kubernetes manifests (kubectl apply -f), on this
	// cluster; Project is its namespace and each service a workload.
	Kube *Kube
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
	// Also are the service's further scalars of the same image (a Kubernetes
	// workload's other containers and init containers): each gets the same edit.
	Also []Also
	// Containers are, for a Kubernetes workload, its pod's containers that run this
	// image: those verification checks (a sidecar of another image is not updated).
	Containers []string
}

// Also is one more scalar of a service's image, and where its tag is.
type Also struct {
	Image  *composefile.Scalar
	Target *composefile.Target
}

// ConfigFiles are the stack's config files: .systemconfig, the extra files, .env.
func (s *Stack) ConfigFiles() []*sysconfig.File {
	var out []*sysconfig.File
	if s.Config != nil {
		out = append(out, s.Config)
	}
	out = append(out, s.Extra...)
	if s.DotEnv != nil {
		out = append(out, s.DotEnv)
	}
	return out
}

// Env is what compose interpolates with: .env, overridden by the extra files and
// .systemconfig, which the control script sources into its environment, and by what
// the script exports itself.
func (s *Stack) Env() map[string]string {
	env := s.fileEnv()
	for k, v := range s.Exported {
		env[k] = v
	}
	return env
}

// fileEnv is what the config files alone give.
func (s *Stack) fileEnv() map[string]string {
	env := map[string]string{}
	files := s.ConfigFiles()
	for i := len(files) - 1; i >= 0; i-- {
		for k, v := range files[i].Env() {
			env[k] = v
		}
	}
	return env
}

// Computed reports whether variable name's value is the control script's own (it
// exports a value no config file gives): only the script's restart computes it again.
func (s *Stack) Computed(name string) bool { return s.exportedOver(name) }

// exportedOver reports whether the script exports name with a value no config file
// gives it: compose then sees the script's value, not the file's.
func (s *Stack) exportedOver(name string) bool {
	v, ok := s.Exported[name]
	return ok && s.fileEnv()[name] != v
}

// FreshEnv reads the stack's config files again from disk: what compose gets after
// an edit (the control script sources them when it runs).
func (s *Stack) FreshEnv() (map[string]string, error) {
	env := map[string]string{}
	files := s.ConfigFiles()
	for i := len(files) - 1; i >= 0; i-- {
		b, err := readfile.Read(files[i].Path, maxFile)
		if err != nil {
			return nil, err
		}
		f, err := sysconfig.Parse(files[i].Path, b)
		if err != nil {
			return nil, err
		}
		for k, v := range f.Env() {
			env[k] = v
		}
	}
	for k, v := range s.Exported {
		if s.exportedOver(k) {
			env[k] = v
		}
	}
	return env, nil
}

// VarFile returns the config file that defines variable name (.systemconfig, then
// the extra files, then .env); none when the control script exports it with a value
// of its own.
func (s *Stack) VarFile(name string) (*sysconfig.File, sysconfig.Entry, bool) {
	if s.exportedOver(name) {
		return nil, sysconfig.Entry{}, false
	}
	for _, f := range s.ConfigFiles() {
		if e, ok := f.Lookup(name); ok {
			return f, e, true
		}
	}
	return nil, sysconfig.Entry{}, false
}

// NotDeployment is returned when a folder holds no compose files, control script or
// imgup.yaml. Found are deployments below it, relative to it.
type NotDeployment struct {
	Dir   string
	Found []string
}

func (e *NotDeployment) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *NotDeployment) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *NotDeployment) err() error {
	if len(e.Found) > 0 {
		return i18n.Errorf("not a deployment: %s (found one at %s: imgup -C %s)", e.Dir, strings.Join(e.Found, ", "), filepath.Join(e.Dir, e.Found[0]))
	}
	return i18n.Errorf("%s is not a docker-compose deployment: no docker-compose*.yml or compose*.yaml there or in vicode/, no compose container made from it, and no stacks: in imgup.yaml; give the deployment root with --dir",
		e.Dir)
}

// Options are what Discover learns besides the files.
type Options struct {
	// Containers are the engine's containers: their compose labels tell which
	// project and files each stack's containers were made with.
	Containers []engine.Container
	// Projects pins stacks' project names (stack name or folder -> project), from
	// --project; they win over imgup.yaml and the labels.
	Projects map[string]string
	// Environ is the environment the restart command gets ("KEY=VALUE"): its dry
	// run starts with it.
	Environ []string
	// Swarm are the services of a swarm the engine manages (nil when it manages
	// none): a stack whose services they are is bound to its swarm stack.
	Swarm []engine.Service
	// Kube is the Kubernetes cluster the update service reached (ReadKube); nil reads
	// imgup.yaml's kubernetes: alone.
	Kube *Kube
}

// foundBelow names the deployments below a folder that is none: folders up to three
// levels down with a compose file or a control script, and the folders the running
// compose projects were made from. It reads a bounded number of folders.
func (d *Deployment) foundBelow(groups []*Made) []string {
	var found []string
	add := func(rel string) {
		for _, f := range found {
			if rel == f || strings.HasPrefix(rel, f+string(filepath.Separator)) {
				return // inside a deployment already found: its own stack
			}
		}
		if rel != "." && rel != "" && len(found) < 3 {
			found = append(found, rel)
		}
	}
	realRoot := realPath(d.Root)
	for _, g := range groups {
		if rel, err := filepath.Rel(realRoot, g.Real); err == nil && g.Real != "" && !strings.HasPrefix(rel, "..") {
			add(rel)
		}
	}
	budget := 2000
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			if budget--; budget < 0 || len(found) >= 3 {
				return
			}
			n := e.Name()
			if e.Type().IsRegular() && (composeName(n) || n == "deploy.sh") {
				add(d.Rel(dir))
			}
		}
		if depth == 0 {
			return
		}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && e.Name() != "node_modules" && len(found) < 3 {
				walk(filepath.Join(dir, e.Name()), depth-1)
			}
		}
	}
	walk(d.Root, 3)
	sort.Strings(found)
	return found
}

// settings is <root>/imgup.yaml.
type settings struct {
	ConfigKeys map[string]string `yaml:"config-keys"`
	Projects   map[string]string `yaml:"projects"`
	Stacks     []struct {
		Dir     string   `yaml:"dir"`
		Files   []string `yaml:"files"`
		Project string   `yaml:"project"`
	} `yaml:"stacks"`
	EnvFiles []string          `yaml:"env-files"`
	Script   string            `yaml:"script"`
	Restart  string            `yaml:"restart"`
	Nodes    map[string]string `yaml:"nodes"`
	// Kubernetes: the root's manifests run on this cluster.
	Kubernetes *Kube `yaml:"kubernetes"`
}

// readSettings reads <root>/imgup.yaml (see the README's reference).
func (d *Deployment) readSettings() (*settings, error) {
	p := filepath.Join(d.Root, "imgup.yaml")
	s := &settings{}
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	d.hasSettings = true
	b, err := d.readFile(p)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(b, s); err != nil {
		return nil, i18n.Errorf("%s: %v", p, engine.FirstLine(err.Error()))
	}
	inside := func(what, rel string) error {
		if rel == "" || filepath.IsAbs(rel) || strings.HasPrefix(filepath.Clean(rel), "..") {
			return i18n.Errorf("%s: %s %q: give a path inside the deployment root", p, what, rel)
		}
		return nil
	}
	for _, st := range s.Stacks {
		if st.Dir == "" {
			st.Dir = "."
		}
		if st.Dir != "." {
			if err := inside("stacks: dir:", st.Dir); err != nil {
				return nil, err
			}
		}
		for _, f := range st.Files {
			if strings.Contains(f, "..") || filepath.IsAbs(f) {
				return nil, i18n.Errorf("%s: stacks: files: %q: name a file in the stack's folder", p, f)
			}
		}
	}
	for i := range s.Stacks {
		if s.Stacks[i].Dir == "" {
			s.Stacks[i].Dir = "."
		}
	}
	for _, f := range s.EnvFiles {
		if err := inside("env-files:", f); err != nil {
			return nil, err
		}
	}
	if s.Script != "" {
		if err := inside("script:", s.Script); err != nil {
			return nil, err
		}
	}
	for k, v := range s.ConfigKeys {
		d.ConfigKeys[k] = v
	}
	return s, nil
}

// configFile reads and parses a KEY=VALUE or JSON config file once per discovery: a
// file the control script sources serves both as an env file and as the root stack's.
func (d *Deployment) configFile(p string) (*sysconfig.File, error) {
	if f, ok := d.configs[p]; ok {
		return f, nil
	}
	b, err := d.readFile(p)
	if err != nil {
		return nil, err
	}
	f, err := sysconfig.Parse(p, b)
	if err != nil {
		return nil, err
	}
	if d.configs == nil {
		d.configs = map[string]*sysconfig.File{}
	}
	d.configs[p] = f
	return f, nil
}

// inRoot names p through the root as the operator gave it, when p's real path lies
// under the root's: labels name files by the path compose saw, which may be the
// physical one behind a symlinked root.
func (d *Deployment) inRoot(p string) string {
	if r, err := filepath.Rel(d.Root, p); err == nil && !strings.HasPrefix(r, "..") {
		return p
	}
	if r, err := filepath.Rel(realPath(d.Root), realPath(p)); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.Join(d.Root, r)
	}
	return p
}

// inside refuses a file or folder that resolves (after symlinks) outside the
// deployment root: imgup reads and writes only the deployment's own files.
func (d *Deployment) inside(p string) error {
	rp, root := realPath(p), realPath(d.Root)
	if rp == root || strings.HasPrefix(rp, root+string(filepath.Separator)) {
		return nil
	}
	return &OutsideRoot{Path: d.Rel(p), Real: rp, Root: d.Root}
}

// OutsideRoot is returned for a deployment file that resolves outside the root.
type OutsideRoot struct{ Path, Real, Root string }

func (e *OutsideRoot) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *OutsideRoot) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *OutsideRoot) err() error {
	return i18n.Errorf("%s resolves to %s, outside the deployment root %s: imgup reads and edits only the deployment's own files; copy it into the deployment, or point --dir at a folder that holds it", e.Path, e.Real, e.Root)
}

// readFile reads a deployment file: inside the root, a regular file (never a FIFO or
// a device: it does not block), of a sane size.
func (d *Deployment) readFile(p string) ([]byte, error) {
	if err := d.inside(p); err != nil {
		return nil, err
	}
	b, err := readfile.Read(p, maxFile)
	var nr *readfile.NotRegular
	var tl *readfile.TooLarge
	switch {
	case errors.As(err, &nr) && nr.Mode.IsDir():
		return nil, i18n.Errorf("%s is a folder: imgup reads a deployment file only when it is a regular file", d.Rel(p))
	case errors.As(err, &nr) && nr.Mode&fs.ModeNamedPipe != 0:
		return nil, i18n.Errorf("%s is a FIFO: imgup reads a deployment file only when it is a regular file, so that reading never blocks", d.Rel(p))
	case errors.As(err, &nr):
		return nil, i18n.Errorf("%s is a device or a socket: imgup reads a deployment file only when it is a regular file", d.Rel(p))
	case errors.As(err, &tl):
		return nil, i18n.Errorf("%s is larger than %d MiB: not a deployment file imgup reads", d.Rel(p), maxFile>>20)
	}
	return b, err
}

// maxCrossCheckKeys is the largest mapping compose-go is given to cross-check.
const maxCrossCheckKeys = 2000

// maxValue bounds a variable's value imgup interpolates into an image: a reference is
// at most a few hundred bytes.
const maxValue = 64 << 10

// maxFile bounds a compose, config or control file imgup reads.
const maxFile = 16 << 20

// stackName is "console" for the root, else the folder's path under the root.
func (d *Deployment) stackName(dir string) string {
	if dir == d.Root {
		return "console"
	}
	return d.Rel(dir)
}

// composeName tells a compose file by its name: docker-compose*.y(a)ml, compose*.y(a)ml.
func composeName(n string) bool {
	return (strings.HasPrefix(n, "docker-compose") || strings.HasPrefix(n, "compose")) && (strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".yaml"))
}

func filesText(d *Deployment, files []string) string {
	if len(files) == 0 {
		return "nothing"
	}
	var r []string
	for _, f := range files {
		r = append(r, d.Rel(f))
	}
	return strings.Join(r, ", ")
}

// readServices takes each service's image from the last file that sets it.
func (s *Stack) readServices() {
	byName := map[string]*Service{}
	env := s.Env()
	lookup := func(k string) (string, bool) {
		v, ok := env[k]
		if strings.ContainsAny(v, "$`") || len(v) > maxValue {
			return "", false // built by the shell when it runs, or no image's: imgup cannot know it
		}
		return v, ok
	}
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
		if f.MaxKeys > maxCrossCheckKeys {
			// compose-go's YAML decoding checks a mapping's keys pairwise: a mapping of
			// tens of thousands of keys would take minutes. imgup's own reading is linear.
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s has a mapping of %d keys: imgup read its images itself, without compose-go's cross-check", d.Rel(f.Path), f.MaxKeys))
			return
		}
		files = append(files, types.ConfigFile{Filename: f.Path, Content: f.Data})
	}
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{WorkingDir: s.Dir, ConfigFiles: files, Environment: s.Env()},
		func(o *loader.Options) {
			if s.Project != "" && len(s.Project) <= maxProjectName {
				o.SetProjectName(s.Project, true)
			} else {
				o.SetProjectName(normalizeProject(filepath.Base(s.Dir)), false)
			}
			o.SkipConsistencyCheck = true
			o.SkipResolveEnvironment = true
			o.SkipValidation = true
			o.Profiles = []string{"*"}
		})
	if err != nil {
		d.Warnings = append(d.Warnings, fmt.Sprintf("compose-go could not read the %s stack (%v); imgup checked its reading of the images against its own only", s.Name, engine.FirstLine(err.Error())))
		return
	}
	for _, svc := range s.Services {
		c, ok := p.Services[svc.Name]
		if unset := (*composefile.Unset)(nil); !ok || svc.Target == nil || errors.As(svc.Err, &unset) {
			continue // an unresolved variable says more than compose-go's reading of it
		}
		if c.Image != svc.Target.Ref {
			svc.Err = i18n.Errorf("imgup reads image %q but compose reads %q; not editing it", svc.Target.Ref, c.Image)
		}
	}
}

// Rel names a file relative to the deployment root, as messages and the plan print it.
func (d *Deployment) Rel(p string) string { return RelTo(d.Root, p) }

// RelTo names p relative to root when it lies under it, else as it is.
func RelTo(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

var projectChars = regexp.MustCompile(`[^a-z0-9_-]`)

// NormalizeProject is a project name as compose normalises it.
func NormalizeProject(n string) string { return normalizeProject(n) }

// normalizeProject is compose's default project name for a folder.
func normalizeProject(n string) string {
	return projectChars.ReplaceAllString(strings.ToLower(n), "")
}
