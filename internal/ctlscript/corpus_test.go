// This test dry-runs the real public control scripts of ../shared/corpus/scripts, each
// as its vendor ships it (a folder per product, with the file "restart" naming the
// command to dry-run, and INDEX.md giving each one's source, commit and path), and
// locks each one's compose calls in testdata/corpus/NAME.golden (go test -update
// rewrites them; read each new golden against the script before accepting it).
package ctlscript

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestPublicScripts(t *testing.T) {
	dir, _ := filepath.Abs("../../../shared/corpus/scripts")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("no corpus of public control scripts at %s yet: %v", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			root := filepath.Join(dir, e.Name())
			cmd, err := os.ReadFile(filepath.Join(root, "restart"))
			if err != nil {
				t.Fatalf("%s: the file restart names the command to dry-run: %v", root, err)
			}
			got := calls(dryRunIn(t, root, strings.TrimSpace(string(cmd))))
			got = strings.ReplaceAll(got, root, "ROOT")
			gp := filepath.Join("testdata", "corpus", e.Name()+".golden")
			if *update {
				os.MkdirAll(filepath.Dir(gp), 0o755)
				os.WriteFile(gp, []byte(got), 0o644)
			}
			want, err := os.ReadFile(gp)
			if err != nil {
				t.Fatalf("no golden file %s (-update writes it): %v\n%s", gp, err, got)
			}
			if string(want) != got {
				t.Errorf("%s: the dry run differs from %s:\n%s", e.Name(), gp, got)
			}
		})
	}
}
