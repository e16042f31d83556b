package deploy

// These tests lock down what imgup reads of vendor-shaped control scripts
// (../e2e/testdata/vendors) with nothing running: the restart's compose calls define
// the stacks, with the project and the files compose itself would take.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
)

func writeVendor(t *testing.T, name, project string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), project)
	if err := deploytest.Copy(filepath.Join("..", "e2e", "testdata", "vendors", name), root, strings.NewReplacer("{NAME}", project, "{P}", "")); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestVendorShapesWhenNothingRuns(t *testing.T) {
	for _, c := range []struct {
		vendor  string
		stack   string
		project string
		files   []string
	}{
		// 1: bin/acmectl execs lib/compose-wrapper.sh, which builds -f from config/rc.
		{"wrapper-rc", "lib", "acme", []string{"lib/base.yml", "lib/web.yml"}},
		// 2: an exact -f list beside docker-compose-inits.yml.
		{"exact-f", "console", "acme", []string{"docker-compose.yml"}},
	} {
		t.Run(c.vendor, func(t *testing.T) {
			root := writeVendor(t, c.vendor, c.project)
			d, err := Discover(context.Background(), root, Options{Environ: os.Environ()})
			if err != nil {
				t.Fatal(err)
			}
			s := d.Stack(c.stack)
			if s == nil {
				var names []string
				for _, s := range d.Stacks {
					names = append(names, s.Name)
				}
				t.Fatalf("no stack %s; stacks %v", c.stack, names)
			}
			var files []string
			for _, f := range s.FilePaths() {
				files = append(files, d.Rel(f))
			}
			if s.Project != c.project || !slices.Equal(files, c.files) || s.ProjectFrom != FromScript {
				t.Errorf("project %q (%s: %s), files %v (%s); want %q, %v", s.Project, s.ProjectFrom, s.ProjectWhy, files, s.FilesFrom, c.project, c.files)
			}
			if len(d.Stacks) != 1 {
				t.Errorf("%d stacks, want 1: the restart's calls define them", len(d.Stacks))
			}
		})
	}
}

// The image comes from IMAGE, which the wrapper builds from config/rc's IMAGE_REPO
// and the VERSION file, and exports: compose interpolates with it, and the tag is
// edited in VERSION.
func TestExportedImageTracedToVersionFile(t *testing.T) {
	root := writeVendor(t, "wrapper-rc", "acme")
	d, err := Discover(context.Background(), root, Options{Environ: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Stack("lib")
	if s == nil {
		t.Fatal("no lib stack")
	}
	web := s.Service("web")
	if web == nil || web.Target == nil || web.Err != nil || web.Target.Ref != "acme/web:1.0.0" {
		t.Fatalf("web: %+v", web)
	}
	src, err := s.VarSource(web.Target.Var, web.Target.VarStart, web.Target.VarEnd)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(root, "VERSION"))
	if src.File != filepath.Join(root, "VERSION") || string(b[src.Start:src.End]) != "1.0.0" {
		t.Errorf("source %+v", src)
	}
	// A value nothing it reads holds is not traced, and the error names the variable.
	os.WriteFile(filepath.Join(root, "VERSION"), []byte("1.0.0-rc\n"), 0o644)
	for i := range s.read {
		s.read[i].data = []byte("x\n")
	}
	if _, err := s.VarSource(web.Target.Var, web.Target.VarStart, web.Target.VarEnd); err == nil || !strings.Contains(err.Error(), "${IMAGE}") {
		t.Errorf("untraceable: %v", err)
	}
}
