package composefile

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"
)

// File is one compose file, as read.
type File struct {
	Path     string
	Data     []byte
	Services []ServiceDef
	lines    []int // byte offset of each line's start
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
		return nil, fmt.Errorf("%s: not valid YAML: %v", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return f, nil
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a compose file: the top level is not a mapping", path)
	}
	services := lookup(root, "services")
	if services == nil {
		return f, nil
	}
	services = deref(services)
	if services.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: services: is not a mapping", path, services.Line)
	}
	for i := 0; i+1 < len(services.Content); i += 2 {
		k, v := services.Content[i], services.Content[i+1]
		def := ServiceDef{Name: k.Value, Line: k.Line}
		node, via := findImage(v, "", 0)
		if node != nil {
			s, err := f.scalar(node)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: service %s: %v", path, node.Line, k.Value, err)
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

// offset converts a node's line and column (characters) to a byte offset.
func (f *File) offset(line, col int) int {
	if line < 1 || line > len(f.lines) {
		return -1
	}
	o := f.lines[line-1]
	for c := 1; c < col && o < len(f.Data); c++ {
		_, size := utf8.DecodeRune(f.Data[o:])
		o += size
	}
	return o
}

var errForm = errors.New("the image is written in a form imgup does not edit (multi-line, escaped, or tagged); edit it by hand")

// scalar finds the characters of a scalar node in the file.
func (f *File) scalar(n *yaml.Node) (*Scalar, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("image: is not a string")
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
		end := o
		for end < len(d) && d[end] != '\n' && d[end] != '\r' {
			if d[end] == '#' && end > o && (d[end-1] == ' ' || d[end-1] == '\t') {
				break
			}
			end++
		}
		for end > o && (d[end-1] == ' ' || d[end-1] == '\t') {
			end--
		}
		s.Start, s.End = o, end
	default:
		return nil, errForm
	}
	s.Raw = string(d[s.Start:s.End])
	// Flow context ({image: x, ...}) ends a plain scalar at a comma or bracket.
	if s.Raw != n.Value && n.Style == 0 {
		if i := bytes.IndexAny([]byte(s.Raw), ",}]"); i >= 0 {
			s.End = s.Start + len(bytes.TrimRight([]byte(s.Raw[:i]), " \t"))
			s.Raw = string(d[s.Start:s.End])
		}
	}
	if s.Raw != n.Value {
		return nil, errForm
	}
	return s, nil
}
