package composefile

import (
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/encoo-tools/imgup/internal/i18n"
	"go.yaml.in/yaml/v4"
)

// Where says where an image's tag characters are.
type Where string

const (
	InFile     Where = "file"     // in the compose file (a literal, or a ${VAR:-default}'s default)
	InVariable Where = "variable" // in a variable's value (.systemconfig or .env)
)

// Target is an image as compose reads it, and where its tag's characters are.
type Target struct {
	// Ref is the image after interpolation; Name its familiar repository name and Tag
	// its tag ("latest" when none is written).
	Ref  string `json:"ref"`
	Name string `json:"name"`
	Tag  string `json:"tag"`

	Where Where `json:"where"`
	// For InFile: byte offsets of the tag in the file. File is that file when it is
	// not the image's own: a kustomization's newTag, a Helm values file's tag.
	Start, End int    `json:"-"`
	File       string `json:"file,omitempty"`
	// For InVariable: the variable, and the offsets of the tag in its value.
	Var              string `json:"var,omitempty"`
	VarStart, VarEnd int    `json:"-"`
	// Old is the text to replace; Colon says the replacement must start with ":"
	// (no tag was written, or only a digest).
	Old   string `json:"old"`
	Colon bool   `json:"-"`
	// Quote says the tag is a plain YAML scalar that a new tag must be quoted in when
	// YAML would read it as no string (a Helm value tag: 1.10 is the number 1.1).
	Quote bool `json:"-"`
	// Prefix and Suffix are fixed text of the tag written around the variable that
	// holds the rest (${V:-8.2}-ubi8, v${VERSION}): a new tag must keep them.
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	// Vars are all the variables the image uses: changing one changes every image
	// that uses it.
	Vars []string `json:"vars,omitempty"`
}

// Replacement is the text that gives the image tag instead of Old; an error when the
// tag does not keep the fixed text written around the variable.
func (t *Target) Replacement(tag string) (string, error) {
	if t.Quote && !PlainString(tag) {
		return `"` + tag + `"`, nil
	}
	if t.Colon {
		return ":" + tag, nil
	}
	if t.Prefix != "" || t.Suffix != "" {
		if len(tag) < len(t.Prefix)+len(t.Suffix) || !strings.HasPrefix(tag, t.Prefix) || !strings.HasSuffix(tag, t.Suffix) {
			return "", i18n.Errorf("the tag of image %q is written as %q around ${%s}; the new tag %q does not keep that fixed text, so no value of the variable gives it: edit the image by hand", t.Ref, t.Prefix+"${"+t.Var+"}"+t.Suffix, t.Var, tag)
		}
		return tag[len(t.Prefix) : len(tag)-len(t.Suffix)], nil
	}
	return tag, nil
}

// Unset is returned when an image uses variables that nothing imgup reads sets (and
// that have no default): a control script may set them when it runs, from a file or a
// command, so imgup cannot know the image compose will use.
type Unset struct {
	Raw  string
	Vars []string
}

func (e *Unset) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *Unset) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *Unset) err() error {
	v := make([]string, len(e.Vars))
	for i, n := range e.Vars {
		v[i] = "${" + n + "}"
	}
	return i18n.Errorf("image %q uses %s, which imgup cannot resolve: no file imgup reads sets it, or its value is built by the shell ($(...), `...`, $OTHER) when a control script runs; set it to a plain value, or name the file that does in env-files: of imgup.yaml",
		e.Raw, strings.Join(v, ", "))
}

