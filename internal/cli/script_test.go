// The scripts in testdata/script lock down what an operator sees: imgup's output,
// its one-line errors and its exit codes, for archives the scripts make themselves.
package cli_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/cli"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/update"
)

// scriptSlots bounds how many scripts run at once.
var scriptSlots = make(chan struct{}, 4)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"imgup-bin": func() {
			// With IMGUP_FAKE_ENGINE, the engine is a JSON file the script wrote.
			if p := os.Getenv("IMGUP_FAKE_ENGINE"); p != "" {
				env := &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
					Service: &update.Service{Dial: func(ctx context.Context) (engine.Client, error) { return loadFake(p) }}}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				code := cli.Run(ctx, env, os.Args[1:])
				stop()
				reportHWM()
				os.Exit(code)
			}
			code := cli.Main()
			reportHWM()
			os.Exit(code)
		},
	})
}

// updateScripts rewrites the scenarios' expected files (cmp's second argument, in the
// txtar) from what imgup printed: go test ./internal/cli -run TestScripts -update
var updateScripts = flag.Bool("update", false, "rewrite the testscript scenarios' expected output")

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *updateScripts,
		Setup: func(env *testscript.Env) error {
			// No script may reach the machine's engine by accident.
			env.Setenv("DOCKER_HOST", "unix://"+env.WorkDir+"/no-engine.sock")
			// Four scripts at a time, whatever -parallel says (the README's test
			// command gives the real-engine tests 64).
			scriptSlots <- struct{}{}
			env.Defer(func() { <-scriptSlots })
			return nil
		},
		// [hooks]: the crash and journal seams are built in (go test -tags e2e or
		// imguptest, as the README's test command does).
		Condition: func(cond string) (bool, error) {
			if cond == "hooks" {
				return cli.HooksBuilt, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"imgup":      runImgup,
			"exit":       checkExit,
			"mkarchive":  mkarchive,
			"truncate":   truncate,
			"mkdeploy":   mkdeploy,
			"fakeengine": fakeengine,
		},
	})
}

// runImgup runs the imgup binary and remembers its exit code for "exit".
func runImgup(ts *testscript.TestScript, neg bool, args []string) {
	err := ts.Exec("imgup-bin", args...)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("imgup: %v", err)
	}
	ts.Setenv("IMGUP_EXIT", strconv.Itoa(code))
	if neg != (code != 0) {
		ts.Fatalf("imgup exited %d", code)
	}
}

// checkExit: exit N asserts the exit code of the last imgup.
func checkExit(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: exit CODE")
	}
	if got := ts.Getenv("IMGUP_EXIT"); got != args[0] {
		ts.Fatalf("imgup exited %s, want %s", got, args[0])
	}
}

// mkarchive FORM[.gzip|.zstd|.xz] FILE REF... writes an archive of random images, one per
// REF (REF=a,b gives one image two tags; "-" gives an image saved by ID). FORM is
// classic, oci, oci25, ggcr, or bundle (then the args are FILE INNER...).
func mkarchive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: mkarchive FORM FILE REF...")
	}
	t := tb{ts: ts}
	form, comp, _ := strings.Cut(args[0], ".")
	var data []byte
	if form == "bundle" {
		var files []archivetest.File
		for _, in := range args[2:] {
			b, err := os.ReadFile(ts.MkAbs(in))
			ts.Check(err)
			files = append(files, archivetest.File{Name: in, Data: b})
		}
		data = archivetest.Bundle(t, files...)
	} else {
		var imgs []archivetest.Image
		for _, r := range args[2:] {
			var tags []string
			if r != "-" {
				tags = strings.Split(r, ",")
			}
			imgs = append(imgs, archivetest.Random(t, 2, tags...))
		}
		switch form {
		case "classic":
			data = archivetest.Classic(t, imgs, nil)
		case "nolayer":
			data = archivetest.Classic(t, imgs, func(n string) bool { return strings.HasSuffix(n, "layer.tar") })
		case "oci":
			data = archivetest.OCI(t, imgs, false)
		case "oci25":
			data = archivetest.OCI(t, imgs, true)
		case "ggcr":
			data = archivetest.GGCR(t, imgs)
		default:
			ts.Fatalf("unknown form %q", form)
		}
	}
	if comp != "" {
		data = archivetest.Compress(t, comp, data)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
}

