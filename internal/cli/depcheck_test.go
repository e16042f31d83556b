// This test locks down that the CLI stays thin: it imports no YAML, Docker or compose
// package; those belong to the stage packages.
package cli

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCLIImportsNoYAMLOrDocker(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"yaml", "github.com/moby/", "github.com/docker/", "compose-spec"} {
				if strings.Contains(p, banned) {
					t.Errorf("%s imports %s: the CLI must go through the stage packages", f, p)
				}
			}
		}
	}
}
