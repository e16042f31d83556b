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
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/encoo-tools/imgup/internal/ctlscript"
	"github.com/encoo-tools/imgup/internal/i18n"
	"go.yaml.in/yaml/v4"
)

// A composeCall is one compose call of the restart's dry run, resolved as compose
// itself resolves it: its project folder, its files in compose's order, its project
// name and the environment it interpolates with. The restart's calls define the
// stacks of a deployment no container was made from yet.
type composeCall struct {
	ctlscript.Call
	// run is the dry run's command ("./deploy.sh restart").
	run string
	// dir is compose's project folder, files its compose files (absolute, in order).
	dir   string
	files []string
	// project is the project name compose takes, how says why ("-p x",
	// "COMPOSE_PROJECT_NAME in .env", "the folder's name").
	project, how string
	// exported are the variables the script exported that compose sees besides
	// imgup's own environment; env is the whole interpolation environment.
	exported map[string]string
	env      map[string]string
	// err says why compose would not resolve the call (no compose file, a file
	// outside the root); the call then defines no stack.
	err error
}

// where names the call for the operator: "bin/ctl line 41".
func (c *composeCall) where() string {
	if c.Script == "" {
		return ctlscript.Quote(c.run)
	}
	if c.Line > 0 {
		return fmt.Sprintf("%s:%d", c.Script, c.Line)
	}
	return c.Script
}

// place names the call for the operator in their language: "bin/ctl line 41".
func (c *composeCall) place() i18n.Message {
	if c.Script != "" && c.Line > 0 {
		return i18n.Msg("%s line %d", c.Script, c.Line)
	}
	return i18n.Msg("%s", c.where())
}

// given says how the script gave the project name: "-p x", "COMPOSE_PROJECT_NAME=x".
func (c *composeCall) given() string {
	if c.ProjectFrom == "COMPOSE_PROJECT_NAME" {
		return "COMPOSE_PROJECT_NAME=" + ctlscript.Quote(c.Project)
	}
	return c.ProjectFrom + " " + ctlscript.Quote(c.Project)
}

// makesContainers: up, start, restart, create (run makes a one-off).
func (c *composeCall) makesContainers() bool {
	return slices.Contains([]string{"up", "start", "restart", "create"}, c.Verb)
}

// resolveCalls resolves every compose call of the script's dry runs whose folder and
// files the dry run knows; the same call (folder, words, environment) once.
func (d *Deployment) resolveCalls(ctx context.Context, s *script, environ []string) []*composeCall {
	if s == nil {
		return nil
	}
	var out []*composeCall
	seen := map[string]bool{}
	for _, r := range s.runs {
		for _, c := range r.Calls {
			if !c.Compose || !c.Knows("dir") || !c.Knows("files") {
				continue
			}
			key := c.Dir + "\x00" + strings.Join(c.Args, "\x00") + "\x00" + strings.Join(c.Env, "\x00")
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, d.resolve(ctx, c, r.Command, environ))
			if len(out) >= 64 {
				return out
			}
		}
	}
	return out
}

// abs is a path the dry run gives (relative to the root, or absolute) made absolute.
func (d *Deployment) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(d.Root, p)
}

// resolve resolves one call: compose v2's rules through compose-go's own project
// options, v1's as docker-compose 1.29 applies them (its project name keeps a
// leading dash or underscore, its .env is the project folder's, and it prefers
// docker-compose.yml among the default names).
func (d *Deployment) resolve(ctx context.Context, c ctlscript.Call, run string, environ []string) *composeCall {
	rc := &composeCall{Call: c, run: run, exported: map[string]string{}, env: map[string]string{}}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			rc.env[k] = v
		}
	}
	for _, kv := range c.Env {
		// An empty value is what a computation the dry run could not finish leaves
		// (a file it could not read): not a value imgup claims compose will see.
		if k, v, ok := strings.Cut(kv, "="); ok && v != "" {
			rc.exported[k], rc.env[k] = v, v
		}
	}
	cwd := d.abs(c.Dir)
	var files []string
	for _, f := range c.Files {
		files = append(files, d.abs(f))
	}
	explicitDir := ""
	if pd := d.abs(c.ProjectDir); c.ProjectDir != "" && ((len(files) > 0 && pd != filepath.Dir(files[0])) || (len(files) == 0 && pd != cwd)) {
		explicitDir = pd
	}
	var envFiles []string
	for _, f := range c.EnvFiles {
		envFiles = append(envFiles, d.abs(f))
	}
	if c.V2 {
		rc.err = d.resolveV2(ctx, rc, cwd, explicitDir, files, envFiles)
	} else {
		rc.err = d.resolveV1(rc, cwd, explicitDir, files, envFiles)
	}
	if rc.err == nil {
		for _, f := range rc.files {
			if err := d.inside(f); err != nil {
				rc.err = err
				break
			}
		}
	}
	return rc
}

