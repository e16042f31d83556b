package kubefile

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/i18n"
	"go.yaml.in/yaml/v4"
)

// Chart is a Helm chart folder as imgup reads it: its name, appVersion, default
// values and templates (its subcharts' too). imgup never edits a chart.
type Chart struct {
	Dir, Name, AppVersion string
	Values                *Values
	// Templates are the template files by their path under Dir (templates/x.yaml,
	// charts/sub/templates/x.yaml).
	Templates map[string][]byte
	// Aliases are the subcharts' folders by the alias Chart.yaml's dependencies
	// give them: helm template's "# Source:" names a subchart by its alias.
	Aliases map[string]string
}

// FindChart is the chart a deployment root holds: the root itself when it holds
// Chart.yaml, else the one folder below it (or below chart/ or charts/) that does;
// "" when none, or several (the operator names one in imgup.yaml).
func FindChart(root string) (string, error) {
	if isFile(filepath.Join(root, "Chart.yaml")) {
		return root, nil
	}
	var found []string
	for _, pat := range []string{"*/Chart.yaml", "charts/*/Chart.yaml", "chart/*/Chart.yaml"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		for _, p := range m {
			if d := filepath.Dir(p); !slices.Contains(found, d) {
				found = append(found, d)
			}
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", i18n.Errorf("%s holds several Helm charts (%s): name the one to upgrade in imgup.yaml (kubernetes: helm: chart:)", root, strings.Join(found, ", "))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// ReadChart reads the chart at dir: Chart.yaml, values.yaml and every file under
// templates/ (its own and its subcharts'), through read.
func ReadChart(dir string, read func(string) ([]byte, error)) (*Chart, error) {
	c := &Chart{Dir: dir, Templates: map[string][]byte{}}
	b, err := read(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	var meta struct {
		Name         string `yaml:"name"`
		AppVersion   string `yaml:"appVersion"`
		Dependencies []struct {
			Name  string `yaml:"name"`
			Alias string `yaml:"alias"`
		} `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal(b, &meta); err != nil {
		return nil, i18n.Errorf("%s: not valid YAML: %v", filepath.Join(dir, "Chart.yaml"), err)
	}
	c.Name, c.AppVersion = meta.Name, meta.AppVersion
	c.Aliases = map[string]string{}
	for _, d := range meta.Dependencies {
		if d.Alias != "" {
			c.Aliases[d.Alias] = d.Name
		}
	}
	if p := filepath.Join(dir, "values.yaml"); isFile(p) {
		b, err := read(p)
		if err != nil {
			return nil, err
		}
		if c.Values, err = ParseValues(p, b); err != nil {
			return nil, err
		}
	}
	err = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() || !e.Type().IsRegular() || !(strings.HasPrefix(rel, "templates/") || strings.Contains(rel, "/templates/")) {
			return nil
		}
		if len(c.Templates) >= 512 {
			return i18n.Errorf("%s: more than 512 template files", dir)
		}
		b, err := read(p)
		if err != nil {
			return err
		}
		c.Templates[rel] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Values is a values file with its characters' positions.
type Values struct {
	*composefile.File
	root *yaml.Node
}

// ParseValues reads a values file.
func ParseValues(path string, data []byte) (*Values, error) {
	v := &Values{File: composefile.Positions(path, data)}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, i18n.Errorf("%s: not valid YAML: %v", path, err)
	}
	if len(doc.Content) > 0 {
		v.root = doc.Content[0]
	}
	return v, nil
}

// node is the value at path (dotted keys), aliases followed; nil when unset.
func (v *Values) node(path string) *yaml.Node {
	if v == nil {
		return nil
	}
	n := v.root
	for _, k := range strings.Split(path, ".") {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		n = lookup(n, k)
		if n == nil {
			return nil
		}
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// leaves are the scalar values at or under path, by their dotted paths.
func (v *Values) leaves(path string, out map[string]*yaml.Node) {
	var walk func(p string, n *yaml.Node, depth int)
	walk = func(p string, n *yaml.Node, depth int) {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || depth > 8 {
			return
		}
		switch n.Kind {
		case yaml.ScalarNode:
			if _, ok := out[p]; !ok {
				out[p] = n
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(p+"."+n.Content[i].Value, n.Content[i+1], depth+1)
			}
		}
	}
	walk(path, v.node(path), 0)
}

// Rendered is one object of helm template's output: the template it came from
// (its "# Source:" under the chart, without the chart's name) and its workload.
type Rendered struct {
	Source   string
	Workload *Workload
}

// ParseRendered reads helm template's output: a workload's images are the
// rendered ones (their scalars point into the output, not into a file).
func ParseRendered(out []byte) ([]Rendered, error) {
	var all []Rendered
	for _, doc := range splitDocs(out) {
		src := ""
		for _, line := range strings.Split(string(doc), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
				src = s
				if i := strings.IndexByte(s, '/'); i >= 0 {
					src = s[i+1:]
				}
				break
			}
		}
		f, err := Parse("helm template", doc)
		if err != nil {
			return nil, err
		}
		for _, w := range f.Workloads {
			all = append(all, Rendered{Source: src, Workload: w})
		}
	}
	return all, nil
}

func splitDocs(b []byte) [][]byte {
	var docs [][]byte
	start := 0
	for i := 0; i <= len(b); {
		end := bytes.IndexByte(b[i:], '\n')
		line := b[i:]
		next := len(b) + 1
		if end >= 0 {
			line, next = b[i:i+end], i+end+1
		}
		if string(bytes.TrimRight(line, " \r")) == "---" {
			docs = append(docs, b[start:i])
			start = next
		}
		i = next
	}
	if start < len(b) {
		docs = append(docs, b[start:])
	}
	return docs
}

// Traced is where a container's tag is written: the value's dotted path and its
// scalar in the operator's values file that sets it last.
type Traced struct {
	Path   string
	Scalar *composefile.Scalar
	// Quote: the value is written plain, so a new tag YAML would read as no
	// string must be quoted.
	Quote bool
}

var (
	valuesRef  = regexp.MustCompile(`\$?\.Values((?:\.[A-Za-z0-9_-]+)+)`)
	includeRef = regexp.MustCompile(`(?:include|template)\s+"([^"]+)"`)
	defineRe   = regexp.MustCompile(`\{\{-?\s*define\s+"([^"]+)"\s*-?\}\}`)
	blockRe    = regexp.MustCompile(`\{\{-?\s*(if|with|range|define|block|end)\b\s*([^}]*)`)
	bareRef    = regexp.MustCompile(`(?:^|[\s({|])\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)`)
)

// Trace finds the value that gives tag to a container (of image ref) the template at
// source made:
// the .Values its image lines (and the helpers they include) read, the one whose
// value is the rendered tag, and the operator's values file that sets it last (the
// chart's own values.yaml is never edited). A tag traced to no value, to several, or
// only to the chart's defaults is refused, naming what it found.
func (c *Chart) Trace(source, ref, tag string, operator []*Values) (Traced, error) {
	prefix := ""
	if rest, ok := strings.CutPrefix(source, "charts/"); ok {
		// A subchart's values are under its name in the parent's values.
		if i := strings.Index(rest, "/templates/"); i > 0 {
			prefix = rest[:i] + "."
		}
	}
	refs := c.imageRefs(source)
	// Candidates: the values under what the image lines read that equal the tag.
	seen := map[string]bool{}
	var cands []string
	files := append([]*Values{c.Values}, operator...)
	for _, r := range refs {
		p := r
		if r != "global" && !strings.HasPrefix(r, "global.") {
			p = prefix + r
		}
		for _, v := range files {
			leaves := map[string]*yaml.Node{}
			v.leaves(p, leaves)
			for lp, n := range leaves {
				// The tag, or a whole reference (initImage: busybox:1.36) whose
				// tag it is.
				whole := strings.HasSuffix(n.Value, ":"+tag) && strings.HasSuffix(ref, n.Value)
				if (rendersAs(n, tag) || whole) && !seen[lp] {
					seen[lp] = true
					cands = append(cands, lp)
				}
			}
		}
	}
	slices.Sort(cands)
	if len(cands) == 0 {
		if c.AppVersion != "" && c.AppVersion == tag {
			return Traced{}, i18n.Errorf("the tag %s comes from the chart's appVersion (%s), not from a value: set the image's tag in the operator's values file (image: tag: %q, or what %s reads) so that imgup can change it", tag, filepath.Join(c.Dir, "Chart.yaml"), tag, source)
		}
		return Traced{}, i18n.Errorf("the tag %s is written in no value that %s reads for the image (%s): imgup cannot tell where it comes from; edit it by hand", tag, source, strings.Join(orNone(refs), ", "))
	}
	if len(cands) > 1 {
		return Traced{}, i18n.Errorf("the tag %s is the value of several values %s reads (%s): imgup cannot tell which one makes the image; give them different values or edit by hand", tag, source, strings.Join(cands, ", "))
	}
	path := cands[0]
	for i := len(operator) - 1; i >= 0; i-- {
		n := operator[i].node(path)
		if n == nil {
			continue
		}
		if n.Kind != yaml.ScalarNode {
			return Traced{}, i18n.Errorf("%s:%d: %s is no plain value", operator[i].Path, n.Line, path)
		}
		whole := n.Value != tag && strings.HasSuffix(n.Value, ":"+tag)
		if n.Value != tag && !whole {
			return Traced{}, i18n.Errorf("%s:%d: %s is written %s, which YAML reads as a number and Helm renders as %s: quote it (%q) so that the image's tag is what the file says", operator[i].Path, n.Line, path, n.Value, tag, n.Value)
		}
		s, err := operator[i].ScalarOf(n)
		if err != nil {
			return Traced{}, i18n.Errorf("%s:%d: %s: %v", operator[i].Path, n.Line, path, err)
		}
		quote := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0
		if whole {
			// Only the tag's characters of the reference change.
			if s.End-s.Start != len(n.Value) {
				return Traced{}, i18n.Errorf("%s:%d: %s holds escapes; edit it by hand", operator[i].Path, n.Line, path)
			}
			cp := *s
			cp.Start, cp.Raw = s.End-len(tag), tag
			s, quote = &cp, false
		}
		return Traced{Path: path, Scalar: s, Quote: quote}, nil
	}
	where := ""
	if n := c.Values.node(path); n != nil {
		where = " (" + c.Values.Path + ":" + strconv.Itoa(n.Line) + ")"
	}
	names := []string{}
	for _, v := range operator {
		names = append(names, filepath.Base(v.Path))
	}
	return Traced{}, i18n.Errorf("the tag %s is %s, which only the chart's own values.yaml sets%s; imgup edits the operator's values file (%s), never the chart: set %s there", tag, path, where, strings.Join(orNone(names), ", "), path)
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"none"}
	}
	return s
}

// rendersAs says whether Helm renders scalar n as s: its characters, or, for a
// number YAML reads, Go's printing of it (tag: 1.10 renders 1.1).
func rendersAs(n *yaml.Node, s string) bool {
	if n.Value == s {
		return true
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		return false
	}
	switch n.ShortTag() {
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		return err == nil && strconv.FormatFloat(f, 'g', -1, 64) == s
	case "!!int":
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		return err == nil && strconv.FormatInt(i, 10) == s
	}
	return false
}

// imageRefs are the .Values paths the image lines of template source read, with
// those of the helpers they include (to a depth of four).
func (c *Chart) imageRefs(source string) []string {
	b, ok := c.Templates[source]
	if rest, sub := strings.CutPrefix(source, "charts/"); !ok && sub {
		if alias, after, ok := strings.Cut(rest, "/"); ok && c.Aliases[alias] != "" {
			b = c.Templates["charts/"+c.Aliases[alias]+"/"+after]
		}
	}
	text := string(b)
	defines := c.defines()
	var refs []string
	add := func(s string) {
		for _, m := range valuesRef.FindAllStringSubmatch(s, -1) {
			if p := m[1][1:]; !slices.Contains(refs, p) {
				refs = append(refs, p)
			}
		}
	}
	var include func(s string, depth int)
	include = func(s string, depth int) {
		add(s)
		if depth > 4 {
			return
		}
		for _, m := range includeRef.FindAllStringSubmatch(s, -1) {
			if body, ok := defines[m[1]]; ok {
				include(body, depth+1)
			}
		}
	}
	lines := strings.Split(text, "\n")
	var blocks []string // the blocks open above a line: a with's .Values path, else ""
	for _, line := range lines {
		for _, m := range blockRe.FindAllStringSubmatch(line, -1) {
			switch {
			case m[1] == "end":
				if len(blocks) > 0 {
					blocks = blocks[:len(blocks)-1]
				}
			case m[1] == "with" && strings.HasPrefix(strings.TrimLeft(m[2], "$"), ".Values."):
				p := valuesRef.FindStringSubmatch(m[2])
				blocks = append(blocks, p[1][1:])
			default:
				blocks = append(blocks, "")
			}
		}
		if !strings.Contains(strings.ToLower(line), "image") {
			continue
		}
		include(line, 0)
		// Inside with .Values.X, .a.b is X.a.b.
		for _, w := range blocks {
			if w == "" {
				continue
			}
			for _, m := range bareRef.FindAllStringSubmatch(line, -1) {
				if p := w + "." + m[1]; !strings.HasPrefix(m[1], "Values") && !strings.HasPrefix(m[1], "Chart") && !strings.HasPrefix(m[1], "Release") && !slices.Contains(refs, p) {
					refs = append(refs, p)
				}
			}
		}
	}
	return refs
}

// defines are the named templates of every template file, by name.
func (c *Chart) defines() map[string]string {
	out := map[string]string{}
	for _, b := range c.Templates {
		s := string(b)
		locs := defineRe.FindAllStringSubmatchIndex(s, -1)
		for i, loc := range locs {
			// A define's body runs to the next define: an end inside it (of an if or
			// a with) would cut it short, and more text only adds candidates that
			// the rendered tag then rules out.
			end := len(s)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			out[s[loc[2]:loc[3]]] = s[loc[1]:end]
		}
	}
	return out
}
