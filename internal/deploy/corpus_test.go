// This test reads every real compose file of ../shared/corpus/compose as a
// deployment and checks imgup's reading of each service's image against compose-go's:
// they must never disagree.
package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCorpusAgreesWithCompose(t *testing.T) {
	dir, _ := filepath.Abs("../../../shared/corpus/compose")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have ../shared beside the repository: %v", err)
		}
		t.Skip("../shared/corpus/compose is not here")
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*", "*.y*ml"))
	for _, p := range matches {
		rel, _ := filepath.Rel(dir, p)
		t.Run(rel, func(t *testing.T) {
			root := t.TempDir()
			copyFile(t, p, filepath.Join(root, "docker-compose.yml"))
			for _, env := range []string{".env", "env.example"} {
				if _, err := os.Stat(filepath.Join(filepath.Dir(p), env)); err == nil {
					copyFile(t, filepath.Join(filepath.Dir(p), env), filepath.Join(root, ".env"))
					break
				}
			}
			d, err := Discover(context.Background(), root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range d.Warnings {
				t.Logf("warning: %s", w)
			}
			editable := 0
			for _, svc := range d.Stacks[0].Services {
				if svc.Err != nil && strings.Contains(svc.Err.Error(), "but compose reads") {
					t.Errorf("%s: %v", svc.Name, svc.Err)
				}
				if svc.Target != nil && svc.Err == nil {
					editable++
				}
			}
			t.Logf("%d services, %d with an editable image", len(d.Stacks[0].Services), editable)
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
