package composefile

import (
	"bytes"
	"unicode/utf8"

	"github.com/encoo-tools/imgup/internal/i18n"
	"go.yaml.in/yaml/v4"
)

// File is one compose file, as read.
type File struct {
	Path     string
	Data     []byte
	Services []ServiceDef
	// MaxKeys is the largest number of keys of any mapping in the file.
	MaxKeys int
	lines   []int // byte offset of each line's start
	// runes indexes, for a line that is not plain ASCII, the byte offset of each of its
	// characters; built when first needed, so that finding a column is linear overall.
	runes map[int][]int32
}

// ServiceDef is a service as one file defines it.
type ServiceDef struct {
	Name  string
	Line  int
	Image *Scalar // nil when this file's definition sets no image
}

// Scalar is an image value's characters in a file.
type Scalar struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	// Start and End are byte offsets of the value's characters, quotes excluded.
	Start int `json:"-"`
	End   int `json:"-"`
	// Raw is the value as written: what compose interpolates.
	Raw string `json:"raw"`
	// Via says how the service reaches a scalar it does not hold itself:
	// "*name" (an alias) or "<<: *name" (a merge key).
	Via string `json:"via,omitempty"`
}

// Parse reads a compose file. A file without services: is fine (an override file may
// hold only networks); a file that is not YAML is an error naming the line.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, Data: data, lines: []int{0}}
	for i, b := range data {
		if b == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, i18n.Errorf("%s: not valid YAML: %v", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil
	}
	f.MaxKeys = maxKeys(&doc, 0)
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, i18n.Errorf("%s: not a compose file: the top level is not a mapping", path)
	}
	services := lookup(root, "services")
	if services == nil {
		return f, nil
	}
	services = deref(services)
	if services.Kind != yaml.MappingNode {
		return nil, i18n.Errorf("%s:%d: services: is not a mapping", path, services.Line)
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		k, v := services.Content[i], services.Content[i+1]
		def := ServiceDef{Name: k.Value, Line: k.Line}
		node, via := findImage(v, "", 0)
		if node != nil {
			s, err := f.scalar(node)
			if err != nil {
				return nil, i18n.Errorf("%s:%d: service %s: %v", path, node.Line, k.Value, err)
			}
			s.Via = via
			def.Image = s
		}
		f.Services = append(f.Services, def)
	}
	return f, nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// lookup returns the value of key in mapping m (explicit keys only).
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i].Tag != "!!merge" {
			return m.Content[i+1]
		}
	}
	return nil
}

// findImage returns the scalar node holding a service's image, following aliases and
// merge keys as YAML does: an explicit key wins over merged ones, and among merged
// mappings the first listed wins.
func findImage(svc *yaml.Node, via string, depth int) (*yaml.Node, string) {
	if depth > 16 {
		return nil, ""
	}
	if svc.Kind == yaml.AliasNode {
		if via == "" {
			via = "*" + svc.Value
		}
		svc = deref(svc)
	}
	if svc == nil || svc.Kind != yaml.MappingNode {
		return nil, ""
	}
	if v := lookup(svc, "image"); v != nil {
		if v.Kind == yaml.AliasNode {
			if via == "" {
				via = "*" + v.Value
			}
			v = deref(v)
		}
		return v, via
	}
	for i := 0; i+1 < len(svc.Content); i += 2 {
		if svc.Content[i].Value != "<<" {
			continue
		}
		m := svc.Content[i+1]
		var sources []*yaml.Node
		if d := deref(m); d != nil && d.Kind == yaml.SequenceNode {
			sources = d.Content
		} else {
			sources = []*yaml.Node{m}
		}
		for _, src := range sources {
			name := via
			if name == "" && src.Kind == yaml.AliasNode {
				name = "<<: *" + src.Value
			}
			if n, v := findImage(src, name, depth+1); n != nil {
				return n, v
			}
		}
	}
	return nil, ""
}

