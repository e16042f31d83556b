// This test runs the tag editor over every real public compose file in
// ../shared/corpus/compose: for each service's image, change its tag and check that
// only the tag's characters changed, that the service now reads the new tag, and that
// no other service's image moved unless it shares the same characters. What it did
// to each service is locked in testdata/corpus.golden (go test -update rewrites it).
package composefile

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/sysconfig"
)

var update = flag.Bool("update", false, "rewrite golden files")

// corpusDir finds ../shared/corpus/compose beside the repository.
func corpusDir(t *testing.T) string {
	t.Helper()
	d, _ := filepath.Abs("../../../shared/corpus/compose")
	if _, err := os.Stat(d); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have ../shared beside the repository: %v", err)
		}
		t.Skip("../shared/corpus/compose is not here")
	}
	return d
}

func companionEnv(t *testing.T, dir string) (*sysconfig.File, Lookup) {
	for _, n := range []string{".env", "env.example"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f, err := sysconfig.Parse(n, b)
			if err != nil {
				t.Fatal(err)
			}
			m := f.Env()
			return f, func(k string) (string, bool) { v, ok := m[k]; return v, ok }
		}
	}
	return nil, func(string) (string, bool) { return "", false }
}

func resolveAll(t *testing.T, f *File, env Lookup) map[string]string {
	out := map[string]string{}
	for _, s := range f.Services {
		if s.Image == nil {
			continue
		}
		segs, err := Scan(s.Image.Raw)
		if err != nil {
			continue
		}
		if r, err := Resolve(segs, env); err == nil {
			out[s.Name] = r
		}
	}
	return out
}

func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	if len(files) < 13 {
		t.Fatalf("found %d corpus files, want 13", len(files))
	}
	var golden bytes.Buffer
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		data, _ := os.ReadFile(p)
		f, err := Parse(rel, data)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		envFile, env := companionEnv(t, filepath.Dir(p))
		before := resolveAll(t, f, env)
		fmt.Fprintf(&golden, "## %s (%d services)\n", rel, len(f.Services))
		for _, s := range f.Services {
			if s.Image == nil {
				fmt.Fprintf(&golden, "%s: no image\n", s.Name)
				continue
			}
			tg, err := Locate(s.Image, env)
			if err != nil || tg == nil {
				fmt.Fprintf(&golden, "%s: refused: %v\n", s.Name, err)
				continue
			}
			newTag := tg.Prefix + "imgup-NEW" + tg.Suffix
			repl, err := tg.Replacement(newTag)
			if err != nil {
				t.Errorf("%s %s: %v", rel, s.Name, err)
				continue
			}
			var after map[string]string
			switch tg.Where {
			case InFile:
				if got := string(data[tg.Start:tg.End]); got != tg.Old {
					t.Errorf("%s %s: bytes at the tag are %q, want %q", rel, s.Name, got, tg.Old)
				}
				out := Splice(data, tg.Start, tg.End, repl)
				if !bytes.Equal(out[:tg.Start], data[:tg.Start]) || !bytes.Equal(out[tg.Start+len(repl):], data[tg.End:]) {
					t.Errorf("%s %s: bytes outside the tag changed", rel, s.Name)
				}
				nf, err := Parse(rel, out)
				if err != nil {
					t.Errorf("%s %s: edited file does not parse: %v", rel, s.Name, err)
					continue
				}
				after = resolveAll(t, nf, env)
				line := 1 + bytes.Count(data[:tg.Start], []byte("\n"))
				fmt.Fprintf(&golden, "%s: %s:%d %q -> %q (%s%s)\n", s.Name, rel, line, tg.Old, repl, tg.Ref, via(s.Image))
			case InVariable:
				e, ok := envFile.Lookup(tg.Var)
				if !ok {
					t.Errorf("%s %s: variable %s not in the env file", rel, s.Name, tg.Var)
					continue
				}
				nv := e.Value[:tg.VarStart] + repl + e.Value[tg.VarEnd:]
				ne, _ := envFile.Edit(e, nv)
				nenv, _ := sysconfig.Parse(envFile.Path, ne)
				m := nenv.Env()
				after = resolveAll(t, f, func(k string) (string, bool) { v, ok := m[k]; return v, ok })
				fmt.Fprintf(&golden, "%s: %s:%d %s=%q -> %q (%s%s)\n", s.Name, envFile.Path, e.Line, tg.Var, e.Value, nv, tg.Ref, via(s.Image))
			}
			// The service now has the new tag; others moved only when they share the characters.
			if got := after[s.Name]; !strings.Contains(got, ":"+newTag) {
				t.Errorf("%s %s: after the edit the image is %q", rel, s.Name, got)
			}
			var moved []string
			for name, img := range before {
				if name != s.Name && after[name] != img {
					moved = append(moved, name)
				}
			}
			sort.Strings(moved)
			if len(moved) > 0 {
				fmt.Fprintf(&golden, "    also changes: %s\n", strings.Join(moved, ", "))
			}
		}
	}
	gp := filepath.Join("testdata", "corpus.golden")
	if *update {
		os.WriteFile(gp, golden.Bytes(), 0o644)
	}
	want, _ := os.ReadFile(gp)
	if !bytes.Equal(want, golden.Bytes()) {
		os.WriteFile(gp+".got", golden.Bytes(), 0o644)
		t.Errorf("corpus results differ from %s (new results in %s.got; -update to accept)", gp, gp)
	}
}

func via(s *Scalar) string {
	if s.Via == "" {
		return ""
	}
	return " via " + s.Via
}

// A one-line (flow, JSON-style) compose file of 1.5 MB once took 28 s: each offset was
// counted from the line's start. Parsing is linear now, ASCII or not.
func TestOneLineFileIsLinear(t *testing.T) {
	for _, label := range []string{"web", "wéb-服务"} {
		var b strings.Builder
		b.WriteString(`{"services": {`)
		n := 0
		for b.Len() < 1_500_000 {
			if n > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, `"s%d": {"labels": {"x": "%s"}, "image": "acme/%s%d:1.0.%d"}, "p%d": {"image": plain/x%d:2}`, n, label, "svc", n, n, n, n)
			n++
		}
		b.WriteString("}}")
		start := time.Now()
		f, err := Parse("one-line.json", []byte(b.String()))
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Services) != 2*n {
			t.Fatalf("%d services, want %d", len(f.Services), 2*n)
		}
		last := f.Services[len(f.Services)-1].Image
		if last == nil || last.Raw != fmt.Sprintf("plain/x%d:2", n-1) || b.String()[last.Start:last.End] != last.Raw {
			t.Fatalf("last image: %+v", last)
		}
		if took > 2*time.Second {
			t.Errorf("%s labels: %d services, 1.5 MB on one line parsed in %v; want linear time", label, 2*n, took)
		}
		t.Logf("%s labels: %d services on one line: %v", label, 2*n, took)
	}
}
