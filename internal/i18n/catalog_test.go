package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// formats finds every literal format given to a Printer (a variable or call named tr
// or tr()), to Msg, Errorf and Err, and to the CLI's usageError, in the module's code.
func formats(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// A console page's title: page{Title: "..."}.
			if kv, ok := n.(*ast.KeyValueExpr); ok && strings.Contains(p, "console") {
				if k, ok := kv.Key.(*ast.Ident); ok && (k.Name == "Title" || k.Name == "Error") {
					if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						out[s] = p
					}
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); ok {
				arg := map[string]int{"usageError": 0, "uploadError": 5}[id.Name]
				if id.Name != "usageError" && id.Name != "uploadError" || len(call.Args) <= arg {
					return true
				}
				if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out[s] = p
				}
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			arg := -1
			switch {
			case (sel.Sel.Name == "Msg" || sel.Sel.Name == "Errorf" || sel.Sel.Name == "Err") && isIdent(sel.X, "i18n"):
				arg = 0
			case isPrinter(sel.X) && (sel.Sel.Name == "Sprintf" || sel.Sel.Name == "T"):
				arg = 0
			case isPrinter(sel.X) && sel.Sel.Name == "Fprintf":
				arg = 1
			}
			if arg < 0 || len(call.Args) <= arg {
				return true
			}
			if lit, ok := call.Args[arg].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				out[s] = p
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The console's templates: {{.T "..."}}, {{$.T "..."}}, {{$.Tf "..." ...}}.
	pages, _ := filepath.Glob(filepath.Join(root, "internal", "console", "templates", "*.html"))
	call := regexp.MustCompile(`\.Tf? "((?:[^"\\]|\\.)*)"`)
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			s, err := strconv.Unquote(`"` + m[1] + `"`)
			if err != nil {
				t.Fatalf("%s: %q: %v", p, m[1], err)
			}
			out[s] = p
		}
	}
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func isPrinter(e ast.Expr) bool {
	if isIdent(e, "tr") {
		return true
	}
	if s, ok := e.(*ast.SelectorExpr); ok && s.Sel.Name == "tr" {
		return true // p.tr
	}
	if c, ok := e.(*ast.CallExpr); ok {
		if s, ok := c.Fun.(*ast.SelectorExpr); ok && (s.Sel.Name == "tr" || s.Sel.Name == "New" && isIdent(s.X, "i18n")) {
			return true // env.tr(), i18n.New(lang)
		}
	}
	return false
}

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// words says whether a format has text to translate: a letter outside its verbs.
func words(s string) bool {
	return regexp.MustCompile(`[A-Za-z]`).MatchString(verb.ReplaceAllString(s, ""))
}

func verbs(s string) []string {
	var v []string
	for _, m := range verb.FindAllString(s, -1) {
		v = append(v, regexp.MustCompile(`\[\d+\]`).ReplaceAllString(m, ""))
	}
	sort.Strings(v)
	return v
}

// TestEveryMessageHasChinese: every operator-facing format in the code has a Chinese
// translation with the same verbs, and the catalog holds nothing the code no longer says.
func TestEveryMessageHasChinese(t *testing.T) {
	used := formats(t)
	if len(used) < 40 {
		t.Fatalf("found only %d formats: the scan is broken", len(used))
	}
	var missing []string
	for f, where := range used {
		if !words(f) {
			continue
		}
		zh, ok := zhCatalog[f]
		if !ok {
			missing = append(missing, strconv.Quote(f)+" ("+where+")")
			continue
		}
		if strings.Join(verbs(f), " ") != strings.Join(verbs(zh), " ") {
			t.Errorf("%q: the Chinese %q has other verbs", f, zh)
		}
		if strings.HasSuffix(f, "\n") != strings.HasSuffix(zh, "\n") || strings.HasPrefix(f, "\n") != strings.HasPrefix(zh, "\n") {
			t.Errorf("%q: the Chinese %q starts or ends its lines differently", f, zh)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no Chinese for %s", m)
	}
	for en := range zhCatalog {
		if _, ok := used[en]; !ok && !extra[en] {
			t.Errorf("the catalog translates %q, which the code no longer says", en)
		}
	}
}

func TestDetect(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, c := range []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"", map[string]string{"LANG": "zh_CN.UTF-8"}, Chinese},
		{"", map[string]string{"LANG": "en_US.UTF-8"}, English},
		{"", map[string]string{"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, English},
		{"", map[string]string{"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, Chinese},
		{"", nil, English},
		{"zh", map[string]string{"LANG": "C"}, Chinese},
		{"en", map[string]string{"LANG": "zh_CN.UTF-8"}, English},
	} {
		if got, err := Detect(c.flag, env(c.env)); err != nil || got != c.want {
			t.Errorf("Detect(%q, %v) = %q, %v; want %q", c.flag, c.env, got, err, c.want)
		}
	}
	if _, err := Detect("fr", env(nil)); err == nil {
		t.Error("--lang fr is accepted")
	}
	if FromAcceptLanguage("zh-CN,zh;q=0.9,en;q=0.8") != Chinese || FromAcceptLanguage("en-US,en;q=0.9") != English || FromAcceptLanguage("") != English {
		t.Error("Accept-Language")
	}
	if New(Chinese).Sprintf("update %s done: %s. Undo it with: imgup rollback -C %s %s\n", "A", "B", "C", "A") == "" {
		t.Error("empty")
	}
}

// untranslated are the formats written straight to the operator's streams with fmt
// (fmt.Fprint*(env.Stdout|env.Stderr, "...")), and events' texts written as literals
// (update.Event{Text: "..."}): no Printer translates them.
func untranslated(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	root := filepath.Join("..", "..")
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		// The front ends: what imgup itself writes (not the build and test programs).
		if !strings.Contains(p, filepath.Join("internal", "cli")) && !strings.Contains(p, filepath.Join("internal", "console")) {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// An event's Text written as a literal: events reach every front end.
			if cl, ok := n.(*ast.CompositeLit); ok {
				if sel, ok := cl.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Event" {
					for _, e := range cl.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Text") {
							if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
								s, _ := strconv.Unquote(lit.Value)
								out[s] = p
							}
						}
					}
				}
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			fn, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !isIdent(fn.X, "fmt") || !strings.HasPrefix(fn.Sel.Name, "Fprint") {
				return true
			}
			w, ok := call.Args[0].(*ast.SelectorExpr)
			if !ok || (w.Sel.Name != "Stdout" && w.Sel.Name != "Stderr") {
				return true
			}
			if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				out[s] = p
			}
			return true
		})
		return nil
	})
	return out
}

// operatorVerbatim are the lines that stay as they are in every language: what
// scripts parse (docker load's own line), the error and note prefixes around text
// already translated, version, and the prompt's [y/N].
var operatorVerbatim = map[string]bool{
	"Loaded image ID: %s\n":        true,
	"imgup: %v\n":                  true,
	"imgup: %s\n":                  true,
	"imgup %s\n":                   true,
	"\n%s [y/N] ":                  true,
	"imgup: test crash after %s\n": true,
	"imgup: note: %s\n":            true,
	"docker-cli-plugin-metadata":   true,
}

// TestOperatorStreamsAreTranslated: nothing reaches the operator's stdout or stderr
// through fmt with words of its own, unless it is one of the verbatim lines.
func TestOperatorStreamsAreTranslated(t *testing.T) {
	var bad []string
	for f, where := range untranslated(t) {
		if words(f) && !operatorVerbatim[f] {
			bad = append(bad, strconv.Quote(f)+" ("+where+")")
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("written with fmt, not a Printer: %s", b)
	}
}
