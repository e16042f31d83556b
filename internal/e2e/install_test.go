//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

func command(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDockerPlugin runs imgup through the real docker CLI as docker-imgup, and checks
// that it talks to the engine docker's --context and DOCKER_HOST choose.
func TestDockerPlugin(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "plug", deploytest.Options{})
	cfg := t.TempDir()
	os.MkdirAll(filepath.Join(cfg, "cli-plugins"), 0o755)
	if err := os.Symlink(imgupBin, filepath.Join(cfg, "cli-plugins", "docker-imgup")); err != nil {
		t.Fatal(err)
	}
	env := []string{"DOCKER_CONFIG=" + cfg, "DOCKER_HOST=", "DOCKER_CONTEXT="}
	if out, err := command(t, env, "docker", "--help"); err != nil || !strings.Contains(out, "imgup*") {
		t.Fatalf("docker --help does not list the plugin (%v):\n%s", err, out)
	}
	if out, err := command(t, env, "docker", "imgup", "version"); err != nil || !strings.HasPrefix(out, "imgup ") {
		t.Fatalf("docker imgup version: %v\n%s", err, out)
	}
	host := "unix:///var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		host = h
	}
	for name, h := range map[string]string{"imguptestgood": host, "imguptestbad": "unix:///nonexistent/imguptest.sock"} {
		if out, err := command(t, env, "docker", "context", "create", name, "--docker", "host="+h); err != nil {
			t.Fatalf("docker context create: %v\n%s", err, out)
		}
	}
	out, err := command(t, env, "docker", "--context", "imguptestgood", "imgup", "status", "-C", s.dir)
	if err != nil || !strings.Contains(out, "console/console-web") || !strings.Contains(out, "No drift") {
		t.Fatalf("docker --context good imgup status: %v\n%s", err, out)
	}
	out, err = command(t, env, "docker", "--context", "imguptestbad", "imgup", "status", "-C", s.dir)
	if err == nil || !strings.Contains(out, "nonexistent/imguptest.sock") {
		t.Fatalf("docker --context bad imgup status did not use that context's engine: %v\n%s", err, out)
	}
	out, err = command(t, append(env, "DOCKER_HOST=unix:///nonexistent/imguptest2.sock"), "docker", "imgup", "status", "-C", s.dir)
	if err == nil || !strings.Contains(out, "imguptest2.sock") {
		t.Fatalf("DOCKER_HOST=… docker imgup status did not use DOCKER_HOST: %v\n%s", err, out)
	}
	// A plan through the plugin on the sample deployment: the plugin passes arguments on.
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	eng.Build(t, web, "ok", 0)
	archive := filepath.Join(t.TempDir(), "web.tar")
	eng.Save(t, archive, web)
	out, err = command(t, env, "docker", "--context", "imguptestgood", "imgup", "plan", "-C", s.dir, archive)
	if err != nil || !strings.Contains(out, "4.1.70000 -> ") && !strings.Contains(out, "4.1.76383") {
		t.Fatalf("docker imgup plan: %v\n%s", err, out)
	}
}

// TestPackages builds the .deb and .rpm with scripts/package, installs the .deb with
// dpkg, runs the installed imgup and finds its man page, and removes it again; the .rpm
// is listed with rpm -qpl.
func TestPackages(t *testing.T) {
	heavy(t)
	for _, tool := range []string{"dpkg", "rpm", "man"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: scripts/test.sh installs it (apt-get install man-db rpm)", tool)
		}
	}
	if out, err := exec.Command("dpkg", "-s", "imgup").CombinedOutput(); err == nil {
		t.Fatalf("an imgup package is installed on this machine already; this test would remove it:\n%s", out)
	}
	if _, err := os.Stat("/usr/bin/imgup"); err == nil {
		t.Fatal("/usr/bin/imgup exists and is not from a package: this test would overwrite it")
	}
	dist := t.TempDir()
	cmd := exec.Command("go", "run", "./scripts/package", "-out", dist, "-arch", "amd64", "-version", "v1.2.3-test.1")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "imgup_*_amd64.deb"))
	rpms, _ := filepath.Glob(filepath.Join(dist, "imgup-*.x86_64.rpm"))
	if len(debs) != 1 || len(rpms) != 1 {
		t.Fatalf("packages: %v %v", debs, rpms)
	}
	if out, err := command(t, nil, "dpkg", "-i", debs[0]); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("dpkg", "-r", "imgup").Run() })
	// One version string: the binary says what dpkg says.
	if out, err := command(t, nil, "/usr/bin/imgup", "version"); err != nil || strings.TrimSpace(out) != "imgup 1.2.3~test.1" {
		t.Errorf("imgup version: %v %q", err, out)
	}
	if out, err := command(t, nil, "dpkg-query", "-W", "-f", "${Version} ${Recommends}", "imgup"); err != nil || !strings.HasPrefix(out, "1.2.3~test.1 ") || !strings.Contains(out, "bash-completion") {
		t.Errorf("dpkg-query: %v %q", err, out)
	}
	for _, page := range []string{"imgup", "imgup-apply", "imgup-serve"} {
		if out, err := command(t, nil, "man", "-w", page); err != nil || !strings.Contains(out, "/usr/share/man/man1/"+page+".1.gz") {
			t.Errorf("man -w %s: %v %q", page, err, out)
		}
		if out, err := command(t, nil, "man", "-L", "zh_CN", "-w", page); err != nil || !strings.Contains(out, "/usr/share/man/zh_CN/man1/"+page+".1.gz") {
			t.Errorf("man -L zh_CN -w %s: %v %q", page, err, out)
		}
	}
	for _, f := range []string{"/usr/share/bash-completion/completions/imgup", "/usr/share/zsh/vendor-completions/_imgup", "/usr/share/doc/imgup/README.md", "/usr/share/doc/imgup/README.zh.md"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("the package did not install %s", f)
		}
	}
	if out, err := command(t, nil, "dpkg", "-r", "imgup"); err != nil {
		t.Fatalf("dpkg -r: %v\n%s", err, out)
	}
	if _, err := os.Stat("/usr/bin/imgup"); err == nil {
		t.Error("dpkg -r left /usr/bin/imgup")
	}
	out, err := command(t, nil, "rpm", "-qpl", rpms[0])
	if err != nil {
		t.Fatalf("rpm -qpl: %v\n%s", err, out)
	}
	for _, want := range []string{"/usr/bin/imgup", "/usr/share/bash-completion/completions/imgup", "/usr/share/zsh/vendor-completions/_imgup", "/usr/share/man/man1/imgup.1.gz", "/usr/share/doc/imgup/README.zh.md"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("the rpm lacks %s:\n%s", want, out)
		}
	}
	if out, err := command(t, nil, "rpm", "-qpi", rpms[0]); err != nil || !strings.Contains(out, "1.2.3") {
		t.Errorf("rpm -qpi: %v\n%s", err, out)
	}
}
