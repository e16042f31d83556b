package sysconfig

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/textedit"
)

// plainValue is a value the shell reads the same without quotes.
var plainValue = regexp.MustCompile(`^[A-Za-z0-9_./:@,+=%-]*$`)

// quote writes value for a shell KEY=VALUE line: plain when it can be, else quoted.
func quote(value string) (string, error) {
	switch {
	case plainValue.MatchString(value):
		return value, nil
	case !strings.ContainsAny(value, "\"\\$`"):
		return `"` + value + `"`, nil
	case !strings.Contains(value, "'"):
		return "'" + value + "'", nil
	}
	return "", i18n.Errorf("the value holds both kinds of quotes and shell syntax; set it by hand")
}

// Set returns the splices that give key the value: the value's characters of its last
// assignment (the one the shell keeps) change; a new key gets its own line after the
// last key of its group (the keys sharing the longest NAME_ prefix), or at the end.
func (f *File) Set(key, value string) ([]textedit.Splice, error) {
	if !utf8.ValidString(value) || strings.ContainsAny(value, "\r\n\x00") {
		return nil, i18n.Errorf("%s: the value of %s is not one line of UTF-8 text", f.Path, key)
	}
	e, ok := f.Lookup(key)
	if ok {
		if !e.Editable {
			return nil, i18n.Errorf("%s:%d: %s holds escapes or shell syntax; edit it by hand", f.Path, e.Line, key)
		}
		if e.Value == value {
			return nil, nil
		}
		q := byte(0)
		if e.Start > 0 && (f.Data[e.Start-1] == '"' || f.Data[e.Start-1] == '\'') && e.End < len(f.Data) && f.Data[e.End] == f.Data[e.Start-1] {
			q = f.Data[e.Start-1]
		}
		newText := value
		switch {
		case f.Format == JSON:
			if strings.ContainsAny(value, "\"\\") || strings.IndexFunc(value, func(r rune) bool { return r < 0x20 }) >= 0 {
				return nil, i18n.Errorf("%s:%d: the new value of %s needs JSON escapes; set it by hand", f.Path, e.Line, key)
			}
		case q == '"' && strings.ContainsAny(value, "\"\\$`"), q == '\'' && strings.Contains(value, "'"):
			return nil, i18n.Errorf("%s:%d: the new value of %s does not fit its quotes; set it by hand", f.Path, e.Line, key)
		case q == 0:
			var err error
			if newText, err = quote(value); err != nil {
				return nil, i18n.Errorf("%s:%d: %s: %v", f.Path, e.Line, key, err)
			}
		}
		return []textedit.Splice{{Line: e.Line, Start: e.Start, End: e.End, Old: e.Value, New: newText}}, nil
	}
	if f.Format == JSON {
		return nil, i18n.Errorf("%s: adding %s to a JSON file: set it by hand", f.Path, key)
	}
	q, err := quote(value)
	if err != nil {
		return nil, i18n.Errorf("%s: %s: %v", f.Path, key, err)
	}
	return []textedit.Splice{textedit.InsertLineAfter(f.Data, f.groupEnd(key), key+"="+q)}, nil
}

// groupEnd is where a new key goes: the offset of the last entry sharing the longest
// NAME_ prefix with key (at least its first word), or -1 for the end of the file.
func (f *File) groupEnd(key string) int {
	best, at := 0, -1
	words := strings.Split(key, "_")
	for _, e := range f.Entries {
		ew := strings.Split(e.Key, "_")
		n := 0
		for n < len(words)-1 && n < len(ew)-1 && words[n] == ew[n] {
			n++
		}
		if n > 0 && n >= best {
			best, at = n, e.Start
		}
	}
	return at
}

// Unset returns the splices that remove every assignment of key, each its whole line.
func (f *File) Unset(key string) ([]textedit.Splice, error) {
	var out []textedit.Splice
	for _, e := range f.Entries {
		if e.Key != key {
			continue
		}
		if f.Format == JSON {
			return nil, i18n.Errorf("%s:%d: removing %s from a JSON file: remove it by hand", f.Path, e.Line, key)
		}
		out = append(out, textedit.RemoveLine(f.Data, e.Start))
	}
	return out, nil
}

// keyName is a shell variable name.
var keyName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
