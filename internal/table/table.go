// Package table lays out the text tables imgup prints (status, the final table of an
// apply) in columns measured in terminal cells, so that Chinese and other wide
// characters stay aligned, and fits them to the terminal: optional columns go first,
// then the widest cells are shortened with "…". Machine output (--json) never passes
// through here.
package table

import (
	"strings"

	"github.com/mattn/go-runewidth"
)

// Table is a header and rows of cells.
type Table struct {
	Header []string
	Rows   [][]string
	// Optional marks columns that may be left out when the table is too wide (the
	// command's --wide shows them).
	Optional []bool
	// Gap is the space between columns (default 3).
	Gap int
}

// cells measures text: East Asian wide characters take two cells, and characters of
// ambiguous width ("…") one, whatever the locale says, so that a shortened cell and
// its header line up under zh_CN as under C.
var cells = &runewidth.Condition{EastAsianWidth: false, StrictEmojiNeutral: true}

// Width is the number of terminal cells s takes (East Asian wide characters take two).
func Width(s string) int { return cells.StringWidth(s) }

// minCell is the narrowest a shortened column gets.
const minCell = 5

// Render lays the table out within width cells (0: no limit) and says whether it left
// columns out.
func (t *Table) Render(width int) (string, bool) {
	gap := t.Gap
	if gap == 0 {
		gap = 3
	}
	keep := make([]bool, len(t.Header))
	for i := range keep {
		keep[i] = true
	}
	widths := t.widths()
	total := func() int {
		n := 0
		for i, w := range widths {
			if keep[i] {
				n += w + gap
			}
		}
		return n - gap
	}
	dropped := false
	if width > 0 {
		for i := len(keep) - 1; i >= 0 && total() > width; i-- {
			if i < len(t.Optional) && t.Optional[i] {
				keep[i], dropped = false, true
			}
		}
		// A column that says what another already says (two image IDs that agree in
		// every row) goes before any name is shortened.
		for j := len(keep) - 1; j > 0 && total() > width; j-- {
			for i := 0; i < j; i++ {
				if keep[i] && keep[j] && t.same(i, j) {
					keep[j], dropped = false, true
					break
				}
			}
		}
		// Shorten the widest column, one cell at a time, down to minCell cells.
		for total() > width {
			wi := -1
			for i, w := range widths {
				if keep[i] && w > minCell && (wi < 0 || w > widths[wi]) {
					wi = i
				}
			}
			if wi < 0 {
				break
			}
			widths[wi]--
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i, c := range cells {
			if !keep[i] {
				continue
			}
			c = fit(c, widths[i])
			l.WriteString(c)
			l.WriteString(strings.Repeat(" ", widths[i]-Width(c)+gap))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteString("\n")
	}
	line(t.Header)
	for _, r := range t.Rows {
		line(r)
	}
	return b.String(), dropped
}

// same reports whether columns i and j hold the same text in every row.
func (t *Table) same(i, j int) bool {
	if len(t.Rows) == 0 {
		return false
	}
	for _, r := range t.Rows {
		if i >= len(r) || j >= len(r) || r[i] != r[j] {
			return false
		}
	}
	return true
}

func (t *Table) widths() []int {
	w := make([]int, len(t.Header))
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range r {
			if i < len(w) {
				w[i] = max(w[i], Width(c))
			}
		}
	}
	return w
}

// fit shortens s to n cells, keeping a third of its start and the rest of its end
// (what tells names apart is at the end: …rdp-service, …rdp-web, and a reference's
// tag), with "…" between.
func fit(s string, n int) string {
	if Width(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	head := (n - 1) / 3
	tail := n - 1 - head
	return cells.Truncate(s, head, "") + "…" + lastCells(s, tail)
}

func lastCells(s string, n int) string {
	r := []rune(s)
	w := 0
	i := len(r)
	for i > 0 && w+cells.RuneWidth(r[i-1]) <= n {
		w += cells.RuneWidth(r[i-1])
		i--
	}
	return string(r[i:])
}
