// Package dockertest builds and removes the images, containers and compose projects
// the end-to-end tests use, on the real engine. Everything it makes carries the
// run's own prefix and is removed afterwards; nothing else is touched.
package dockertest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// NamePrefix starts every test image name: imguptest-<run>/...
const NamePrefix = "imguptest-"

// Engine is the run's handle on the real engine.
type Engine struct {
	// Prefix starts every image name this run makes: imguptest-<run>.
	Prefix string
	// Run is the run's random id, also used for compose project names.
	Run string

	mu    sync.Mutex
	built []string // image IDs this run built: removed even when a test untagged them
}

var (
	once    sync.Once
	binPath string
	binErr  error
)

// New checks that an engine answers and fails the test (never skips) when none does.
func New(t testing.TB) *Engine {
	t.Helper()
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Fatalf("no Docker engine answers (the end-to-end tests need one): %v\n%s", err, out)
	}
	b := make([]byte, 3)
	rand.Read(b)
	run := hex.EncodeToString(b)
	e := &Engine{Prefix: NamePrefix + run, Run: run}
	t.Cleanup(func() { e.cleanup(t) })
	return e
}

// NewShared is an engine handle for images a whole test binary shares (built once,
// only read): its Close removes them. It needs no test.
func NewShared() *Engine {
	b := make([]byte, 3)
	rand.Read(b)
	run := hex.EncodeToString(b)
	return &Engine{Prefix: NamePrefix + "shared-" + run, Run: "shared" + run}
}

// Close removes a shared engine's images.
func (e *Engine) Close() {
	if e == nil || os.Getenv("IMGUP_TEST_KEEP") != "" {
		return
	}
	e.removeImages()
}

// removeImages removes every image named under the prefix, and every image built.
func (e *Engine) removeImages() {
	imgs, _ := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").Output()
	var refs []string
	for _, r := range strings.Fields(string(imgs)) {
		if strings.HasPrefix(r, e.Prefix+"/") {
			refs = append(refs, r)
		}
	}
	if len(refs) > 0 {
		exec.Command("docker", append([]string{"rmi", "-f"}, refs...)...).Run()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range e.built {
		exec.Command("docker", "rmi", "-f", id).Run() // already gone, mostly
	}
}

// Docker runs the docker CLI and fails the test on error.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, nil, "docker", args...)
}

func run(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return strings.TrimSpace(out.String())
}

// appBinary builds the static test program once per test binary.
func appBinary() (string, error) {
	once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		src := filepath.Join(filepath.Dir(file), "..", "testapp")
		dir, err := os.MkdirTemp("", "imguptest-app-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "testapp")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binPath, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building testapp: %v\n%s", err, out)
		}
	})
	return binPath, binErr
}

// Tag gives an image another name (docker tag: no build, the same image ID).
func (e *Engine) Tag(t testing.TB, src, dst string) {
	t.Helper()
	Docker(t, "tag", src, dst)
}

// Ref names a test image: <prefix>/<name>:<tag>.
func (e *Engine) Ref(name, tag string) string { return e.Prefix + "/" + name + ":" + tag }

// Build builds a test image FROM scratch holding testapp, whose behaviour is mode
// ("ok", "exit", "unhealthy"), and returns its image ID. Extra bytes of padding make a
// large image when pad > 0.
func (e *Engine) Build(t testing.TB, ref, mode string, pad int64) string {
	t.Helper()
	id, err := e.buildApp(ref, mode, pad)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// BuildErr is Build without a test: a testapp image of mode, unpadded.
func (e *Engine) BuildErr(ref, mode string) (string, error) { return e.buildApp(ref, mode, 0) }

// buildApp builds the testapp image of mode (with pad bytes of random padding) and
// notes it for cleanup.
func (e *Engine) buildApp(ref, mode string, pad int64) (string, error) {
	bin, err := appBinary()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "imguptest-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "testapp"), b, 0o755); err != nil {
		return "", err
	}
	df := fmt.Sprintf("FROM scratch\nCOPY testapp /testapp\nENV MODE=%s VERSION=%s\n", mode, ref)
	if pad > 0 {
		f, err := os.Create(filepath.Join(dir, "pad"))
		if err != nil {
			return "", err
		}
		// Random bytes, so that compression cannot shrink the image.
		buf := make([]byte, 1<<20)
		for n := int64(0); n < pad; n += int64(len(buf)) {
			rand.Read(buf)
			f.Write(buf)
		}
		f.Close()
		df += "COPY pad /pad\n"
	}
	df += "ENTRYPOINT [\"/testapp\"]\n"
	return e.buildDir(ref, dir, df)
}

// buildDir builds the Dockerfile df in dir as ref, and notes the image for cleanup.
func (e *Engine) buildDir(ref, dir, df string) (string, error) {
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("docker", "build", "-q", "-t", ref, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker build %s: %v\n%s", ref, err, out)
	}
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(out))
	e.mu.Lock()
	e.built = append(e.built, id)
	e.mu.Unlock()
	return id, nil
}

// build builds the Dockerfile df in dir as ref, and notes the image for cleanup.
func (e *Engine) build(t testing.TB, ref, dir, df string) string {
	t.Helper()
	id, err := e.buildDir(ref, dir, df)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// BuildOn builds a test image from base with one more layer of size bytes (random,
// so that it does not compress) and returns its image ID: an application layer on a
// base the engine has.
func (e *Engine) BuildOn(t testing.TB, ref, base string, size int) string {
	t.Helper()
	dir := t.TempDir()
	buf := make([]byte, size)
	rand.Read(buf)
	if err := os.WriteFile(filepath.Join(dir, "app"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return e.build(t, ref, dir, fmt.Sprintf("FROM %s\nCOPY app /app\nENV VERSION=%s\n", base, ref))
}

// ImageID returns the image ID of ref, or "" when the engine has no such image.
func (e *Engine) ImageID(t testing.TB, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Save writes `docker save refs...` to path.
func (e *Engine) Save(t testing.TB, path string, refs ...string) {
	t.Helper()
	Docker(t, append([]string{"save", "-o", path}, refs...)...)
}

// Remove removes images by reference (not failing when absent).
func (e *Engine) Remove(t testing.TB, refs ...string) {
	t.Helper()
	exec.Command("docker", append([]string{"rmi", "-f"}, refs...)...).Run()
}

// cleanup removes the run's compose projects, containers and images. (No -q with
// --format: docker ignores the format then, and the projects could not be read.)
func (e *Engine) cleanup(t testing.TB) {
	if os.Getenv("IMGUP_TEST_KEEP") != "" {
		t.Logf("IMGUP_TEST_KEEP set: leaving images %s/* in place", e.Prefix)
		return
	}
	out, _ := exec.Command("docker", "ps", "-a", "--filter", "label=com.docker.compose.project", "--format", "{{.ID}} {{.Label \"com.docker.compose.project\"}}").Output()
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		id, project, ok := strings.Cut(line, " ")
		if ok && strings.HasPrefix(project, "imguptest"+e.Run) {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
	nets, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "name=imguptest"+e.Run).Output()
	if n := strings.Fields(string(nets)); len(n) > 0 {
		exec.Command("docker", append([]string{"network", "rm"}, n...)...).Run()
	}
	e.removeImages()
}

// Project is the compose project name prefix tests use: imguptest<run>.
func (e *Engine) Project(name string) string { return "imguptest" + e.Run + name }
