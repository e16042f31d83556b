package update

import "testing"

func TestCommon(t *testing.T) {
	for _, c := range []struct {
		a, b     string
		pre, suf int
	}{
		{"reg/img:4.1.70000", "reg/img:4.1.76383", 8, 0},
		{"4.1.70000", "4.1.76383", 0, 0},
		{"", "x", 0, 0},
		{"x=1 # c", "x=22 # c", 2, 4},
		{"版本=1", "版本=2", len("版本="), 0},
		{"a中b", "a文b", 0, 0},
		{"'a:1'", "'a:2'", 3, 1},
	} {
		pre, suf := common(c.a, c.b)
		if pre != c.pre || suf != c.suf {
			t.Errorf("common(%q, %q) = %d, %d, want %d, %d", c.a, c.b, pre, suf, c.pre, c.suf)
		}
	}
}