// dotEnv merges env files into env (what is set already wins), each read once through
// the deployment's reader (regular, inside the root, bounded) and parsed by compose-go.
func (d *Deployment) dotEnv(env map[string]string, files []string) error {
	for _, f := range files {
		b, err := d.readFile(f)
		if err != nil {
			return err
		}
		m, err := dotenv.ParseWithLookup(bytes.NewReader(b), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			return i18n.Errorf("%s: %v", d.Rel(f), err)
		}
		for k, v := range m {
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
	}
	return nil
}

// regular reports whether p is a regular file (compose's own test for a default
// file or .env).
func regular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// The default file names of docker-compose 1.29, in its order of preference.
var (
	v1Names     = []string{"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"}
	v1Overrides = []string{"docker-compose.override.yml", "docker-compose.override.yaml", "compose.override.yml", "compose.override.yaml"}
)

// defaultIn is compose's default file in dir (the first of names there) and the
// first override beside it; nil when dir holds none.
func defaultIn(dir string, names, overrides []string) []string {
	for _, n := range names {
		if p := filepath.Join(dir, n); regular(p) {
			out := []string{p}
			for _, o := range overrides {
				if q := filepath.Join(dir, o); regular(q) {
					return append(out, q)
				}
			}
			return out
		}
	}
	return nil
}

// defaultFiles finds compose's default files from dir upwards, as compose does.
func defaultFiles(dir string, names, overrides []string) []string {
	for {
		if f := defaultIn(dir, names, overrides); f != nil {
			return f
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// composeFileEnv splits COMPOSE_FILE as compose does, relative to base.
func composeFileEnv(env map[string]string, base string) []string {
	v := env["COMPOSE_FILE"]
	if v == "" {
		return nil
	}
	sep := env["COMPOSE_PATH_SEPARATOR"]
	if sep == "" {
		sep = ":"
	}
	var out []string
	for _, f := range strings.Split(v, sep) {
		if f == "" {
			continue
		}
		if !filepath.IsAbs(f) {
			f = filepath.Join(base, f)
		}
		out = append(out, filepath.Clean(f))
	}
	return out
}

var errNoComposeFile = errors.New("no compose file")

func (d *Deployment) resolveV2(ctx context.Context, rc *composeCall, cwd, explicitDir string, files, envFiles []string) error {
	wd := explicitDir
	if wd == "" {
		wd = cwd
	}
	// compose v2 reads the .env of the folder it runs in (or --env-file) before it
	// looks for COMPOSE_FILE, then the project folder's once it knows it.
	if len(envFiles) == 0 && regular(filepath.Join(wd, ".env")) {
		if err := d.dotEnv(rc.env, []string{filepath.Join(wd, ".env")}); err != nil {
			return err
		}
	} else if err := d.dotEnv(rc.env, envFiles); err != nil {
		return err
	}
	if len(files) == 0 {
		files = composeFileEnv(rc.env, cwd)
	}
	if len(files) == 0 {
		files = defaultFiles(wd, cli.DefaultFileNames, cli.DefaultOverrideFileNames)
	}
	if len(files) == 0 {
		return errNoComposeFile
	}
	name := ""
	if rc.Project != "" {
		name = loader.NormalizeProjectName(rc.Project)
	}
	var env []string
	for k, v := range rc.env {
		env = append(env, k+"="+v)
	}
	o, err := cli.NewProjectOptions(files, cli.WithWorkingDirectory(explicitDir), cli.WithEnv(env), cli.WithName(name))
	if err != nil {
		return err
	}
	rc.dir, err = o.GetWorkingDir()
	if err != nil {
		return err
	}
	rc.files = o.ConfigPaths
	if len(envFiles) == 0 && rc.dir != wd && regular(filepath.Join(rc.dir, ".env")) {
		if err := d.dotEnv(rc.env, []string{filepath.Join(rc.dir, ".env")}); err != nil {
			return err
		}
	}
	switch {
	case name != "":
		rc.project, rc.how = name, rc.given()
	case rc.env["COMPOSE_PROJECT_NAME"] != "":
		rc.project, rc.how = loader.NormalizeProjectName(rc.env["COMPOSE_PROJECT_NAME"]), "COMPOSE_PROJECT_NAME="+ctlscript.Quote(rc.env["COMPOSE_PROJECT_NAME"])
	default:
		if n := d.yamlName(rc.files, rc.env); n != "" {
			rc.project, rc.how = n, "name: "+n
		} else {
			rc.project, rc.how = loader.NormalizeProjectName(filepath.Base(rc.dir)), "the folder's name"
		}
	}
	return nil
}

// yamlName is the top-level name: of the compose files (the last one that sets it),
// interpolated; "" when none does.
func (d *Deployment) yamlName(files []string, env map[string]string) string {
	name := ""
	for _, f := range files {
		b, err := d.readFile(f)
		if err != nil {
			continue
		}
		var top struct {
			Name string `yaml:"name"`
		}
		if yaml.Unmarshal(b, &top) == nil && top.Name != "" {
			name = top.Name
		}
	}
	if name == "" {
		return ""
	}
	if strings.Contains(name, "$") {
		name = os.Expand(name, func(k string) string {
			k, def, _ := strings.Cut(strings.Trim(k, "{}"), ":-")
			if v := env[k]; v != "" {
				return v
			}
			return def
		})
	}
	return loader.NormalizeProjectName(name)
}

func (d *Deployment) resolveV1(rc *composeCall, cwd, explicitDir string, files, envFiles []string) error {
	// docker-compose 1.29: -f files are relative to the folder it runs in, and the
	// project folder is --project-directory, else the first file's folder.
	envDir := explicitDir
	if envDir == "" && len(files) > 0 {
		envDir = filepath.Dir(files[0])
	}
	if envDir == "" {
		envDir = cwd
	}
	if len(envFiles) == 0 && regular(filepath.Join(envDir, ".env")) {
		envFiles = []string{filepath.Join(envDir, ".env")}
	}
	if err := d.dotEnv(rc.env, envFiles); err != nil {
		return err
	}
	if len(files) == 0 {
		files = composeFileEnv(rc.env, cwd)
	}
	if len(files) == 0 {
		files = defaultFiles(cwd, v1Names, v1Overrides)
		if len(files) == 0 && explicitDir != "" {
			files = defaultFiles(explicitDir, v1Names, v1Overrides)
		}
	}
	if len(files) == 0 {
		return errNoComposeFile
	}
	rc.files = files
	rc.dir = explicitDir
	if rc.dir == "" {
		rc.dir = filepath.Dir(files[0])
	}
	switch {
	case rc.Project != "":
		rc.project, rc.how = normalizeProject(rc.Project), rc.given()
	case rc.env["COMPOSE_PROJECT_NAME"] != "":
		rc.project, rc.how = normalizeProject(rc.env["COMPOSE_PROJECT_NAME"]), "COMPOSE_PROJECT_NAME="+ctlscript.Quote(rc.env["COMPOSE_PROJECT_NAME"])
	default:
		rc.project, rc.how = normalizeProject(filepath.Base(rc.dir)), "the folder's name"
	}
	return nil
}
