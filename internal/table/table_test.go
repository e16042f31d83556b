package table

import (
	"strings"
	"testing"
)

func TestRenderFitsAndAligns(t *testing.T) {
	tb := &Table{
		Header:   []string{"SERVICE", "IMAGE", "FILE", "状态"},
		Rows:     [][]string{{"console/console-web", "reg.example/encoo/console-web-v4-pvt:4.1.76383", "docker-compose.service.yml:13", "运行中"}, {"vicode/服务", "a:1", "vicode/docker-compose.yml:4", "running"}},
		Optional: []bool{false, false, true, false},
	}
	full, dropped := tb.Render(0)
	if dropped || !strings.Contains(full, "docker-compose.service.yml:13") {
		t.Fatalf("unlimited:\n%s", full)
	}
	lines := strings.Split(strings.TrimRight(full, "\n"), "\n")
	col := func(l, cell string) int { return Width(l[:strings.Index(l, cell)]) }
	if col(lines[0], "状态") != col(lines[1], "运行中") || col(lines[1], "运行中") != col(lines[2], "running") {
		t.Errorf("wide characters misalign the last column:\n%s", full)
	}
	for _, w := range []int{100, 80, 60, 40} {
		out, _ := tb.Render(w)
		for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			if Width(l) > w {
				t.Errorf("width %d: line is %d cells: %q", w, Width(l), l)
			}
		}
		if w <= 80 && strings.Contains(out, "docker-compose.service.yml") {
			t.Errorf("width %d keeps the optional column:\n%s", w, out)
		}
	}
	out, _ := tb.Render(60)
	if !strings.Contains(out, ":4.1.76383") || !strings.Contains(out, "…") {
		t.Errorf("a shortened image keeps its tag:\n%s", out)
	}
}

// The ellipsis is one cell in every locale, a duplicate column goes before names are
// shortened, and a shortened service name keeps its distinguishing end.
func TestFitKeepsWhatMatters(t *testing.T) {
	t.Setenv("LC_ALL", "zh_CN.UTF-8")
	if Width("…") != 1 {
		t.Errorf("… takes %d cells", Width("…"))
	}
	tb := &Table{
		Header: []string{"SERVICE", "LOADED", "RUNNING", "STATE"},
		Rows: [][]string{
			{"console/console-rpa-rdp-service", "a1b2c3d4e5f6", "a1b2c3d4e5f6", "运行中"},
			{"console/console-rpa-rdp-web", "a1b2c3d4e5f6", "a1b2c3d4e5f6", "running"},
		},
	}
	out, dropped := tb.Render(60)
	if !dropped || strings.Count(out, "a1b2c3d4e5f6") != 2 || !strings.Contains(out, "console/console-rpa-rdp-service") {
		t.Errorf("the duplicate column should go first, the names stay whole:\n%s", out)
	}
	out, _ = tb.Render(36)
	if !strings.Contains(out, "service ") || !strings.Contains(out, "rdp-web ") {
		t.Errorf("shortened names lose their ends:\n%s", out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	col := func(l, cell string) int { return Width(l[:strings.Index(l, cell)]) }
	if col(lines[0], "STATE") != col(lines[1], "运行中") || col(lines[1], "运行中") != col(lines[2], "running") {
		t.Errorf("rows misalign with the header:\n%s", out)
	}
	for _, l := range lines {
		if Width(l) > 36 {
			t.Errorf("line over 36 cells: %q", l)
		}
	}
}
