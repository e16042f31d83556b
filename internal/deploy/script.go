package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// script is what imgup reads of a control script (deploy.sh, or the one imgup.yaml
// names): the compose calls it makes, in which folder, with which files and which
// project name. It is read, never run and never sourced. imgup uses it only when no
// container of a stack exists yet: then the containers' labels cannot answer.
type script struct {
	path  string
	calls []call
	// cds are the relative folders the script changes into anywhere.
	cds []string
	// sourced are the files (relative to the root) the script sources with . or source.
	sourced []string
}

// call is one compose command line of the script.
type call struct {
	line int
	// dir is the folder compose runs in, relative to the root ("" when unknown).
	dir string
	// files are the -f files, relative to the root, in order.
	files []string
	// project is the -p or --project-name value as written ("" when none), and
	// resolved its value after expansion; unresolved says why it has none.
	project, resolved, unresolved string
	// envProject is COMPOSE_PROJECT_NAME as the script sets it, when it does.
	envProject string
}

// readScript reads a control script; env are the variables it starts with (the
// files it sources, .systemconfig, .env). It returns nil when there is no script.
func readScript(p string, env func(sourced []string) map[string]string) *script {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	s := &script{path: p}
	lines := logicalLines(string(b))
	for _, l := range lines {
		for _, m := range sourceRe.FindAllStringSubmatch(l.text, -1) {
			f := strings.Trim(m[1], `"'`)
			f = strings.TrimPrefix(expandDirname(f), "./")
			if f != "" && !strings.Contains(f, "$") && !filepath.IsAbs(f) && !slices.Contains(s.sourced, f) {
				s.sourced = append(s.sourced, filepath.Clean(f))
			}
		}
	}
	vars := map[string]string{}
	if env != nil {
		for k, v := range env(s.sourced) {
			vars[k] = v
		}
	}
	unknown := map[string]string{} // variables the script sets in a way imgup cannot follow
	cwd := ""                      // the folder the script is in, relative to the root
	var loopVar string
	var loopVals []string
	for _, l := range lines {
		text := l.text
		trim := strings.TrimSpace(text)
		if m := forRe.FindStringSubmatch(trim); m != nil {
			loopVar, loopVals = m[1], nil
			for _, w := range shellWords(m[2]) {
				if v, ok := expandWord(w, vars); ok {
					loopVals = append(loopVals, strings.Fields(v)...)
				}
			}
		}
		if m := assignRe.FindStringSubmatch(trim); m != nil && strings.HasPrefix(m[2], "(") {
			// An array: FILES=(-f a.yml -f b.yml); kept as its words, space-separated.
			body := strings.TrimPrefix(m[2], "(")
			if i := strings.LastIndexByte(body, ')'); i >= 0 {
				body = body[:i]
			}
			var words []string
			ok := true
			for _, w := range shellWords(body) {
				v, wok := expandWord(w, vars)
				ok = ok && wok
				words = append(words, v)
			}
			if ok {
				vars[m[1]] = strings.Join(words, " ")
			}
		} else if m != nil && !strings.Contains(trim, "docker-compose ") && !strings.Contains(trim, "docker compose ") {
			word := firstWord(m[2])
			switch v, ok := expandWord(word, vars); {
			case strings.Contains(word, "dirname") || strings.Contains(word, "BASH_SOURCE"):
				vars[m[1]] = "." // SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd) and the like
				delete(unknown, m[1])
			case ok:
				vars[m[1]] = v
				delete(unknown, m[1])
			default:
				delete(vars, m[1])
				unknown[m[1]] = fmt.Sprintf("line %d sets it to %s", l.n, word)
			}
		}
		if m := defaultRe.FindStringSubmatch(trim); m != nil {
			if _, set := vars[m[1]]; !set {
				if v, ok := expandWord(m[2], vars); ok {
					vars[m[1]] = v
				}
			}
		}
		// A cd on a line of its own moves the script; one inside a line moves only it.
		if m := cdRe.FindStringSubmatchIndex(trim); m != nil && m[0] == 0 && strings.TrimSpace(trim[m[1]:]) == "" {
			if d, ok := dirWord(trim[m[2]:m[3]], vars); ok {
				cwd = d
			}
		}
		for _, m := range cdRe.FindAllStringSubmatch(text, -1) {
			if d, ok := dirWord(m[1], vars); ok && d != "." && !slices.Contains(s.cds, d) {
				s.cds = append(s.cds, d)
			}
		}
		if strings.TrimSpace(text) == "done" || strings.HasPrefix(trim, "done") {
			loopVar, loopVals = "", nil
		}
		loc := composeRe.FindStringIndex(text)
		if loc == nil || assignRe.MatchString(trim) {
			continue
		}
		vals := []string{""}
		if loopVar != "" && strings.Contains(text, loopVar) {
			vals = loopVals
		}
		for _, lv := range vals {
			bound := vars
			if loopVar != "" && lv != "" {
				bound = map[string]string{}
				for k, v := range vars {
					bound[k] = v
				}
				bound[loopVar] = lv
			}
			c := call{line: l.n, dir: cwd, envProject: bound["COMPOSE_PROJECT_NAME"]}
			// A cd earlier on the same line: (cd vicode && docker-compose ...).
			for _, m := range cdRe.FindAllStringSubmatch(text[:loc[0]], -1) {
				if d, ok := dirWord(m[1], bound); ok {
					c.dir = filepath.Join(cwd, d)
				}
			}
			args := globalArgs(commandWords(text[loc[1]:]), bound)
			for i := 0; i < len(args); i++ {
				a := args[i]
				val := ""
				name := a
				if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(a, "--") {
					name, val = k, v
				} else if i+1 < len(args) && (a == "-p" || a == "--project-name" || a == "-f" || a == "--file" || a == "--project-directory") {
					val = args[i+1]
					i++
				} else if strings.HasPrefix(a, "-p") && len(a) > 2 && !strings.HasPrefix(a, "--") {
					name, val = "-p", a[2:]
				}
				switch name {
				case "-p", "--project-name":
					c.project = val
					if v, ok := expandWord(val, bound); ok && v != "" {
						c.resolved = v
					} else {
						c.unresolved = unresolvedWhy(val, bound, unknown)
					}
				case "-f", "--file":
					if v, ok := expandWord(val, bound); ok && !filepath.IsAbs(v) {
						c.files = append(c.files, filepath.Clean(filepath.Join(c.dir, v)))
					}
				case "--project-directory":
					if d, ok := dirWord(val, bound); ok {
						c.dir = filepath.Join(cwd, d)
					}
				}
			}
			if c.project == "" && len(c.files) > 0 && !strings.Contains(text[loc[1]:], "--project-directory") {
				c.dir = filepath.Dir(c.files[0]) // compose works in the first file's folder
			}
			if c.project == "" && c.envProject == "" && unknown["COMPOSE_PROJECT_NAME"] != "" {
				c.unresolved = "COMPOSE_PROJECT_NAME: " + unknown["COMPOSE_PROJECT_NAME"]
			}
			s.calls = append(s.calls, c)
		}
	}
	return s
}

