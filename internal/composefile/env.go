package composefile

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/textedit"
)

// EnvEntry is where one service's environment holds a variable in a file.
type EnvEntry struct {
	// Defined is set when the service is defined in the file; Has when its environment
	// holds the variable; Environment when it has an environment of its own.
	Defined, Has, Environment bool
}

// Env tells how the file's definition of service holds variable key.
func (f *File) Env(service, key string) (EnvEntry, error) {
	svc, env, err := f.envNodes(service)
	if err != nil || svc == nil {
		return EnvEntry{}, err
	}
	out := EnvEntry{Defined: true, Environment: env != nil}
	if env != nil {
		k, _ := envItem(env, key)
		out.Has = k != nil
	}
	return out, nil
}

// envNodes finds a service's mapping and its own environment node (nil when it has none).
// An environment the service only inherits (an alias, a merge key) is refused: adding
// one of its own would replace the inherited one as a whole.
func (f *File) envNodes(service string) (svc, env *yaml.Node, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(f.Data, &doc); err != nil {
		return nil, nil, i18n.Errorf("%s: not valid YAML: %v", f.Path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil, nil
	}
	services := deref(lookup(deref(doc.Content[0]), "services"))
	if services == nil || services.Kind != yaml.MappingNode {
		return nil, nil, nil
	}
	svc = lookup(services, service)
	if svc == nil {
		return nil, nil, nil
	}
	if svc.Kind != yaml.MappingNode || svc.Style&yaml.FlowStyle != 0 {
		return nil, nil, i18n.Errorf("%s:%d: service %s is written as an alias or on one line; change its environment by hand", f.Path, svc.Line, service)
	}
	env = lookup(svc, "environment")
	if env == nil {
		for i := 0; i+1 < len(svc.Content); i += 2 {
			if svc.Content[i].Tag != "!!merge" {
				continue
			}
			srcs := []*yaml.Node{deref(svc.Content[i+1])}
			if srcs[0] != nil && srcs[0].Kind == yaml.SequenceNode {
				srcs = srcs[0].Content
			}
			for _, src := range srcs {
				if src = deref(src); src != nil && src.Kind == yaml.MappingNode && lookup(src, "environment") != nil {
					return nil, nil, i18n.Errorf("%s:%d: service %s takes its environment from a merge (<<); one of its own would replace it: change it by hand", f.Path, svc.Content[i].Line, service)
				}
			}
		}
		return svc, nil, nil
	}
	if env.Kind == yaml.AliasNode || env.Style&yaml.FlowStyle != 0 || (env.Kind != yaml.MappingNode && env.Kind != yaml.SequenceNode) {
		return nil, nil, i18n.Errorf("%s:%d: the environment of service %s is an alias or on one line; change it by hand", f.Path, env.Line, service)
	}
	return svc, env, nil
}

// envItem finds key in an environment: for a mapping its key and value nodes, for a
// list its KEY=VALUE item.
func envItem(env *yaml.Node, key string) (k, v *yaml.Node) {
	if env.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(env.Content); i += 2 {
			if env.Content[i].Value == key {
				k, v = env.Content[i], env.Content[i+1]
			}
		}
		return k, v
	}
	for _, it := range env.Content {
		if name, _, _ := strings.Cut(it.Value, "="); name == key && it.Kind == yaml.ScalarNode {
			k = it
		}
	}
	return k, k
}

// plainYAML is a string YAML reads back as the same string without quotes.
var plainYAML = regexp.MustCompile(`^[A-Za-z_./][A-Za-z0-9_./@%+=:-]*$`)

