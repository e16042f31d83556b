package sysconfig

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// Format is how a config file is written.
type Format string

const (
	Env  Format = "env"  // shell KEY=VALUE, sourced by deploy.sh
	JSON Format = "json" // a JSON object, maybe nested
)

// File is one parsed config file.
type File struct {
	Path    string
	Data    []byte
	Format  Format
	Entries []Entry
}

// Entry is one key and where its value's characters are.
type Entry struct {
	Key   string `json:"key"` // for JSON, the dotted path ("images.rpa")
	Value string `json:"value"`
	Line  int    `json:"line"`
	// Start and End are byte offsets of the value's characters, quotes excluded.
	Start int `json:"-"`
	End   int `json:"-"`
	// Editable is false when the value's bytes are not its plain text (escapes).
	Editable bool `json:"-"`
}

// Parse reads a config file's bytes. An env file never fails to parse: lines that are
// not assignments (shell code) are passed over, as the shell would run them.
func Parse(path string, data []byte) (*File, error) {
	f := &File{Path: path, Data: data, Format: Env}
	if t := bytes.TrimSpace(bytes.TrimPrefix(data, bom)); len(t) > 0 && t[0] == '{' {
		f.Format = JSON
		if err := f.parseJSON(); err != nil {
			return nil, i18n.Errorf("%s: not valid JSON: %v", path, err)
		}
		return f, nil
	}
	f.parseEnv()
	return f, nil
}

// bom is the UTF-8 byte-order mark some Windows editors put first: it is skipped, and
// kept, as the shell would choke on it but the operator's file has it.
var bom = []byte{0xEF, 0xBB, 0xBF}

var assign = regexp.MustCompile(`^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=`)

func (f *File) parseEnv() {
	off := 0
	for i, line := range bytes.SplitAfter(f.Data, []byte("\n")) {
		start := off
		off += len(line)
		if i == 0 && bytes.HasPrefix(line, bom) {
			line, start = line[len(bom):], start+len(bom)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		m := assign.FindSubmatchIndex(line)
		if m == nil {
			continue
		}
		key := string(line[m[2]:m[3]])
		vs := m[1]
		rest := line[vs:]
		e := Entry{Key: key, Line: i + 1, Editable: true}
		switch {
		case len(rest) > 0 && (rest[0] == '"' || rest[0] == '\''):
			q := rest[0]
			end := -1
			for j := 1; j < len(rest); j++ {
				if q == '"' && rest[j] == '\\' {
					e.Editable = false
					j++
					continue
				}
				if rest[j] == q {
					end = j
					break
				}
			}
			if end < 0 {
				continue // unterminated quote: not a value we can edit
			}
			e.Start, e.End = start+vs+1, start+vs+end
		default:
			end := len(rest)
			for j := 0; j < len(rest); j++ {
				if rest[j] == '#' && j > 0 && (rest[j-1] == ' ' || rest[j-1] == '\t') {
					end = j
					break
				}
			}
			v := bytes.TrimRight(rest[:end], " \t")
			e.Start, e.End = start+vs, start+vs+len(v)
			if bytes.ContainsAny(v, "\\$`\"'") {
				e.Editable = false
			}
		}
		e.Value = string(f.Data[e.Start:e.End])
		f.Entries = append(f.Entries, e)
	}
}

func (f *File) parseJSON() error {
	skip := 0
	if bytes.HasPrefix(f.Data, bom) {
		skip = len(bom)
	}
	dec := json.NewDecoder(bytes.NewReader(f.Data[skip:]))
	var path []string
	// inObject[i] tells whether level i is an object, and expectKey whether the next
	// string token there is a key.
	type level struct {
		object    bool
		expectKey bool
		index     int
	}
	var stack []level
	done := false       // the top-level object has closed: nothing may follow
	pos := func() int { // start of the next token: skip blanks and separators
		o := skip + int(dec.InputOffset())
		for o < len(f.Data) && bytes.IndexByte([]byte(" \t\r\n:,"), f.Data[o]) >= 0 {
			o++
		}
		return o
	}
	for {
		start := pos()
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if done {
			return i18n.Errorf("more data after the closing } at byte %d", start)
		}
		end := skip + int(dec.InputOffset())
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top >= 0 && !stack[top].object {
					path = append(path, strconv.Itoa(stack[top].index))
					stack[top].index++
				}
				stack = append(stack, level{object: d == '{', expectKey: true})
			case '}', ']':
				stack = stack[:top]
				done = len(stack) == 0
				if len(path) > 0 {
					path = path[:len(path)-1]
				}
				if top-1 >= 0 && stack[top-1].object {
					stack[top-1].expectKey = true
				}
			}
			continue
		}
		if top >= 0 && stack[top].object && stack[top].expectKey {
			path = append(path, tok.(string))
			stack[top].expectKey = false
			continue
		}
		if top >= 0 && !stack[top].object {
			path = append(path, strconv.Itoa(stack[top].index))
			stack[top].index++
		}
		if s, ok := tok.(string); ok {
			raw := f.Data[start:end]
			f.Entries = append(f.Entries, Entry{Key: strings.Join(path, "."), Value: s,
				Line: 1 + bytes.Count(f.Data[:start], []byte("\n")), Start: start + 1, End: end - 1,
				Editable: !bytes.ContainsRune(raw, '\\')})
		}
		path = path[:len(path)-1]
		if top >= 0 && stack[top].object {
			stack[top].expectKey = true
		}
	}
}

// Lookup returns the entry for key; the last assignment wins, as in the shell.
func (f *File) Lookup(key string) (Entry, bool) {
	for i := len(f.Entries) - 1; i >= 0; i-- {
		if f.Entries[i].Key == key {
			return f.Entries[i], true
		}
	}
	return Entry{}, false
}

// Env returns the file's values as KEY=VALUE (last wins), for compose interpolation.
func (f *File) Env() map[string]string {
	m := map[string]string{}
	for _, e := range f.Entries {
		m[e.Key] = e.Value
	}
	return m
}
