package update

import (
	"strings"

	"github.com/encoo-tools/imgup/internal/deploy"

	"github.com/encoo-tools/imgup/internal/readfile"
	"github.com/encoo-tools/imgup/internal/textedit"
)

// DiffLine is one edit of a plan as a page shows it: the line it is on, with the bytes
// before and after the change, and only the characters that differ marked (Old, New).
// Secret values are never shown.
type DiffLine struct {
	File, Key, Why       string
	Line                 int
	Before, Old, After   string
	NewBefore, NewAfter  string
	New                  string
	Secret, Insert, Drop bool
}

// Diff is the plan's edits as lines of the files they change, read now.
func Diff(p *Plan) []DiffLine {
	cache := map[string][]byte{}
	var out []DiffLine
	for _, e := range p.Edits {
		data, ok := cache[e.File]
		if !ok {
			data, _ = readfile.Read(e.File, 0)
			cache[e.File] = data
		}
		old, nw := e.Edit.Shown()
		d := DiffLine{File: deploy.RelTo(p.Root, e.File), Key: e.Key, Line: e.Line, Why: strings.Join(e.Cause, "; "), Old: old, New: nw, Secret: e.Secret}
		if e.Start >= 0 && e.End <= len(data) && e.Start <= e.End && string(data[e.Start:e.End]) == e.Old {
			ls, next := textedit.LineBounds(data, e.Start)
			_, lnext := textedit.LineBounds(data, max(e.End-1, e.Start))
			if e.End == e.Start || e.End > next {
				lnext = next
			}
			d.Before, d.After = string(data[ls:e.Start]), strings.TrimRight(string(data[e.End:max(lnext, e.End)]), "\r\n")
			d.NewBefore, d.NewAfter = d.Before, d.After
			if e.Secret {
				d.Before, d.After, d.NewBefore, d.NewAfter = "", "", "", ""
			}
		}
		d.Insert, d.Drop = e.Old == "", e.New == ""
		d.Old, d.New = strings.TrimRight(d.Old, "\r\n"), strings.TrimRight(d.New, "\r\n")
		if !e.Secret {
			// Mark only the bytes that differ: a tag in a full reference, a digit.
			pre, suf := common(d.Old, d.New)
			d.Before, d.NewBefore = d.Before+d.Old[:pre], d.NewBefore+d.New[:pre]
			d.After, d.NewAfter = d.Old[len(d.Old)-suf:]+d.After, d.New[len(d.New)-suf:]+d.NewAfter
			d.Old, d.New = d.Old[pre:len(d.Old)-suf], d.New[pre:len(d.New)-suf]
		}
		out = append(out, d)
	}
	return out
}

// common is how many leading and trailing bytes a and b share, widened to whole words
// (a tag, a version, a value between separators), so that the page marks what an
// operator reads as the change: the tag of a full reference, not its last digits.
func common(a, b string) (pre, suf int) {
	sep := func(c byte) bool { return strings.IndexByte(":=/@ \"'\t#,;", c) >= 0 }
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	for pre > 0 && !sep(a[pre-1]) {
		pre--
	}
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	for suf > 0 && !sep(a[len(a)-suf]) {
		suf--
	}
	return pre, suf
}
