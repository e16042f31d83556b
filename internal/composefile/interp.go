package composefile

import (
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// Segment is one piece of an interpolated string: literal text or a variable.
type Segment struct {
	Lit string // literal text ("$$" already read as "$")
	Var string // variable name, when this is a variable
	// Op is "", ":-", "-", ":?", "?", ":+" or "+"; Default is the text after it.
	Op      string
	Default string
	// Start and End are the segment's offsets in the raw string; DefStart is where
	// Default starts.
	Start, End, DefStart int
}

// Scan splits s the way compose interpolates it: $VAR, ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?err}, ${VAR:+alt}, and $$ for a literal $.
func Scan(s string) ([]Segment, error) {
	var out []Segment
	lit := func(text string, start, end int) {
		if n := len(out); n > 0 && out[n-1].Var == "" && out[n-1].End == start {
			out[n-1].Lit += text
			out[n-1].End = end
			return
		}
		out = append(out, Segment{Lit: text, Start: start, End: end})
	}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			lit(s[i:], i, len(s))
			break
		}
		if j > 0 {
			lit(s[i:i+j], i, i+j)
		}
		i += j
		switch {
		case strings.HasPrefix(s[i:], "$$"):
			lit("$", i, i+2)
			i += 2
		case strings.HasPrefix(s[i:], "${"):
			end := matchBrace(s, i+2)
			if end < 0 {
				return nil, i18n.Errorf("unclosed ${ in %q", s)
			}
			body := s[i+2 : end]
			seg := Segment{Start: i, End: end + 1}
			n := 0
			for n < len(body) && (isAlnum(body[n]) || body[n] == '_') {
				n++
			}
			seg.Var = body[:n]
			if seg.Var == "" {
				return nil, i18n.Errorf("bad variable in %q", s)
			}
			rest := body[n:]
			for _, op := range []string{":-", ":?", ":+", "-", "?", "+"} {
				if strings.HasPrefix(rest, op) {
					seg.Op, seg.Default = op, rest[len(op):]
					seg.DefStart = i + 2 + n + len(op)
					break
				}
			}
			if seg.Op == "" && rest != "" {
				return nil, i18n.Errorf("bad variable %q", s[i:end+1])
			}
			out = append(out, seg)
			i = end + 1
		default:
			n := 1
			for i+n < len(s) && (isAlnum(s[i+n]) || s[i+n] == '_') {
				n++
			}
			if n == 1 {
				lit("$", i, i+1)
				i++
				continue
			}
			out = append(out, Segment{Var: s[i+1 : i+n], Start: i, End: i + n})
			i += n
		}
	}
	return out, nil
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// matchBrace finds the } closing a ${ whose body starts at i, allowing nested ${...}.
func matchBrace(s string, i int) int {
	depth := 1
	for ; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			depth++
			i++
		case s[i] == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// Lookup tells a variable's value and whether it is set.
type Lookup func(name string) (string, bool)

// value is what a segment becomes, and whether that came from its default text.
func (g Segment) value(env Lookup) (v string, fromDefault bool, err error) {
	if g.Var == "" {
		return g.Lit, false, nil
	}
	val, set := env(g.Var)
	switch g.Op {
	case ":-":
		if !set || val == "" {
			return g.Default, true, nil
		}
	case "-":
		if !set {
			return g.Default, true, nil
		}
	case ":?", "?":
		if !set || (g.Op == ":?" && val == "") {
			return "", false, i18n.Errorf("required variable %s is not set: %s", g.Var, g.Default)
		}
	case ":+":
		if set && val != "" {
			return g.Default, true, nil
		}
		return "", false, nil
	case "+":
		if set {
			return g.Default, true, nil
		}
		return "", false, nil
	}
	return val, false, nil
}

// Resolve interpolates segments with env. A default that holds variables is itself
// interpolated.
func Resolve(segs []Segment, env Lookup) (string, error) {
	var b strings.Builder
	for _, g := range segs {
		v, fromDefault, err := g.value(env)
		if err != nil {
			return "", err
		}
		if fromDefault && strings.Contains(v, "$") {
			inner, err := Scan(v)
			if err != nil {
				return "", err
			}
			if v, err = Resolve(inner, env); err != nil {
				return "", err
			}
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