// valueFlags are compose's global flags that take a value.
var valueFlags = map[string]bool{"-f": true, "--file": true, "-p": true, "--project-name": true, "--project-directory": true,
	"--env-file": true, "--profile": true, "--ansi": true, "--progress": true, "--parallel": true, "-H": true, "--host": true,
	"-c": true, "--context": true, "--log-level": true}

var arrayRe = regexp.MustCompile(`^"?\$\{?([A-Za-z_][A-Za-z0-9_]*)(\[[@*]\])?\}?"?$`)

// globalArgs are the words before compose's subcommand (up, down, rm...): its global
// flags. A variable or array holding flags ($FILES, "${FILES[@]}") is split into them.
func globalArgs(words []string, vars map[string]string) []string {
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if m := arrayRe.FindStringSubmatch(w); m != nil && (m[2] != "" || !strings.HasPrefix(w, `"`)) {
			if v, ok := vars[m[1]]; ok && strings.HasPrefix(strings.TrimSpace(v), "-") {
				out = append(out, shellWords(v)...)
			}
			continue // "$@" and the like: the caller's words
		}
		if !strings.HasPrefix(strings.Trim(w, `"'`), "-") {
			break // the subcommand
		}
		out = append(out, w)
		if valueFlags[strings.Trim(w, `"'`)] && i+1 < len(words) {
			out = append(out, words[i+1])
			i++
		}
	}
	return out
}

type logicalLine struct {
	n    int
	text string
}

