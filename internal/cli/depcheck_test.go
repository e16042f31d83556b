// This test locks down the layering: every import of every package (tests aside) must
// be one the table "What each package may import" in docs/design.md allows it, matched
// by module path, not by substring. The CLI so imports no YAML, compose or Docker
// package: those belong to the stage packages.
package cli

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/encoo-tools/imgup"

func TestImportsFollowDesign(t *testing.T) {
	root := filepath.Join("..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string][]string{}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|(.*)\\|$")
	tick := regexp.MustCompile("`([^`]+)`")
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		var list []string
		for _, a := range tick.FindAllStringSubmatch(m[2], -1) {
			p := a[1]
			if strings.HasPrefix(p, "internal/") {
				p = module + "/" + p
			}
			list = append(list, p)
		}
		allowed[module+"/"+m[1]] = list
	}
	if len(allowed) < 10 {
		t.Fatalf("read only %d rows from docs/design.md", len(allowed))
	}
	seen := 0
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if n := d.Name(); n == "testdata" || n == ".git" || (strings.HasPrefix(n, ".") && p != root) {
			return filepath.SkipDir
		}
		files, _ := filepath.Glob(filepath.Join(p, "*.go"))
		var imports []string
		sources := 0
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			sources++
			pf, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range pf.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				imports = append(imports, path)
			}
		}
		if sources == 0 {
			return nil // no package here, or tests only
		}
		rel, _ := filepath.Rel(root, p)
		pkg := module + "/" + filepath.ToSlash(rel)
		list, ok := allowed[pkg]
		if !ok {
			t.Errorf("%s has no row in docs/design.md's import table", rel)
			return nil
		}
		seen++
		for _, imp := range imports {
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // the standard library
			}
			ok := false
			for _, a := range list {
				if imp == a || strings.HasPrefix(imp, a+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s, which docs/design.md does not allow it", rel, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < len(allowed) {
		t.Errorf("checked %d packages, the table lists %d: a row names no package", seen, len(allowed))
	}
}
