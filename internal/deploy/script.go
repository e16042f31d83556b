package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// script is what imgup reads of deploy.sh: the folders it works in, the compose files
// it passes with -f, and the project names it passes with -p. It is read, never run
// by this package and never sourced.
type script struct {
	text string
}

func readScript(p string) *script {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return &script{text: string(b)}
}

var (
	cdRe      = regexp.MustCompile(`(?m)\bcd\s+["']?([A-Za-z0-9_./-]+)["']?`)
	fileRe    = regexp.MustCompile(`(?:-f|--file)[ =]+["']?([A-Za-z0-9_./${}-]+\.ya?ml)["']?`)
	projectRe = regexp.MustCompile(`(?:-p|--project-name)[ =]+["']?([A-Za-z0-9_-]+)["']?`)
)

// dirs are the relative folders deploy.sh changes into or takes compose files from.
func (s *script) dirs() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, m := range cdRe.FindAllStringSubmatch(s.text, -1) {
		if d := m[1]; d != "." && d != ".." && !filepath.IsAbs(d) && !strings.Contains(d, "$") {
			out = append(out, filepath.Clean(d))
		}
	}
	for _, m := range fileRe.FindAllStringSubmatch(s.text, -1) {
		if d := filepath.Dir(m[1]); d != "." && !filepath.IsAbs(d) && !strings.Contains(d, "$") {
			out = append(out, filepath.Clean(d))
		}
	}
	return out
}

// files are the compose files deploy.sh passes that lie in dir, in its order.
func (s *script) files(root, dir string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, m := range fileRe.FindAllStringSubmatch(s.text, -1) {
		f := m[1]
		if strings.Contains(f, "$") {
			continue
		}
		// Relative to the root, or to the folder deploy.sh changed into.
		for _, base := range []string{root, dir} {
			p := filepath.Join(base, f)
			if filepath.Dir(p) == dir {
				if _, err := os.Stat(p); err == nil {
					out = append(out, filepath.Base(p))
					break
				}
			}
		}
	}
	return out
}

// project is the -p name deploy.sh gives near the stack's files, if any.
func (s *script) project(root, dir string) string {
	if s == nil {
		return ""
	}
	for _, line := range strings.Split(s.text, "\n") {
		m := projectRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rel, _ := filepath.Rel(root, dir)
		inStack := (rel == "." && !strings.Contains(line, "vicode")) || (rel != "." && strings.Contains(line, rel))
		if inStack {
			return m[1]
		}
	}
	return ""
}
