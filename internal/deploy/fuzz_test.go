// These fuzz tests lock down that no control script and no imgup.yaml makes the
// deployment reader panic or hang: what it cannot follow, it reports.
package deploy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzReadScript(f *testing.F) {
	for _, style := range []string{"01-var-systemconfig", "03-project-name-eq", "05-v2-array", "06-case-upgrade", "08-cd-dirname", "09-loop", "11-ctl-script"} {
		name := "deploy.sh"
		if style == "11-ctl-script" {
			name = "xxctl.sh"
		}
		if b, err := os.ReadFile(filepath.Join("..", "e2e", "testdata", "styles", style, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("for x in $(ls); do (cd \"$x\" && docker-compose -p \"${P:-a}_$x\" -f \"${F[@]}\" up); done\n"))
	f.Add([]byte("A=(-f\nX=${Y:=${Z:-}}\ndocker compose -p"))
	env := func([]string) map[string]string { return map[string]string{"PROJECT": "p", "F": "-f a.yml"} }
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "deploy.sh")
		os.WriteFile(p, data, 0o755)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s := readScript(p, env)
			for _, d := range append(s.dirs(), ".", "vicode") {
				s.project(d)
				s.files(d)
			}
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Fatalf("reading the script took over 3 s: %q", data)
		}
	})
}

func FuzzSettings(f *testing.F) {
	f.Add([]byte("config-keys: {a/b: X}\nprojects: {console: p}\nstacks:\n  - dir: .\n    files: [docker-compose.yml]\nenv-files: [x.env]\nscript: deploy.sh\nrestart: ./deploy.sh restart\n"))
	f.Add([]byte("stacks: [{dir: ../x}]\n"))
	f.Add([]byte("stacks: [{}]\nprojects: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		os.WriteFile(filepath.Join(root, "docker-compose.yml"), []byte("services:\n  web:\n    image: acme/web:1\n"), 0o644)
		os.WriteFile(filepath.Join(root, "imgup.yaml"), data, 0o644)
		Discover(context.Background(), root, Options{})
	})
}
