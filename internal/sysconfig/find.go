package sysconfig

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Kind says how an entry holds an image's version.
type Kind string

const (
	Reference Kind = "reference" // KEY=encoo/rpa-service:4.1.70002
	Version   Kind = "version"   // RPA_SERVICE_VERSION=4.1.70002
)

// Match is an entry that holds an image's version.
type Match struct {
	File  *File
	Entry Entry
	Kind  Kind
}

// Ambiguous is returned when the version of an image could be in several entries (or in
// one whose name does not say so), and imgup will not guess.
type Ambiguous struct {
	Image      string
	Candidates []Match
}

func (e *Ambiguous) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *Ambiguous) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *Ambiguous) err() error {
	var c []string
	for _, m := range e.Candidates {
		c = append(c, fmt.Sprintf("%s:%d %s=%s", m.File.Path, m.Entry.Line, m.Entry.Key, Shown(m.Entry)))
	}
	return i18n.Errorf("cannot tell which config entry holds the version of %s; candidates: %s; say which with --config-key %s=KEY (or config-keys in imgup.yaml)",
		e.Image, strings.Join(c, ", "), e.Image)
}

// Find returns the entries of files that hold the version of image repo (a familiar
// name such as "encoo/rpa-service"), whose tag in use is one of tags.
//
//   - key, when given, names the entry (the operator's --config-key); it must exist.
//   - otherwise every value that is a reference to repo at a tag in use is an entry;
//   - otherwise a value equal to a tag in use is, when its key names the image (the
//     key's words, less VERSION/TAG/IMAGE, all appear in the image name) and no other
//     such key names it as closely.
//
// No entry at all is not an error (nil, nil); an unclear choice is *Ambiguous.
func Find(files []*File, repo string, tags []string, key string) ([]Match, error) {
	if key != "" {
		for _, f := range files {
			if e, ok := f.Lookup(key); ok {
				// The operator's key must hold what imgup would change: the tag in use, or
				// a reference to the image. A password that merely contains a version is
				// neither, and its value is not printed.
				r, tag, isRef := splitRef(e.Value)
				switch {
				case Secret(key):
					return nil, i18n.Errorf("config key %s (given for %s) is named like a secret; imgup never edits or prints one: give the key that holds %s's version", key, repo, repo)
				case isRef && r == repo && slices.Contains(tags, cmpTag(tag)):
					return []Match{{File: f, Entry: e, Kind: Reference}}, nil
				case slices.Contains(tags, e.Value):
					return []Match{{File: f, Entry: e, Kind: Version}}, nil
				}
				return nil, i18n.Errorf("%s:%d: config key %s (given for %s) holds neither its tag in use (%s) nor a reference to it; imgup will not edit it: give the key that holds %s's version",
					f.Path, e.Line, key, repo, strings.Join(tags[:len(tags)-1], ", "), repo)
			}
		}
		return nil, i18n.Errorf("config key %s (given for %s) is in none of %s", key, repo, paths(files))
	}
	var refs, versions []Match
	for _, f := range files {
		for _, e := range latest(f) {
			if Secret(e.Key) {
				continue // never a version entry, never shown
			}
			if r, tag, ok := splitRef(e.Value); ok && r == repo && slices.Contains(tags, cmpTag(tag)) {
				refs = append(refs, Match{File: f, Entry: e, Kind: Reference})
			} else if slices.Contains(tags, e.Value) {
				versions = append(versions, Match{File: f, Entry: e, Kind: Version})
			}
		}
	}
	if len(refs) > 0 {
		return refs, nil
	}
	if len(versions) == 0 {
		return nil, nil
	}
	best, bestScore := []Match(nil), 0
	for _, m := range versions {
		s := score(m.Entry.Key, repo)
		switch {
		case s > bestScore:
			best, bestScore = []Match{m}, s
		case s == bestScore && s > 0:
			best = append(best, m)
		}
	}
	if len(best) == 1 {
		return best, nil
	}
	if len(best) == 0 {
		best = versions
	}
	return nil, &Ambiguous{Image: repo, Candidates: best}
}

// latest keeps the last assignment of each key: earlier ones are dead in the shell.
func latest(f *File) []Entry {
	var out []Entry
	for i, e := range f.Entries {
		if l, _ := f.Lookup(e.Key); l.Start == f.Entries[i].Start {
			out = append(out, e)
		}
	}
	return out
}

func kindOf(v, repo string) Kind {
	if r, _, ok := splitRef(v); ok && r == repo {
		return Reference
	}
	return Version
}

