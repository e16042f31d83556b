//go:build e2e

package kubefile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/composefile"
)

// helmBin is the helm CLI the tests use: $IMGUP_K8S_BIN/helm (scripts/k8s-bins.sh
// builds it), else helm on PATH. Without one the test fails: it is never skipped.
func helmBin(t *testing.T) string {
	if d := os.Getenv("IMGUP_K8S_BIN"); d != "" {
		if p := filepath.Join(d, "helm"); isFile(p) {
			return p
		}
	}
	p, err := exec.LookPath("helm")
	if err != nil {
		t.Fatal("no helm: run scripts/k8s-bins.sh and set IMGUP_K8S_BIN (scripts/test.sh does)")
	}
	return p
}

// The Helm fixtures, each in the shape of a real public chart (testdata/README.md),
// rendered by the real helm template: every container's tag is traced to the value
// and the operator's values file expect.txt says, or refused.
func TestHelmFixtures(t *testing.T) {
	helm := helmBin(t)
	cases, _ := filepath.Glob("testdata/helm/*")
	if len(cases) < 7 {
		t.Fatalf("%d helm fixtures", len(cases))
	}
	none := func(string) (string, bool) { return "", false }
	for _, dir := range cases {
		head, want := readExpect(t, dir)
		abs, _ := filepath.Abs(dir)
		// release REL chart CHART values V...
		w := strings.Fields(head)
		if len(w) < 6 || w[0] != "release" || w[2] != "chart" || w[4] != "values" {
			t.Fatalf("%s: %q", dir, head)
		}
		args := []string{"template", w[1], w[3]}
		var values []*Values
		for _, v := range w[5:] {
			args = append(args, "-f", v)
			b, err := os.ReadFile(filepath.Join(abs, v))
			if err != nil {
				t.Fatal(err)
			}
			vf, err := ParseValues(filepath.Join(abs, v), b)
			if err != nil {
				t.Fatal(err)
			}
			values = append(values, vf)
		}
		cmd := exec.Command(helm, args...)
		cmd.Dir = abs
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: helm %s: %v", dir, strings.Join(args, " "), err)
			continue
		}
		chart, err := ReadChart(filepath.Join(abs, w[3]), os.ReadFile)
		if err != nil {
			t.Fatal(err)
		}
		rendered, err := ParseRendered(out)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rendered {
			for _, c := range r.Workload.Containers {
				if c.Image == nil {
					continue
				}
				n++
				key := r.Workload.Kind + "/" + r.Workload.Name + " container " + c.Name
				tg, err := composefile.Locate(c.Image, none)
				if err == nil && (tg.Colon || strings.Contains(c.Image.Raw, "@")) {
					err = os.ErrInvalid
				}
				var tr Traced
				if err == nil {
					tr, err = chart.Trace(r.Source, c.Image.Raw, tg.Tag, values)
				}
				if err != nil {
					t.Logf("%s: %s: refused: %v", dir, key, err)
					check(t, abs, key, want, "", 0, 0, err)
					continue
				}
				check(t, abs, key, want, tr.Scalar.File, tr.Scalar.Start, tr.Scalar.End, nil)
			}
		}
		t.Logf("%s: %d containers", dir, n)
		for key := range want {
			t.Errorf("%s: expect.txt names %s, which imgup did not find", dir, key)
		}
	}
}