// truncate FILE N keeps the first N bytes (or N% when it ends in %).
func truncate(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	n, pct := strings.CutSuffix(args[1], "%")
	k, err := strconv.Atoi(n)
	ts.Check(err)
	if pct {
		k = len(b) * k / 100
	}
	ts.Check(os.WriteFile(p, b[:k], 0o644))
}

// tb lets archivetest report through the script.
type tb struct {
	testing.TB
	ts *testscript.TestScript
}

func (t tb) Helper()                           {}
func (t tb) Fatal(args ...any)                 { t.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (t tb) Fatalf(format string, args ...any) { t.ts.Fatalf(format, args...) }

// mkdeploy DIR [old] writes the sample Encoo deployment.
func mkdeploy(ts *testscript.TestScript, neg bool, args []string) {
	ts.Check(deploytest.Write(ts.MkAbs(args[0]), deploytest.Options{Old: len(args) > 1 && args[1] == "old"}))
}

// fake is an engine whose state is a JSON file: images by tag, and containers.
type fake struct {
	engine.Client // any call the fake does not answer panics
	State         fakeState
	path          string // where the state lives between imgup runs
}

type fakeState struct {
	Images     map[string]string  `json:"images"`
	Containers []engine.Container `json:"containers"`
}

func loadFake(p string) (engine.Client, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	f := &fake{path: p}
	return f, json.Unmarshal(b, &f.State)
}

func (f *fake) save() error {
	b, err := json.MarshalIndent(f.State, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(f.path, b, 0o644)
}

// Load reads a docker save tar as the engine does: each manifest.json entry's config
// digest is the image ID, its RepoTags its names. A tar cut short (a skipped part)
// loads nothing, like the engine.
func (f *fake) Load(ctx context.Context, r io.Reader) ([]string, error) {
	tr := tar.NewReader(r)
	configs := map[string]string{}
	var manifest []struct {
		Config   string
		RepoTags []string
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			io.Copy(io.Discard, r)
			return nil, fmt.Errorf("fake engine: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			io.Copy(io.Discard, r)
			return nil, fmt.Errorf("fake engine: %v", err)
		}
		if h.Name == "manifest.json" {
			if err := json.Unmarshal(b, &manifest); err != nil {
				return nil, err
			}
		} else if strings.HasSuffix(h.Name, ".json") || strings.HasPrefix(h.Name, "blobs/") {
			configs[h.Name] = fmt.Sprintf("sha256:%x", sha256.Sum256(b))
		}
	}
	var loaded []string
	for _, m := range manifest {
		id, ok := configs[m.Config]
		if !ok {
			return loaded, fmt.Errorf("fake engine: config %s missing", m.Config)
		}
		for _, ref := range m.RepoTags {
			f.State.Images[ref] = id
			loaded = append(loaded, ref)
		}
	}
	return loaded, f.save()
}

func (f *fake) RemoveImage(ctx context.Context, ref string) error {
	if _, ok := f.State.Images[ref]; !ok {
		return fmt.Errorf("fake engine: no such image %s", ref)
	}
	delete(f.State.Images, ref)
	return f.save()
}

func (f *fake) ContainerStates(ctx context.Context) ([]engine.Container, error) {
	return f.State.Containers, nil
}

func (f *fake) Close() error { return nil }
func (f *fake) Info(ctx context.Context) (engine.Info, error) {
	return engine.Info{ServerVersion: "fake"}, nil
}
func (f *fake) ImageID(ctx context.Context, ref string) (string, error) {
	if id, ok := f.State.Images[ref]; ok {
		return id, nil
	}
	for id := range f.State.Images {
		if f.State.Images[id] == ref {
			return ref, nil
		}
	}
	return "", nil
}
func (f *fake) Images(ctx context.Context) ([]engine.Image, error) {
	var out []engine.Image
	for tag, id := range f.State.Images {
		out = append(out, engine.Image{ID: id, Tags: []string{tag}})
	}
	return out, nil
}
func (f *fake) ImageLayers(ctx context.Context, ref string) ([]string, error) {
	return nil, nil
}
func (f *fake) Containers(ctx context.Context) ([]engine.Container, error) {
	return f.State.Containers, nil
}

func fakeID(ref string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(ref)))
}

