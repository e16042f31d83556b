package textedit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// apply splices s into data: what an edit writes.
func apply(data []byte, s Splice) string {
	if string(data[s.Start:s.End]) != s.Old {
		panic("the splice's Old is not the bytes it replaces")
	}
	return string(data[:s.Start]) + s.New + string(data[s.End:])
}

func TestLines(t *testing.T) {
	data := []byte("a=1\nbb=2\r\n\nlast")
	for _, c := range []struct {
		off, line, start, next int
	}{
		{0, 1, 0, 4}, {3, 1, 0, 4}, {4, 2, 4, 10}, {9, 2, 4, 10}, {10, 3, 10, 11}, {11, 4, 11, 15}, {14, 4, 11, 15}, {15, 4, 11, 15},
	} {
		if got := LineOf(data, c.off); got != c.line {
			t.Errorf("LineOf(%d) = %d, want %d", c.off, got, c.line)
		}
		if s, n := LineBounds(data, c.off); s != c.start || n != c.next {
			t.Errorf("LineBounds(%d) = %d, %d, want %d, %d", c.off, s, n, c.start, c.next)
		}
	}
}

func TestEOL(t *testing.T) {
	for in, want := range map[string]string{"": "\n", "x": "\n", "a\nb\r\n": "\n", "a\r\nb\n": "\r\n", "\n": "\n", "\r\n": "\r\n"} {
		if got := EOL([]byte(in)); got != want {
			t.Errorf("EOL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Lines are added and removed in the file's own line endings, and only those bytes
// change, whatever the file's last line looks like.
func TestSplices(t *testing.T) {
	for _, c := range []struct {
		name, in string
		edit     func([]byte) Splice
		want     string
	}{
		{"remove a middle line", "A=1\nB=2\nC=3\n", func(d []byte) Splice { return RemoveLine(d, 5) }, "A=1\nC=3\n"},
		{"remove the last line without an ending", "A=1\nB=2", func(d []byte) Splice { return RemoveLine(d, 5) }, "A=1\n"},
		{"remove a CRLF line", "A=1\r\nB=2\r\nC=3\r\n", func(d []byte) Splice { return RemoveLine(d, 6) }, "A=1\r\nC=3\r\n"},
		{"insert after, LF", "A=1\nB=2\n", func(d []byte) Splice { return InsertLineAfter(d, 0, "X=9") }, "A=1\nX=9\nB=2\n"},
		{"insert after, CRLF", "A=1\r\nB=2\r\n", func(d []byte) Splice { return InsertLineAfter(d, 0, "X=9") }, "A=1\r\nX=9\r\nB=2\r\n"},
		{"append to a file without a final newline", "A=1\nB=2", func(d []byte) Splice { return InsertLineAfter(d, -1, "X=9") }, "A=1\nB=2\nX=9"},
		{"append to a CRLF file without a final newline", "A=1\r\nB=2", func(d []byte) Splice { return InsertLineAfter(d, -1, "X=9") }, "A=1\r\nB=2\r\nX=9"},
		{"append to an empty file", "", func(d []byte) Splice { return InsertLineAfter(d, -1, "X=9") }, "X=9\n"},
		{"append after the last line", "A=1\n", func(d []byte) Splice { return InsertLineAfter(d, 2, "X=9") }, "A=1\nX=9\n"},
		{"insert before", "A=1\r\nB=2\r\n", func(d []byte) Splice { return InsertLineBefore(d, 7, "X=9") }, "A=1\r\nX=9\r\nB=2\r\n"},
		{"insert before the first line", "# c\nA=1\n", func(d []byte) Splice { return InsertLineBefore(d, 0, "X=9") }, "X=9\n# c\nA=1\n"},
	} {
		data := []byte(c.in)
		s := c.edit(data)
		if got := apply(data, s); got != c.want {
			t.Errorf("%s: %s", c.name, cmp.Diff(c.want, got))
		}
		if s.Line != LineOf(data, s.Start) {
			t.Errorf("%s: Line %d, but the splice starts on line %d", c.name, s.Line, LineOf(data, s.Start))
		}
	}
}
