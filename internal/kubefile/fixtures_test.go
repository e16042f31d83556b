package kubefile

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/textedit"
)

// expectation is one line of a fixture's expect.txt: what imgup concludes for one
// container of a workload, an edit (file, line, value path, old tag) or a refusal.
type expectation struct {
	edit       bool
	file, old  string
	line       int
	path, text string
}

// readExpect reads testdata/<kind>/<case>/expect.txt: its first line (how the root is
// applied) and, by "Kind/name container c", what is expected.
func readExpect(t *testing.T, dir string) (string, map[string]expectation) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "expect.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	head, out := "", map[string]expectation{}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if head == "" {
			head = line
			continue
		}
		verb, rest, _ := strings.Cut(line, " ")
		key, what, ok := strings.Cut(rest, ": ")
		if !ok {
			t.Fatalf("%s: %q", dir, line)
		}
		e := expectation{edit: verb == "EDIT", text: what}
		if e.edit {
			w := strings.Fields(what) // file F line N path P old T
			if len(w) != 8 {
				t.Fatalf("%s: %q", dir, line)
			}
			e.file, e.path, e.old = w[1], w[5], w[7]
			e.line, _ = strconv.Atoi(w[3])
		}
		out[key] = e
	}
	return head, out
}

// check compares what imgup found for one container with the expectation.
func check(t *testing.T, dir, key string, want map[string]expectation, file string, start, end int, err error) {
	t.Helper()
	e, ok := want[key]
	if !ok {
		t.Errorf("%s: %s is not in expect.txt (found %s:%d-%d, %v)", dir, key, file, start, end, err)
		return
	}
	delete(want, key)
	if !e.edit {
		if err == nil {
			t.Errorf("%s: %s: edited %s, want refused: %s", dir, key, file, e.text)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %s: %v; want an edit of %s line %d", dir, key, err, e.file, e.line)
		return
	}
	b, rerr := os.ReadFile(file)
	if rerr != nil {
		t.Fatal(rerr)
	}
	rel, _ := filepath.Rel(dir, file)
	if rel != filepath.FromSlash(e.file) || textedit.LineOf(b, start) != e.line || string(b[start:end]) != e.old {
		t.Errorf("%s: %s: edits %s line %d %q; want %s line %d %q", dir, key, rel, textedit.LineOf(b, start), b[start:end], e.file, e.line, e.old)
	}
}

// The kustomize fixtures, each in the shape of a real public kustomization
// (testdata/README.md): every container's tag is found where expect.txt says, or
// refused.
func TestKustomizeFixtures(t *testing.T) {
	cases, _ := filepath.Glob("testdata/kustomize/*")
	if len(cases) < 6 {
		t.Fatalf("%d kustomize fixtures", len(cases))
	}
	none := func(string) (string, bool) { return "", false }
	for _, dir := range cases {
		_, want := readExpect(t, dir)
		abs, _ := filepath.Abs(dir)
		kz, err := ReadKustomization(abs, abs, os.ReadFile)
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		for i, f := range kz.Files {
			chain := kz.Chain[i]
			for _, w := range f.Workloads {
				name := w.Name
				var perr error
				for _, k := range chain {
					name = k.NamePrefix + name + k.NameSuffix
					if k.Patches != "" {
						perr = os.ErrInvalid
					}
				}
				for _, c := range w.Containers {
					if c.Image == nil {
						continue
					}
					key := w.Kind + "/" + name + " container " + c.Name
					ki, err := Apply(c.Image.Raw, chain)
					if err == nil {
						err = perr
					}
					if err != nil {
						check(t, abs, key, want, "", 0, 0, err)
						continue
					}
					if ki.TagIsEntry {
						check(t, abs, key, want, ki.Tag.File, ki.Tag.Start, ki.Tag.End, nil)
						continue
					}
					tg, err := composefile.Locate(c.Image, none)
					if err == nil && tg.Colon {
						err = os.ErrInvalid
					}
					if err != nil {
						check(t, abs, key, want, "", 0, 0, err)
						continue
					}
					check(t, abs, key, want, c.Image.File, tg.Start, tg.End, nil)
				}
			}
		}
		for key := range want {
			t.Errorf("%s: expect.txt names %s, which imgup did not find", dir, key)
		}
	}
}
