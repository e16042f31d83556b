package deploy

import (
	"bytes"
	"path/filepath"
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/sysconfig"
	"github.com/encoo-tools/imgup/internal/textedit"
)

// VarSource is where the characters of part of a variable's value are written, so
// that an edit there changes what compose interpolates.
type VarSource struct {
	File       string
	Line       int
	Start, End int
	// Key is the entry's key; "" for a file that holds the characters alone (a
	// version file).
	Key    string
	Secret bool
}

// VarSource finds where the characters [from, to) of variable name's value are
// written: its entry in a config file (.systemconfig, the sourced files, .env); or,
// for a value the control script computed and exported, the one file the script read
// that holds exactly those characters, alone (a version file) or as one entry's
// value. A value imgup cannot trace to one place is an error naming the variable.
func (s *Stack) VarSource(name string, from, to int) (VarSource, error) {
	if !s.exportedOver(name) {
		f, e, ok := s.VarFile(name)
		if !ok {
			return VarSource{}, i18n.Errorf("its image comes from ${%s}, which is set in neither .systemconfig nor .env of %s", name, s.Name)
		}
		if !e.Editable {
			return VarSource{}, i18n.Errorf("%s:%d: %s holds escapes or shell syntax; edit it by hand", filepath.Base(f.Path), e.Line, e.Key)
		}
		return VarSource{File: f.Path, Line: e.Line, Start: e.Start + from, End: e.Start + to, Key: e.Key, Secret: sysconfig.Secret(e.Key)}, nil
	}
	value := s.Exported[name]
	if from < 0 || to > len(value) || from >= to {
		return VarSource{}, i18n.Errorf("its image comes from ${%s}, which the control script exports; imgup cannot tell which of its characters hold the tag", name)
	}
	part := value[from:to]
	var found []VarSource
	for _, r := range s.read {
		b := r.data
		if t := bytes.TrimSpace(b); string(t) == part {
			start := bytes.Index(b, t)
			found = append(found, VarSource{File: r.path, Line: textedit.LineOf(b, start), Start: start, End: start + len(t)})
			continue
		}
		f, err := sysconfig.Parse(r.path, b)
		if err != nil || f.Format != sysconfig.Env {
			continue
		}
		for _, e := range f.Entries {
			if e.Value == part && e.Editable && !sysconfig.Secret(e.Key) {
				found = append(found, VarSource{File: r.path, Line: e.Line, Start: e.Start, End: e.End, Key: e.Key})
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return VarSource{}, i18n.Errorf("its image comes from ${%s}, which the control script computes and exports (%s); no file the script reads holds %q alone or as one entry's value, so imgup cannot trace it: edit it by hand", name, value, part)
	}
	var where []string
	for _, f := range found {
		where = append(where, filepath.Base(f.File))
	}
	return VarSource{}, i18n.Errorf("its image comes from ${%s}, which the control script computes and exports (%s); %q stands in several files it reads (%s), so imgup cannot tell which one makes it: edit it by hand", name, value, part, strings.Join(where, ", "))
}

// readFile is a file the control script read, as it was during discovery.
type readFile struct {
	path string
	data []byte
}
