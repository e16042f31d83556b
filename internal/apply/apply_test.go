// These tests lock down apply's file handling (edits check the bytes the plan saw;
// files are replaced keeping their mode) and its downtime arithmetic, without an engine.
package apply

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/history"

	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/plan"
)

func TestEditsCheckTheBytesThePlanSaw(t *testing.T) {
	p := filepath.Join(t.TempDir(), "docker-compose.yml")
	os.WriteFile(p, []byte("services:\n  web:\n    image: encoo/web:1 # x\r\n"), 0o640)
	edit := plan.Edit{Edit: history.Edit{File: p, Line: 3, Start: 38, End: 39, Old: "1", New: "2.0"}}
	got, files, err := newContents([]plan.Edit{edit})
	if err != nil || len(files) != 1 || string(got[p]) != "services:\n  web:\n    image: encoo/web:2.0 # x\r\n" {
		t.Fatalf("got %q %v", got[p], err)
	}
	if err := writeFile(p, got[p]); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
	}
	// The file changed since the plan: refuse, write nothing.
	if _, _, err := newContents([]plan.Edit{edit}); err == nil || !strings.Contains(err.Error(), "changed since the plan was made") {
		t.Errorf("got %v", err)
	}
}

func TestDowntime(t *testing.T) {
	st := &deploy.Stack{Name: "p", Project: "p", Dir: "/srv/p"}
	st.Services = []*deploy.Service{{Stack: st, Name: "web"}, {Stack: st, Name: "db"}}
	w := &watch{d: &deploy.Deployment{Stacks: []*deploy.Stack{st}}, keys: map[string]bool{"p/web": true, "p/db": true}, since: map[string]time.Time{}, total: map[string]time.Duration{}}
	c := func(svc, state, health string) engine.Container {
		return engine.Container{State: state, Health: health, Labels: map[string]string{engine.LabelProject: "p", engine.LabelService: svc, engine.LabelWorkingDir: "/srv/p"}}
	}
	t0 := time.Now()
	w.observe([]engine.Container{c("web", "running", "healthy"), c("db", "running", "")}, t0)
	w.observe([]engine.Container{c("web", "exited", ""), c("db", "running", "")}, t0.Add(time.Second))
	w.observe([]engine.Container{c("web", "running", "starting"), c("db", "running", "")}, t0.Add(2*time.Second))
	w.observe([]engine.Container{c("web", "running", "healthy"), c("db", "running", "")}, t0.Add(4*time.Second))
	if w.total["p/web"] != 3*time.Second || w.total["p/db"] != 0 {
		t.Errorf("downtime %v", w.total)
	}
}

// An installer's .env is often a symlink: the link stays, its target gets the edit.
func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "env"), 0o755)
	target := filepath.Join(dir, "env", "prod.env")
	os.WriteFile(target, []byte("TAG=1\n"), 0o640)
	link := filepath.Join(dir, ".env")
	if err := os.Symlink(filepath.Join("env", "prod.env"), link); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(link, []byte("TAG=2\n")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error(".env is no longer a symlink")
	}
	if b, _ := os.ReadFile(target); string(b) != "TAG=2\n" {
		t.Errorf("target: %q", b)
	}
}