// Locate resolves an image scalar with env and finds its tag's characters. When the
// image resolves but its tag cannot be edited, it returns the target (Ref, Name, Tag,
// Vars) together with the error.
func Locate(s *Scalar, env Lookup) (*Target, error) {
	segs, err := Scan(s.Raw)
	if err != nil {
		return nil, err
	}
	type piece struct {
		seg         Segment
		rs, re      int
		fromDefault bool
	}
	var pieces []piece
	var b strings.Builder
	t := &Target{}
	var unset []string
	for _, g := range segs {
		if g.Var != "" && (g.Op == "" || g.Op == ":?" || g.Op == "?") {
			if _, ok := env(g.Var); !ok && !slices.Contains(unset, g.Var) {
				unset = append(unset, g.Var)
			}
		}
		v, fromDefault, err := g.value(env)
		if err != nil {
			return nil, err
		}
		if g.Var != "" && !slices.Contains(t.Vars, g.Var) {
			t.Vars = append(t.Vars, g.Var)
		}
		if fromDefault && strings.Contains(v, "$") {
			// A default holding variables: resolve it, but do not edit inside it.
			inner, err := Scan(v)
			if err != nil {
				return nil, err
			}
			if v, err = Resolve(inner, env); err != nil {
				return nil, err
			}
			g.Op = "nested"
		}
		pieces = append(pieces, piece{seg: g, rs: b.Len(), re: b.Len() + len(v), fromDefault: fromDefault})
		b.WriteString(v)
	}
	r := b.String()
	t.Ref = r
	n, err := reference.ParseNormalizedNamed(r)
	if len(unset) > 0 {
		// The name is still known when only the tag is a variable.
		if !nameUses(s.Raw, segs, unset) {
			name := r
			if at := strings.IndexByte(name, '@'); at >= 0 {
				name = name[:at]
			}
			if c := strings.LastIndexByte(name, ':'); c > strings.LastIndexByte(name, '/') {
				name = name[:c]
			}
			if n, err := reference.ParseNormalizedNamed(name); err == nil {
				t.Name = reference.FamiliarName(n)
				return t, &Unset{Raw: s.Raw, Vars: unset}
			}
		}
		return nil, &Unset{Raw: s.Raw, Vars: unset}
	}
	if err != nil {
		if r != s.Raw {
			return nil, i18n.Errorf("image %q (written %q) is not a valid image reference: %v", r, s.Raw, err)
		}
		return nil, i18n.Errorf("image %q is not a valid image reference: %v", r, err)
	}
	t.Name = reference.FamiliarName(n)
	t.Tag = "latest"
	if tg, ok := n.(reference.Tagged); ok {
		t.Tag = tg.Tag()
	}
	at := strings.IndexByte(r, '@')
	if at < 0 {
		at = len(r)
	}
	ts, te := at, len(r)
	if c := strings.LastIndexByte(r[:at], ':'); c > strings.LastIndexByte(r[:at], '/') {
		ts = c + 1
	} else {
		t.Colon = true
	}
	// Which piece holds [ts, te)? For an insertion (ts == te), the piece the name ends in.
	var hold []piece
	for _, p := range pieces {
		if ts == te {
			if p.rs < ts && ts <= p.re {
				hold = []piece{p}
			}
			continue
		}
		if p.rs < te && ts < p.re {
			hold = append(hold, p)
		}
	}
	t.Old = r[ts:te]
	if len(hold) > 1 {
		// Fixed text around one variable: the variable (or its default) holds what
		// lies between, and a new tag must keep the fixed text.
		var vars []string
		var vp *piece
		for i := range hold {
			if hold[i].seg.Var != "" {
				vars = append(vars, "${"+hold[i].seg.Var+"}")
				vp = &hold[i]
			}
		}
		if len(vars) != 1 {
			return t, i18n.Errorf("the tag of image %q is built from %s in %q; imgup edits a tag held by one variable, with fixed text around it at most: edit it by hand", r, strings.Join(vars, " and "), s.Raw)
		}
		vs, ve := max(ts, vp.rs), min(te, vp.re)
		t.Prefix, t.Suffix, t.Old = r[ts:vs], r[ve:te], r[vs:ve]
		t.Var = vp.seg.Var
		ts, te = vs, ve
		hold = []piece{*vp}
	}
	if len(hold) != 1 {
		return t, i18n.Errorf("the tag of image %q is built from several parts of %q; imgup edits a tag held by one literal or one variable: edit it by hand", r, s.Raw)
	}
	p := hold[0]
	g := p.seg
	switch {
	case g.Var == "":
		if strings.Contains(s.Raw[g.Start:g.End], "$$") {
			return t, i18n.Errorf("image %q: the tag sits beside an escaped $$; edit it by hand", s.Raw)
		}
		t.Where, t.Start, t.End = InFile, s.Start+g.Start+(ts-p.rs), s.Start+g.Start+(te-p.rs)
	case g.Op == "nested":
		return t, i18n.Errorf("image %q: the tag comes from a default that holds variables; edit it by hand", s.Raw)
	case p.fromDefault:
		t.Where, t.Start, t.End = InFile, s.Start+g.DefStart+(ts-p.rs), s.Start+g.DefStart+(te-p.rs)
	default:
		t.Where, t.Var, t.VarStart, t.VarEnd = InVariable, g.Var, ts-p.rs, te-p.rs
	}
	return t, nil
}

// Splice returns data with [start, end) replaced by text.
func Splice(data []byte, start, end int, text string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(text))
	out = append(out, data[:start]...)
	out = append(out, text...)
	return append(out, data[end:]...)
}

// nameUses reports whether any of vars appears before the tag of raw: in the name.
func nameUses(raw string, segs []Segment, vars []string) bool {
	for _, g := range segs {
		if g.Var == "" || !slices.Contains(vars, g.Var) {
			continue
		}
		before := raw[:g.Start]
		if i := strings.LastIndexByte(before, '/'); i >= 0 {
			before = before[i:]
		}
		if !strings.Contains(before, ":") {
			return true
		}
	}
	return false
}

// PlainString says whether YAML reads s, written plain, as the string s (not a
// number, a boolean or null), as Helm's values and kustomize's newTag need.
func PlainString(s string) bool {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("v: "+s), &n); err != nil || len(n.Content) == 0 || len(n.Content[0].Content) < 2 {
		return false
	}
	v := n.Content[0].Content[1]
	return v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str" && v.Value == s
}