// fakeengine DIR [STACK/SERVICE:FIELD=VALUE...] writes $WORK/engine.json: every image
// the deployment names is loaded, and every service runs it, healthy. FIELD is state,
// health, image (the container runs another image) or missing (no container);
// unloaded=REF drops an image; project=STACK:NAME makes the stack's containers those
// of compose project NAME, and also=STACK:NAME:STATE adds a second set of them under
// project NAME in STATE (a project left over from an earlier install).
func fakeengine(ts *testscript.TestScript, neg bool, args []string) {
	d, err := deploy.Discover(context.Background(), ts.MkAbs(args[0]), deploy.Options{})
	ts.Check(err)
	st := fakeState{Images: map[string]string{}}
	for _, s := range d.Stacks {
		for _, svc := range s.Services {
			if svc.Target == nil {
				continue
			}
			ref := strings.TrimPrefix(svc.Target.Ref, "docker.io/")
			st.Images[ref] = fakeID(ref)
			st.Containers = append(st.Containers, engine.Container{ID: fakeID(s.Project + svc.Name), Name: s.Project + "_" + svc.Name + "_1",
				Image: svc.Target.Ref, ImageID: fakeID(ref), State: "running", Health: "healthy",
				Labels: map[string]string{engine.LabelProject: s.Project, engine.LabelService: svc.Name,
					engine.LabelWorkingDir: s.Dir, engine.LabelConfig: strings.Join(s.FilePaths(), ","), engine.LabelVersion: "2.40.3"}})
		}
	}
	for _, a := range args[1:] {
		if ref, ok := strings.CutPrefix(a, "unloaded="); ok {
			delete(st.Images, ref)
			continue
		}
		if v, ok := strings.CutPrefix(a, "project="); ok {
			stack, name, _ := strings.Cut(v, ":")
			for i := range st.Containers {
				if c := &st.Containers[i]; c.Labels[engine.LabelProject] == projectOf(d, stack) {
					c.Labels[engine.LabelProject] = name
				}
			}
			continue
		}
		if v, ok := strings.CutPrefix(a, "also="); ok {
			f := strings.SplitN(v, ":", 3)
			for _, c := range st.Containers {
				if c.Labels[engine.LabelProject] == projectOf(d, f[0]) {
					l := map[string]string{}
					for k, v := range c.Labels {
						l[k] = v
					}
					l[engine.LabelProject] = f[1]
					c.ID, c.Name, c.State, c.Labels = fakeID(f[1]+c.Name), f[1]+"_"+l[engine.LabelService]+"_1", f[2], l
					st.Containers = append(st.Containers, c)
				}
			}
			continue
		}
		name, change, _ := strings.Cut(a, ":")
		stack, svc, _ := strings.Cut(name, "/")
		field, value, _ := strings.Cut(change, "=")
		for i := range st.Containers {
			c := &st.Containers[i]
			if c.Labels[engine.LabelService] != svc || !strings.HasPrefix(c.Name, projectOf(d, stack)+"_") {
				continue
			}
			switch field {
			case "state":
				c.State, c.ExitCode = value, 3
			case "health":
				c.Health = value
			case "image":
				c.Image, c.ImageID = value, fakeID(value)
				st.Images[value] = fakeID(value)
			case "missing":
				st.Containers = append(st.Containers[:i], st.Containers[i+1:]...)
			}
			break
		}
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	ts.Check(os.WriteFile(ts.MkAbs("engine.json"), b, 0o644))
}

func projectOf(d *deploy.Deployment, stack string) string {
	for _, s := range d.Stacks {
		if s.Name == stack {
			return s.Project
		}
	}
	return stack
}

// reportHWM writes this process's peak RSS (VmHWM, in kB) to $IMGUP_TEST_HWM: the
// hostile-input test reads it. (wait4's ru_maxrss would carry the test binary's own
// peak across the vfork and exec.)
func reportHWM() {
	p := os.Getenv("IMGUP_TEST_HWM")
	if p == "" {
		return
	}
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			os.WriteFile(p, []byte(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))), 0o644)
		}
	}
}