// logicalLines joins backslash continuations and drops comments.
func logicalLines(text string) []logicalLine {
	var out []logicalLine
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(text, "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		if cur.Len() == 0 {
			start = i + 1
		}
		if t := strings.TrimSpace(raw); strings.HasPrefix(t, "#") {
			raw = ""
		}
		if strings.HasSuffix(raw, "\\") {
			cur.WriteString(strings.TrimSuffix(raw, "\\") + " ")
			continue
		}
		cur.WriteString(raw)
		out = append(out, logicalLine{n: start, text: cur.String()})
		cur.Reset()
	}
	return out
}

var (
	composeRe = regexp.MustCompile(`(?:\bdocker-compose\b|\bdocker\s+compose\b|\$\{?[A-Za-z_]*COMPOSE[A-Za-z_]*\}?|\$\{?DC\}?\b)`)
	cdRe      = regexp.MustCompile(`(?:^|[\s;&(])cd\s+("(?:[^"$]|\$\([^)]*\)|\$)*"|'[^']*'|[^\s;&|)]+)`)
	assignRe  = regexp.MustCompile(`^(?:export\s+|local\s+|readonly\s+|declare\s+(?:-\w+\s+)?)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	defaultRe = regexp.MustCompile(`^:\s+"?\$\{([A-Za-z_][A-Za-z0-9_]*):?=([^}]*)\}"?`)
	forRe     = regexp.MustCompile(`^for\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\s+([^;]*?)\s*(?:;|$)`)
	sourceRe  = regexp.MustCompile(`(?:^|[\s;&(])(?:source|\.)\s+("[^"]*"|'[^']*'|[^\s;&|)]+)`)
	varRe     = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)([:]?[-=+?])?([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	dirnameRe = regexp.MustCompile(`^\$\((?:cd\s+)?(?:"?\$\(dirname\s+[^)]*\)"?|dirname\s+[^)]*)(?:\s*&&\s*pwd)?\)|^\$\{BASH_SOURCE(?:\[0\])?%/\*\}|^\$\{0%/\*\}`)
)

// shellWords splits text into words, keeping quotes (expandWord removes them).
func shellWords(s string) []string { return splitWords(s, false) }

// commandWords are the words of the first command in s: up to an unquoted ;, &, |, )
// or a closing } of a function body.
func commandWords(s string) []string { return splitWords(s, true) }

func splitWords(s string, oneCommand bool) []string {
	var out []string
	var cur strings.Builder
	inQ := byte(0)
	brace := 0
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQ != 0:
			if c == inQ {
				inQ = 0
			}
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			inQ = c
			cur.WriteByte(c)
		case c == '{' && i > 0 && s[i-1] == '$':
			brace++
			cur.WriteByte(c)
		case c == '}' && brace > 0:
			brace--
			cur.WriteByte(c)
		case oneCommand && (c == ';' || c == '|' || c == '&' || c == ')' || c == '}'):
			flush()
			return out
		case c == ' ' || c == '\t':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

func firstWord(s string) string {
	w := shellWords(s)
	if len(w) == 0 {
		return ""
	}
	return w[0]
}

// expandWord gives a shell word's value: quotes removed, $VAR, ${VAR}, ${VAR:-x},
// ${VAR-x}, ${VAR:=x} expanded from vars. It fails on what it cannot know: an unset
// variable without a default, command substitution, arithmetic, globbing.
func expandWord(w string, vars map[string]string) (string, bool) {
	if strings.Contains(w, "$(") || strings.Contains(w, "`") || strings.Contains(w, "$((") {
		return "", false
	}
	if strings.ContainsAny(strings.ReplaceAll(strings.ReplaceAll(w, `"`, ""), `'`, ""), "*?[") {
		return "", false
	}
	var b strings.Builder
	ok := true
	inSingle := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c == '\'' && !inSingle:
			inSingle = true
		case c == '\'' && inSingle:
			inSingle = false
		case c == '"':
		case c == '$' && !inSingle:
			loc := varRe.FindStringSubmatchIndex(w[i:])
			if loc == nil || loc[0] != 0 {
				b.WriteByte(c)
				continue
			}
			m := func(k int) string {
				if loc[2*k] < 0 {
					return ""
				}
				return w[i+loc[2*k] : i+loc[2*k+1]]
			}
			name, op, def := m(1), m(2), m(3)
			if name == "" {
				name = m(4)
			}
			v, set := vars[name]
			switch {
			case (op == ":-" || op == ":=") && (!set || v == ""), (op == "-" || op == "=") && !set:
				dv, dok := expandWord(def, vars)
				if !dok {
					ok = false
				}
				v = dv
			case op == ":+" || op == "+":
				if set && (op == "+" || v != "") {
					v = def
				} else {
					v = ""
				}
			case op == "" && def != "":
				ok = false // ${VAR#x}, ${VAR/x/y}: not followed
			case !set:
				ok = false
			}
			b.WriteString(v)
			i += loc[1] - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ok
}

// unresolvedWhy says why a -p value cannot be known without running the script.
func unresolvedWhy(val string, vars, unknown map[string]string) string {
	for _, m := range varRe.FindAllStringSubmatch(val, -1) {
		name := m[1]
		if name == "" {
			name = m[4]
		}
		if why, ok := unknown[name]; ok {
			return fmt.Sprintf("%s: %s", name, why)
		}
		if _, ok := vars[name]; !ok {
			return fmt.Sprintf("%s is set by nothing imgup reads", name)
		}
	}
	return fmt.Sprintf("%s is built at run time", val)
}

// expandDirname turns "$(dirname "$0")/x", "${BASH_SOURCE%/*}/x", "$SCRIPT_DIR/x" forms
// into "./x": the script's folder is the root.
func expandDirname(w string) string {
	w = strings.Trim(w, `"'`)
	if loc := dirnameRe.FindStringIndex(w); loc != nil {
		return "." + strings.Trim(w[loc[1]:], `"'`)
	}
	return w
}

// dirWord resolves a cd argument to a folder relative to the root.
func dirWord(w string, vars map[string]string) (string, bool) {
	w = expandDirname(strings.Trim(w, `"'`))
	v, ok := expandWord(w, vars)
	if !ok || v == "" || v == "-" || filepath.IsAbs(v) || strings.HasPrefix(v, "~") {
		return "", false
	}
	v = filepath.Clean(v)
	if v == ".." || strings.HasPrefix(v, "../") {
		return "", false
	}
	return v, true
}

// dirs are the relative folders the script runs compose in, changes into, or takes
// compose files from.
func (s *script) dirs() []string {
	if s == nil {
		return nil
	}
	var out []string
	add := func(d string) {
		if d != "" && d != "." && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	for _, c := range s.calls {
		add(c.dir)
		for _, f := range c.files {
			add(filepath.Dir(f))
		}
	}
	for _, d := range s.cds {
		add(d)
	}
	return out
}

// files are the compose files the script passes that lie in dir (relative to the
// root), in its order, as base names.
func (s *script) files(dir string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, c := range s.calls {
		for _, f := range c.files {
			if filepath.Dir(f) == dir && !slices.Contains(out, filepath.Base(f)) {
				out = append(out, filepath.Base(f))
			}
		}
	}
	return out
}

// project is the project name the script gives compose for the stack in dir
// (relative to the root): the name, and where it came from; or "" and why not.
// ok is false when the script makes no compose call for dir.
func (s *script) project(dir string) (name, from string, ok bool) {
	if s == nil {
		return "", "", false
	}
	base := filepath.Base(s.path)
	var names []string
	var whys []string
	for _, c := range s.calls {
		cd := c.dir
		if cd == "" {
			cd = "."
		}
		if filepath.Clean(cd) != dir {
			continue
		}
		ok = true
		switch {
		case c.resolved != "":
			n := normalizeProject(c.resolved)
			if !slices.Contains(names, n) {
				names = append(names, n)
				from = fmt.Sprintf("%s line %d: -p %s", base, c.line, c.project)
			}
		case c.unresolved != "":
			whys = append(whys, fmt.Sprintf("%s line %d passes -p %s, and %s", base, c.line, c.project, c.unresolved))
		case c.envProject != "":
			n := normalizeProject(c.envProject)
			if !slices.Contains(names, n) {
				names = append(names, n)
				from = fmt.Sprintf("%s: COMPOSE_PROJECT_NAME", base)
			}
		}
	}
	switch {
	case len(names) == 1 && len(whys) == 0:
		return names[0], from, true
	case len(names) > 1:
		return "", fmt.Sprintf("%s gives compose several project names here: %s", base, strings.Join(names, ", ")), true
	case len(whys) > 0:
		return "", whys[0], true
	}
	return "", "", ok
}
