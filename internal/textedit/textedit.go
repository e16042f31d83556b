// Package textedit describes byte-exact edits of a text file: which bytes change, and
// the line helpers that keep a file's own line endings when a line is added or removed.
package textedit

import "bytes"

// Splice replaces bytes [Start, End) of a file, which hold Old, with New. Line is the
// 1-based line where it happens. An insertion has Start == End and Old == "".
type Splice struct {
	Line  int
	Start int
	End   int
	Old   string
	New   string
}

// LineOf returns the 1-based line of byte offset off.
func LineOf(data []byte, off int) int {
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// LineBounds returns the start of the line holding off and the start of the next
// line (after its line ending; the file's length on the last line).
func LineBounds(data []byte, off int) (start, next int) {
	start = bytes.LastIndexByte(data[:off], '\n') + 1
	if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
		return start, off + i + 1
	}
	return start, len(data)
}

// EOL is the file's line ending: "\r\n" when its first line ends so, else "\n".
func EOL(data []byte) string {
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// RemoveLine is the splice that deletes the whole line holding off.
func RemoveLine(data []byte, off int) Splice {
	s, n := LineBounds(data, off)
	return Splice{Line: LineOf(data, off), Start: s, End: n, Old: string(data[s:n])}
}

// InsertLineAfter is the splice that adds text as a new line after the line holding
// off (at the end of the file when off is -1), in the file's line ending.
func InsertLineAfter(data []byte, off int, text string) Splice {
	eol := EOL(data)
	at := len(data)
	if off >= 0 {
		_, at = LineBounds(data, off)
	}
	add := text + eol
	if at == len(data) && len(data) > 0 && data[len(data)-1] != '\n' {
		add = eol + text // the last line has no line ending: end it, and leave ours without
	}
	return Splice{Line: LineOf(data, at), Start: at, End: at, New: add}
}

// InsertLineBefore is the splice that adds text as a new line before the line holding off.
func InsertLineBefore(data []byte, off int, text string) Splice {
	s, _ := LineBounds(data, off)
	return Splice{Line: LineOf(data, s), Start: s, End: s, New: text + EOL(data)}
}
