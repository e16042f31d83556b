//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

// sample is a running sample deployment on the real engine.
type sample struct {
	eng    *dockertest.Engine
	dir    string
	prefix string
	// ids maps every image of the deployment to its ID.
	ids map[string]string
	// files holds every file of the deployment as written.
	files map[string][]byte
}

// startSample builds the sample deployment's images, writes its files and runs
// ./deploy.sh start, waiting until every container is healthy.
func startSample(t *testing.T, eng *dockertest.Engine, name string, o deploytest.Options) *sample {
	t.Helper()
	s := &sample{eng: eng, dir: t.TempDir(), prefix: eng.Prefix + "/", ids: map[string]string{}, files: map[string][]byte{}}
	// The sample's images are built once per run and only read: each test names them
	// under its own prefix (docker tag), which its cleanup removes again.
	shared := sampleImages(t)
	for i, ref := range deploytest.Images(s.prefix) {
		if id := eng.ImageID(t, ref); id != "" {
			s.ids[ref] = id
			continue
		}
		eng.Tag(t, shared.refs[i], ref)
		s.ids[ref] = shared.ids[i]
	}
	o.Prefix, o.Project = s.prefix, eng.Project(name)
	if err := deploytest.Write(s.dir, o); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(s.dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(s.dir, p)
			s.files[rel] = b
		}
		return nil
	})
	t.Cleanup(func() {
		if os.Getenv("IMGUP_TEST_KEEP") == "" {
			exec.Command("./deploy.sh", "stop").Run()
			cmd := exec.Command("./deploy.sh", "stop")
			cmd.Dir = s.dir
			cmd.Run()
		}
	})
	s.deploySh(t, "start")
	s.waitHealthy(t, 90*time.Second)
	return s
}

func (s *sample) deploySh(t *testing.T, verb string) {
	t.Helper()
	cmd := exec.Command("./deploy.sh", verb)
	cmd.Dir = s.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy.sh %s: %v\n%s", verb, err, out)
	}
}

// container is what docker inspect says of a service's container.
type container struct {
	ID, Image, State, Health string
}

// containers maps "project/service" to its container, for this sample's projects.
func (s *sample) containers(t *testing.T) map[string]container {
	t.Helper()
	out := dockertest.Docker(t, "ps", "-aq", "--filter", "label=com.docker.compose.project")
	m := map[string]container{}
	if out == "" {
		return m
	}
	args := append([]string{"inspect", "--format", `{{index .Config.Labels "com.docker.compose.project"}}/{{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.Image}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}`}, strings.Fields(out)...)
	// Another test's container may go between ps and inspect: inspect then fails for it
	// alone and still prints the others.
	res, _ := exec.Command("docker", args...).Output()
	for _, line := range strings.Split(string(res), "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && strings.HasPrefix(f[0], "imguptest"+s.eng.Run) {
			m[f[0]] = container{ID: f[1], Image: f[2], State: f[3], Health: f[4]}
		}
	}
	return m
}

func (s *sample) waitHealthy(t *testing.T, within time.Duration) map[string]container {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cs := s.containers(t)
		ok := len(cs) == deploytest.ServiceCount
		for _, c := range cs {
			if c.State != "running" || c.Health != "healthy" {
				ok = false
			}
		}
		if ok {
			return cs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sample deployment did not become healthy: %+v", cs)
		}
		time.Sleep(250 * time.Millisecond) // the engine answers a listing in milliseconds
	}
}

// file returns a deployment file as it is now.
func (s *sample) file(t *testing.T, rel string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expectFiles checks every file byte by byte: those in changed must equal the
// original with the given replacements, all others must be unchanged.
func (s *sample) expectFiles(t *testing.T, changed map[string][][2]string) {
	t.Helper()
	for rel, orig := range s.files {
		want := string(orig)
		for _, r := range changed[rel] {
			if !strings.Contains(want, r[0]) {
				t.Fatalf("%s: test bug: %q not in the file", rel, r[0])
			}
			want = strings.Replace(want, r[0], r[1], 1)
		}
		if got := s.file(t, rel); got != want {
			t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", rel, got, want)
		}
	}
}

// sharedImages are the sample deployment's images, built once for the whole run.
type sharedImages struct {
	once sync.Once
	eng  *dockertest.Engine
	refs []string
	ids  []string
	err  error
}

var shared sharedImages

// sampleImages builds the sample's images once per test binary, under a prefix of
// their own that TestMain removes at the end.
func sampleImages(t *testing.T) *sharedImages {
	t.Helper()
	shared.once.Do(func() {
		shared.eng = dockertest.NewShared()
		for _, ref := range deploytest.Images(shared.eng.Prefix + "/") {
			id, err := shared.eng.BuildErr(ref, "ok")
			if err != nil {
				shared.err = err
				return
			}
			shared.refs, shared.ids = append(shared.refs, ref), append(shared.ids, id)
		}
	})
	if shared.err != nil {
		t.Fatalf("building the sample's images: %v", shared.err)
	}
	return &shared
}