// offset converts a node's line and column (characters) to a byte offset. On a line of
// plain ASCII a column is a byte; other lines get an index of their characters once.
func (f *File) offset(line, col int) int {
	if line < 1 || line > len(f.lines) || col < 1 {
		return -1
	}
	start, end := f.lines[line-1], len(f.Data)
	if line < len(f.lines) {
		end = f.lines[line]
	}
	idx, ok := f.runes[line]
	if !ok {
		ascii := true
		for _, b := range f.Data[start:end] {
			if b >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if !ascii {
			for o := start; o < end; {
				idx = append(idx, int32(o))
				_, size := utf8.DecodeRune(f.Data[o:end])
				o += size
			}
		}
		if f.runes == nil {
			f.runes = map[int][]int32{}
		}
		f.runes[line] = idx
	}
	if idx == nil {
		if o := start + col - 1; o <= end {
			return o
		}
		return -1
	}
	if col-1 < len(idx) {
		return int(idx[col-1])
	}
	return end
}

var errForm = i18n.Err("the image is written in a form imgup does not edit (multi-line, escaped, or tagged); edit it by hand")

// scalar finds the characters of a scalar node in the file.
func (f *File) scalar(n *yaml.Node) (*Scalar, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, i18n.Errorf("image: is not a string")
	}
	o := f.offset(n.Line, n.Column)
	if o < 0 {
		return nil, errForm
	}
	d := f.Data
	// The node may start at its anchor or tag: skip "&name " and "!tag ".
	for o < len(d) && (d[o] == '&' || d[o] == '!') {
		for o < len(d) && d[o] != ' ' && d[o] != '\t' && d[o] != '\n' {
			o++
		}
		for o < len(d) && (d[o] == ' ' || d[o] == '\t') {
			o++
		}
	}
	s := &Scalar{File: f.Path, Line: n.Line, Column: n.Column}
	switch n.Style &^ yaml.FlowStyle {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := d[o]
		if q != '"' && q != '\'' {
			return nil, errForm
		}
		end := bytes.IndexByte(d[o+1:], q)
		if end < 0 {
			return nil, errForm
		}
		s.Start, s.End = o+1, o+1+end
	case 0:
		// A plain scalar is its value, then blanks and the end of the line, a comment,
		// or (in flow context) a comma or bracket. Matching the value, rather than
		// scanning to the line's end, keeps a one-line file linear.
		end := o + len(n.Value)
		if end > len(d) || string(d[o:end]) != n.Value {
			return nil, errForm
		}
		rest := end
		for rest < len(d) && (d[rest] == ' ' || d[rest] == '\t') {
			rest++
		}
		if rest < len(d) && !bytes.ContainsRune([]byte("\n\r,]}"), rune(d[rest])) && !(d[rest] == '#' && rest > end) {
			return nil, errForm
		}
		s.Start, s.End = o, end
	default:
		return nil, errForm
	}
	s.Raw = string(d[s.Start:s.End])
	if s.Raw != n.Value {
		return nil, errForm
	}
	return s, nil
}

// maxKeys is the largest mapping under n, walked once (aliases are not followed).
func maxKeys(n *yaml.Node, depth int) int {
	if n == nil || depth > 10000 {
		return 0
	}
	m := 0
	if n.Kind == yaml.MappingNode {
		m = len(n.Content) / 2
	}
	for _, c := range n.Content {
		m = max(m, maxKeys(c, depth+1))
	}
	return m
}

// Positions is a File that only locates scalars in data, for other YAML formats whose
// image scalars are edited the same way (Kubernetes manifests): no compose reading.
func Positions(path string, data []byte) *File {
	f := &File{Path: path, Data: data, lines: []int{0}}
	for i, b := range data {
		if b == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	return f
}

// ScalarOf finds the exact characters of a scalar node of f's data (plain, single- or
// double-quoted, after an anchor or tag), as Parse does for a service's image.
func (f *File) ScalarOf(n *yaml.Node) (*Scalar, error) { return f.scalar(n) }
