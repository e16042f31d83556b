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