// splitRef reads v as an image reference with a repository path: name and tag.
func splitRef(v string) (name, tag string, ok bool) {
	if !strings.ContainsAny(v, "/:") || strings.ContainsAny(v, " $") {
		return "", "", false
	}
	n, err := reference.ParseNormalizedNamed(v)
	if err != nil {
		return "", "", false
	}
	if t, isTagged := n.(reference.Tagged); isTagged {
		tag = t.Tag()
	}
	return reference.FamiliarName(n), tag, true
}

var words = regexp.MustCompile(`[a-z0-9]+`)

var generic = map[string]bool{"version": true, "ver": true, "tag": true, "image": true, "img": true, "v": true}

// score is how many words of key name the image, or 0 when any word does not.
func score(key, repo string) int {
	name := repo[strings.LastIndex(repo, "/")+1:]
	have := words.FindAllString(strings.ToLower(name), -1)
	n := 0
	for _, w := range words.FindAllString(strings.ToLower(key), -1) {
		if generic[w] {
			continue
		}
		if !slices.Contains(have, w) {
			return 0
		}
		n++
	}
	return n
}

func paths(files []*File) string {
	var p []string
	for _, f := range files {
		p = append(p, f.Path)
	}
	sort.Strings(p)
	return strings.Join(p, ", ")
}

// Edit returns the file's bytes with the entry's value replaced by value.
func (f *File) Edit(e Entry, value string) ([]byte, error) {
	if !e.Editable {
		return nil, i18n.Errorf("%s:%d: %s holds escapes or shell syntax; edit it by hand", f.Path, e.Line, e.Key)
	}
	out := make([]byte, 0, len(f.Data)+len(value))
	out = append(out, f.Data[:e.Start]...)
	out = append(out, value...)
	return append(out, f.Data[e.End:]...), nil
}

// ForImage returns the entries that hold a version of image repo whatever their value:
// references to repo, else the version keys that name it most closely (the key given,
// when there is one). It is for reporting drift; Find is for editing.
func ForImage(files []*File, repo, key string) []Match {
	if Secret(key) {
		return nil
	}
	if key != "" {
		for _, f := range files {
			if e, ok := f.Lookup(key); ok {
				return []Match{{File: f, Entry: e, Kind: kindOf(e.Value, repo)}}
			}
		}
		return nil
	}
	var refs, best []Match
	bestScore := 0
	for _, f := range files {
		for _, e := range latest(f) {
			if Secret(e.Key) {
				continue
			}
			if r, _, ok := splitRef(e.Value); ok && r == repo {
				refs = append(refs, Match{File: f, Entry: e, Kind: Reference})
				continue
			}
			if strings.ContainsAny(e.Value, "/ ") || e.Value == "" {
				continue
			}
			switch s := score(e.Key, repo); {
			case s > bestScore:
				best, bestScore = []Match{{File: f, Entry: e, Kind: Version}}, s
			case s == bestScore && s > 0:
				best = append(best, Match{File: f, Entry: e, Kind: Version})
			}
		}
	}
	if len(refs) > 0 {
		return refs
	}
	// One shared word of four ("console" of console-web-v4-pvt) is too little to call
	// a key this image's: the key must name at least half the image's words.
	if name := repo[strings.LastIndex(repo, "/")+1:]; 2*bestScore < len(words.FindAllString(strings.ToLower(name), -1)) {
		return nil
	}
	return best
}

// secretWords mark a key whose value must never be printed nor edited.
var secretWords = []string{"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CREDENTIALS", "PRIVATE", "APIKEY"}

// Secret reports whether a key is named like a secret: one of its words (split at _ .
// - and case changes) is PASSWORD, PWD, SECRET, TOKEN, KEY and the like.
func Secret(key string) bool {
	for _, w := range strings.FieldsFunc(strings.ToUpper(key), func(r rune) bool { return r == '_' || r == '.' || r == '-' }) {
		if slices.Contains(secretWords, w) {
			return true
		}
	}
	return false
}

// Shown is an entry's value as imgup may print it: *** for a secret.
func Shown(e Entry) string {
	if Secret(e.Key) {
		return "***"
	}
	return e.Value
}

// cmpTag is a reference's tag as compose reads it: none written is latest. A value
// that names the repository alone (IMAGE_REPO=acme/web, a script appends the tag)
// holds the version of the image only when the tag in use is latest.
func cmpTag(tag string) string {
	if tag == "" {
		return "latest"
	}
	return tag
}