func yamlString(s string) string {
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~":
		return `"` + s + `"`
	}
	if plainYAML.MatchString(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// SetEnv returns the splice that gives service's environment key=value in this file:
// the value's characters when the key is there, else a new line after the last entry
// (an environment: block when the service has none).
func (f *File) SetEnv(service, key, value string) (textedit.Splice, error) {
	sp, err := f.setEnv(service, key, value)
	if err == nil && (sp.Start < 0 || sp.End > len(f.Data) || sp.Start > sp.End || f.lineBreaks()) {
		return textedit.Splice{}, i18n.Errorf("%s: service %s is written in a form imgup does not edit (lone carriage returns?); change its environment by hand", f.Path, service)
	}
	return sp, err
}

// lineBreaks tells whether the file breaks lines with a lone CR, which YAML counts as
// a line and imgup's offsets do not.
func (f *File) lineBreaks() bool {
	for i, b := range f.Data {
		if b == '\r' && (i+1 == len(f.Data) || f.Data[i+1] != '\n') {
			return true
		}
	}
	return false
}

func (f *File) setEnv(service, key, value string) (textedit.Splice, error) {
	if !utf8.ValidString(value) || strings.ContainsAny(value, "\r\n\x00") {
		return textedit.Splice{}, i18n.Errorf("the value of %s is not one line of UTF-8 text", key)
	}
	svc, env, err := f.envNodes(service)
	if err != nil {
		return textedit.Splice{}, err
	}
	if svc == nil {
		return textedit.Splice{}, i18n.Errorf("%s: no service %s", f.Path, service)
	}
	if env == nil {
		first := svc.Content[0]
		indent := strings.Repeat(" ", first.Column-1)
		step := strings.Repeat(" ", max(2, first.Column-1-parentIndent(f, svc)))
		text := indent + "environment:" + textedit.EOL(f.Data) + indent + step + key + ": " + yamlString(value)
		// After the service's last key when its value is one line, else before its first.
		lk, lv := svc.Content[len(svc.Content)-2], svc.Content[len(svc.Content)-1]
		if lv.Kind == yaml.ScalarNode && lv.Line == lk.Line && lv.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 || lv.Kind == yaml.AliasNode && lv.Line == lk.Line {
			return f.insert(textedit.InsertLineAfter, f.offset(lv.Line, lv.Column), text)
		}
		return f.insert(textedit.InsertLineBefore, f.offset(first.Line, first.Column), text)
	}
	k, v := envItem(env, key)
	if k == nil {
		last, lastKey := env.Content[len(env.Content)-1], env.Content[len(env.Content)-1]
		if env.Kind == yaml.MappingNode {
			lastKey = env.Content[len(env.Content)-2]
		}
		first := env.Content[0]
		text := ""
		if env.Kind == yaml.MappingNode {
			text = strings.Repeat(" ", first.Column-1) + key + ": " + yamlString(value)
		} else {
			text = strings.Repeat(" ", dashColumn(f, first)) + "- " + yamlString(key+"="+value)
		}
		if last.Line == lastKey.Line && last.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			return f.insert(textedit.InsertLineAfter, f.offset(last.Line, last.Column), text)
		}
		return f.insert(textedit.InsertLineBefore, f.offset(first.Line, first.Column), text)
	}
	newVal := value
	if env.Kind == yaml.SequenceNode {
		newVal = key + "=" + value
	}
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" && env.Kind == yaml.MappingNode {
		// KEY: with no value: add one after the colon.
		o := f.offset(k.Line, k.Column)
		if o < 0 {
			return textedit.Splice{}, errEnvForm
		}
		o += len(k.Value)
		for o < len(f.Data) && f.Data[o] != ':' {
			o++
		}
		return textedit.Splice{Line: k.Line, Start: o + 1, End: o + 1, New: " " + yamlString(value)}, nil
	}
	s, err := f.scalar(v)
	if err != nil {
		return textedit.Splice{}, i18n.Errorf("%s:%d: %s of service %s is written in a form imgup does not edit; change it by hand", f.Path, v.Line, key, service)
	}
	if s.Raw == newVal {
		return textedit.Splice{Line: s.Line, Start: s.Start, End: s.End, Old: s.Raw, New: s.Raw}, nil
	}
	text := newVal
	switch v.Style &^ yaml.FlowStyle {
	case yaml.DoubleQuotedStyle:
		text = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(newVal)
	case yaml.SingleQuotedStyle:
		text = strings.ReplaceAll(newVal, "'", "''")
	default:
		if q := yamlString(newVal); q != newVal {
			text = q
		}
	}
	return textedit.Splice{Line: s.Line, Start: s.Start, End: s.End, Old: s.Raw, New: text}, nil
}

// UnsetEnv returns the splice that removes key from service's environment in this file
// (ok false when the file does not hold it).
func (f *File) UnsetEnv(service, key string) (sp textedit.Splice, ok bool, err error) {
	_, env, err := f.envNodes(service)
	if err != nil || env == nil {
		return sp, false, err
	}
	k, v := envItem(env, key)
	if k == nil {
		return sp, false, nil
	}
	if v.Line != k.Line || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || len(env.Content) <= 2 && env.Kind == yaml.MappingNode || len(env.Content) == 1 {
		return sp, false, i18n.Errorf("%s:%d: removing %s from service %s would leave a value over several lines or an empty environment; remove it by hand", f.Path, k.Line, key, service)
	}
	o := f.offset(k.Line, k.Column)
	if o < 0 || f.lineBreaks() {
		return sp, false, i18n.Errorf("%s:%d: %s of service %s is written in a form imgup does not edit; remove it by hand", f.Path, k.Line, key, service)
	}
	return textedit.RemoveLine(f.Data, o), true, nil
}

// parentIndent is the column (0-based) where the line of the service's name starts
// its text: the service key's indentation.
func parentIndent(f *File, svc *yaml.Node) int {
	// The service key sits one level up; its indentation is unknown from the mapping
	// node alone, so measure the line above the first key.
	line := min(svc.Content[0].Line-1, len(f.lines))
	for line >= 1 {
		s := f.lines[line-1]
		e := len(f.Data)
		if line < len(f.lines) {
			e = f.lines[line]
		}
		t := strings.TrimRight(string(f.Data[s:e]), "\r\n")
		if strings.TrimSpace(t) != "" && !strings.HasPrefix(strings.TrimSpace(t), "#") {
			return len(t) - len(strings.TrimLeft(t, " "))
		}
		line--
	}
	return 0
}

// dashColumn is the indentation of a list item's dash.
func dashColumn(f *File, item *yaml.Node) int {
	o := f.offset(item.Line, item.Column)
	if o < 0 {
		return 0
	}
	s := o
	for s > 0 && f.Data[s-1] != '\n' {
		s--
	}
	line := string(f.Data[s:o])
	return strings.Index(line, "-")
}

// envKey is a variable name a bundle may set.
var envKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// insert makes an insertion at a node's offset, refusing one imgup could not place.
func (f *File) insert(how func([]byte, int, string) textedit.Splice, off int, text string) (textedit.Splice, error) {
	if off < 0 {
		return textedit.Splice{}, errEnvForm
	}
	return how(f.Data, off, text), nil
}

var errEnvForm = i18n.Err("the environment is written in a form imgup does not edit (multi-line, escaped, or tagged); change it by hand")
