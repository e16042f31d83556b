package ctlscript

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/interp"
)

// The text filters control scripts read their configuration with (grep, cut, awk's
// print, sed's s, sort, head, tail, tr, uniq, wc -l, ls): pure functions of their input
// and of files inside the root, computed in the common forms and bounded in size. A
// form they do not know, or an option that writes (sed -i), is a command not run.

// errForm says a filter was given a form it does not compute.
var errForm = errors.New("a form the dry run does not compute")

// filter computes a text filter; ok is false when it is not one, or not in a known form.
func (r *run) filter(hc interp.HandlerContext, line int, args []string) (status int, ok bool) {
	name := filepath.Base(args[0])
	var f func(in func() ([]byte, error), args []string, w io.Writer) (int, error)
	var files []string
	switch name {
	case "grep", "egrep", "fgrep":
		f = grepFilter(name)
	case "cut":
		f = cutFilter
	case "awk", "gawk", "mawk":
		f = awkFilter
	case "sed":
		f = sedFilter
	case "sort":
		f = sortFilter
	case "head", "tail":
		f = headTail(name == "tail")
	case "tr":
		f = trFilter
	case "uniq":
		f = uniqFilter
	case "wc":
		f = wcFilter
	case "ls":
		return r.ls(hc, args)
	default:
		return 0, false
	}
	// A file operand is read inside the root only; without one, standard input.
	in := func() ([]byte, error) {
		if len(files) == 0 {
			if hc.Stdin == nil {
				return nil, nil
			}
			return io.ReadAll(io.LimitReader(hc.Stdin, maxOutput))
		}
		var all []byte
		for _, p := range files {
			b, err := r.read(abs(hc.Dir, p), line)
			if err != nil {
				return nil, err
			}
			all = append(all, b...)
			if len(all) > maxOutput {
				return all[:maxOutput], nil
			}
		}
		return all, nil
	}
	ops, filesOf := splitOperands(name, args[1:])
	files = filesOf
	var out bytes.Buffer
	code, err := f(in, ops, &limited{w: &out, n: maxOutput})
	if errors.Is(err, errForm) {
		return 0, false
	}
	if err != nil {
		return 2, true
	}
	hc.Stdout.Write(out.Bytes())
	return code, true
}

// splitOperands takes the file operands off a filter's words: every word after the
// filter's own (options and their values, and the program or pattern).
func splitOperands(name string, args []string) (ops, files []string) {
	valueOpts := map[string]string{
		"grep": "efm", "egrep": "efm", "fgrep": "efm", "cut": "dfc", "awk": "Fv", "gawk": "Fv", "mawk": "Fv",
		"sed": "e", "sort": "tk", "head": "nc", "tail": "nc", "tr": "", "uniq": "", "wc": "",
	}[name]
	needsProgram := name == "grep" || name == "egrep" || name == "fgrep" || name == "awk" || name == "gawk" || name == "mawk" || name == "sed"
	haveProgram := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest := args[i+1:]
			if needsProgram && !haveProgram && len(rest) > 0 {
				ops = append(ops, "--", rest[0])
				rest = rest[1:]
			}
			return ops, append(files, rest...)
		case strings.HasPrefix(a, "-") && len(a) > 1 && !(name == "tr"):
			ops = append(ops, a)
			if len(a) == 2 && strings.ContainsRune(valueOpts, rune(a[1])) && i+1 < len(args) {
				ops = append(ops, args[i+1])
				i++
				if a == "-e" && (name == "grep" || name == "sed" || name == "egrep") {
					haveProgram = true
				}
			}
		case needsProgram && !haveProgram:
			ops = append(ops, a)
			haveProgram = true
		case name == "tr":
			ops = append(ops, a)
		default:
			files = append(files, a)
		}
	}
	return ops, files
}

// limited is a writer that keeps at most n bytes.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	k := len(p)
	if len(p) > l.n {
		p = p[:l.n]
	}
	l.n -= len(p)
	l.w.Write(p)
	return k, nil
}

func lines(b []byte) []string {
	s := string(b)
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func grepFilter(name string) func(func() ([]byte, error), []string, io.Writer) (int, error) {
	return func(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
		var pattern string
		havePattern := false
		ere, fixed := name == "egrep", name == "fgrep"
		invert, quiet, ignore, only, count, whole := false, false, false, false, false, false
		for i := 0; i < len(args); i++ {
			a := args[i]
			if a == "--" && i+1 < len(args) {
				pattern, havePattern = args[i+1], true
				break
			}
			if !strings.HasPrefix(a, "-") || havePattern && a == pattern {
				pattern, havePattern = a, true
				continue
			}
			if a == "-e" && i+1 < len(args) {
				pattern, havePattern = args[i+1], true
				i++
				continue
			}
			for _, c := range a[1:] {
				switch c {
				case 'E':
					ere = true
				case 'F':
					fixed = true
				case 'v':
					invert = true
				case 'q', 's':
					quiet = quiet || c == 'q'
				case 'i':
					ignore = true
				case 'o':
					only = true
				case 'c':
					count = true
				case 'w':
					whole = true
				case 'h', 'a':
				default:
					return 0, errForm
				}
			}
		}
		if !havePattern {
			return 0, errForm
		}
		expr := pattern
		switch {
		case fixed:
			expr = regexp.QuoteMeta(pattern)
		case !ere:
			expr = breToERE(pattern)
		}
		if whole {
			expr = `\b(?:` + expr + `)\b`
		}
		if ignore {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return 0, errForm
		}
		b, err := in()
		if err != nil {
			return 2, err
		}
		n := 0
		for _, l := range lines(b) {
			m := re.MatchString(l)
			if m == invert {
				continue
			}
			n++
			switch {
			case quiet || count:
			case only && !invert:
				for _, s := range re.FindAllString(l, -1) {
					fmt.Fprintln(w, s)
				}
			default:
				fmt.Fprintln(w, l)
			}
		}
		if count {
			fmt.Fprintln(w, n)
		}
		if n == 0 {
			return 1, nil
		}
		return 0, nil
	}
}

// breToERE turns a basic regular expression into Go's syntax: in a BRE, + ? | ( ) { }
// are literal and their backslashed forms are the operators.
func breToERE(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			if strings.IndexByte("+?|(){}", n) >= 0 {
				b.WriteByte(n)
			} else {
				b.WriteByte('\\')
				b.WriteByte(n)
			}
			i++
		case strings.IndexByte("+?|(){}", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fieldList reads cut's -f list: 2, 1,3, 2-, -3, 1-2.
func fieldList(s string) (func(int) bool, error) {
	type rng struct{ a, b int }
	var rs []rng
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, b := 1, 1<<30
		var err error
		if lo != "" {
			if a, err = strconv.Atoi(lo); err != nil {
				return nil, errForm
			}
		}
		if !isRange {
			b = a
		} else if hi != "" {
			if b, err = strconv.Atoi(hi); err != nil {
				return nil, errForm
			}
		}
		rs = append(rs, rng{a, b})
	}
	return func(n int) bool {
		for _, r := range rs {
			if n >= r.a && n <= r.b {
				return true
			}
		}
		return false
	}, nil
}

func cutFilter(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
	delim, fields := "\t", ""
	chars := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-d" && i+1 < len(args):
			delim = args[i+1]
			i++
		case strings.HasPrefix(a, "-d"):
			delim = a[2:]
		case (a == "-f" || a == "-c") && i+1 < len(args):
			fields, chars = args[i+1], a == "-c"
			i++
		case strings.HasPrefix(a, "-f") || strings.HasPrefix(a, "-c"):
			fields, chars = a[2:], a[1] == 'c'
		default:
			return 0, errForm
		}
	}
	if fields == "" || len(delim) != 1 && !chars {
		return 0, errForm
	}
	keep, err := fieldList(fields)
	if err != nil {
		return 0, err
	}
	b, err := in()
	if err != nil {
		return 1, err
	}
	for _, l := range lines(b) {
		var parts []string
		if chars {
			for i, r := range []rune(l) {
				if keep(i + 1) {
					parts = append(parts, string(r))
				}
			}
			fmt.Fprintln(w, strings.Join(parts, ""))
			continue
		}
		if !strings.Contains(l, delim) {
			fmt.Fprintln(w, l)
			continue
		}
		for i, p := range strings.Split(l, delim) {
			if keep(i + 1) {
				parts = append(parts, p)
			}
		}
		fmt.Fprintln(w, strings.Join(parts, delim))
	}
	return 0, nil
}

// awk's programs in the forms scripts use to pick a field: {print $N}, /re/ {print $N},
// $1=="x" {print $N}, NR==N {print $N}, with -F.
var awkProgram = regexp.MustCompile(`^\s*(?:/((?:[^/\\]|\\.)*)/|\$(\d+)\s*==\s*"([^"]*)"|NR\s*==\s*(\d+))?\s*\{\s*print\s+((?:\$\d+|"[^"]*"|NF|\$NF)(?:\s*,?\s*(?:\$\d+|"[^"]*"|\$NF))*)\s*;?\s*\}\s*$`)

func awkFilter(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
	sep := ""
	prog := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-F" && i+1 < len(args):
			sep = args[i+1]
			i++
		case strings.HasPrefix(a, "-F"):
			sep = a[2:]
		case strings.HasPrefix(a, "-"):
			return 0, errForm
		default:
			if prog != "" {
				return 0, errForm
			}
			prog = a
		}
	}
	m := awkProgram.FindStringSubmatch(prog)
	if m == nil {
		return 0, errForm
	}
	var re *regexp.Regexp
	if m[1] != "" {
		var err error
		if re, err = regexp.Compile(m[1]); err != nil {
			return 0, errForm
		}
	}
	items := regexp.MustCompile(`\$\d+|"[^"]*"|\$NF|NF`).FindAllString(m[5], -1)
	commas := strings.Contains(m[5], ",")
	b, err := in()
	if err != nil {
		return 2, err
	}
	for n, l := range lines(b) {
		var f []string
		switch {
		case sep == "" || sep == " ":
			f = strings.Fields(l)
		case len(sep) == 1:
			f = strings.Split(l, sep)
		default:
			sre, err := regexp.Compile(sep)
			if err != nil {
				return 0, errForm
			}
			f = sre.Split(l, -1)
		}
		field := func(k int) string {
			if k == 0 {
				return l
			}
			if k <= len(f) {
				return f[k-1]
			}
			return ""
		}
		switch {
		case re != nil && !re.MatchString(l):
			continue
		case m[2] != "":
			k, _ := strconv.Atoi(m[2])
			if field(k) != m[3] {
				continue
			}
		case m[4] != "":
			if k, _ := strconv.Atoi(m[4]); k != n+1 {
				continue
			}
		}
		var out []string
		for _, it := range items {
			switch {
			case it == "NF":
				out = append(out, strconv.Itoa(len(f)))
			case it == "$NF":
				out = append(out, field(len(f)))
			case strings.HasPrefix(it, "\""):
				out = append(out, strings.Trim(it, `"`))
			default:
				k, _ := strconv.Atoi(it[1:])
				out = append(out, field(k))
			}
		}
		joiner := ""
		if commas {
			joiner = " "
		}
		fmt.Fprintln(w, strings.Join(out, joiner))
	}
	return 0, nil
}

// sed's s command: s/RE/REPL/[g], any delimiter, several with -e or ;.
var sedSubst = regexp.MustCompile(`^s(.)`)

func sedFilter(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
	var scripts []string
	ere := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-e" && i+1 < len(args):
			scripts = append(scripts, args[i+1])
			i++
		case a == "-E" || a == "-r":
			ere = true
		case strings.HasPrefix(a, "-"):
			return 0, errForm // -i writes a file; -n and the rest: not computed
		default:
			scripts = append(scripts, a)
		}
	}
	type sub struct {
		re     *regexp.Regexp
		repl   string
		global bool
	}
	var subs []sub
	for _, s := range scripts {
		for _, cmd := range strings.Split(s, ";") {
			cmd = strings.TrimSpace(cmd)
			if cmd == "" {
				continue
			}
			m := sedSubst.FindStringSubmatch(cmd)
			if m == nil {
				return 0, errForm
			}
			parts := strings.Split(cmd[2:], m[1])
			if len(parts) != 3 || strings.Trim(parts[2], "g") != "" {
				return 0, errForm
			}
			expr := parts[0]
			if !ere {
				expr = breToERE(expr)
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return 0, errForm
			}
			repl := regexp.MustCompile(`\\(\d)`).ReplaceAllString(strings.ReplaceAll(parts[1], "$", "$$"), "$${$1}")
			repl = strings.ReplaceAll(repl, "&", "${0}")
			subs = append(subs, sub{re: re, repl: repl, global: parts[2] == "g"})
		}
	}
	b, err := in()
	if err != nil {
		return 2, err
	}
	for _, l := range lines(b) {
		for _, s := range subs {
			if s.global {
				l = s.re.ReplaceAllString(l, s.repl)
			} else if loc := s.re.FindStringSubmatchIndex(l); loc != nil {
				var dst []byte
				dst = s.re.ExpandString(dst, s.repl, l, loc)
				l = l[:loc[0]] + string(dst) + l[loc[1]:]
			}
		}
		fmt.Fprintln(w, l)
	}
	return 0, nil
}

func sortFilter(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
	rev, num, ver, uniq := false, false, false, false
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return 0, errForm
		}
		for _, c := range a[1:] {
			switch c {
			case 'r':
				rev = true
			case 'n':
				num = true
			case 'V':
				ver = true
			case 'u':
				uniq = true
			default:
				return 0, errForm
			}
		}
	}
	b, err := in()
	if err != nil {
		return 2, err
	}
	ls := lines(b)
	less := func(a, b string) bool { return a < b }
	switch {
	case num:
		less = func(a, b string) bool {
			x, _ := strconv.ParseFloat(strings.TrimSpace(a), 64)
			y, _ := strconv.ParseFloat(strings.TrimSpace(b), 64)
			return x < y
		}
	case ver:
		less = versionLess
	}
	sort.SliceStable(ls, func(i, j int) bool {
		if rev {
			return less(ls[j], ls[i])
		}
		return less(ls[i], ls[j])
	})
	if uniq {
		ls = slices.Compact(ls)
	}
	for _, l := range ls {
		fmt.Fprintln(w, l)
	}
	return 0, nil
}

var digitsRe = regexp.MustCompile(`\d+|\D+`)

// versionLess compares as sort -V does: runs of digits by value.
func versionLess(a, b string) bool {
	x, y := digitsRe.FindAllString(a, -1), digitsRe.FindAllString(b, -1)
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] == y[i] {
			continue
		}
		nx, errX := strconv.Atoi(x[i])
		ny, errY := strconv.Atoi(y[i])
		if errX == nil && errY == nil {
			return nx < ny
		}
		return x[i] < y[i]
	}
	return len(x) < len(y)
}

func headTail(tail bool) func(func() ([]byte, error), []string, io.Writer) (int, error) {
	return func(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
		n := 10
		fromStart := false
		for i := 0; i < len(args); i++ {
			a := args[i]
			v := ""
			switch {
			case a == "-n" && i+1 < len(args):
				v = args[i+1]
				i++
			case strings.HasPrefix(a, "-n"):
				v = a[2:]
			case len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9':
				v = a[1:]
			default:
				return 0, errForm
			}
			if tail && strings.HasPrefix(v, "+") {
				fromStart, v = true, v[1:]
			}
			k, err := strconv.Atoi(v)
			if err != nil || k < 0 {
				return 0, errForm
			}
			n = k
		}
		b, err := in()
		if err != nil {
			return 1, err
		}
		ls := lines(b)
		switch {
		case tail && fromStart:
			ls = ls[min(max(n-1, 0), len(ls)):]
		case tail:
			ls = ls[max(len(ls)-n, 0):]
		default:
			ls = ls[:min(n, len(ls))]
		}
		for _, l := range ls {
			fmt.Fprintln(w, l)
		}
		return 0, nil
	}
}

// trSet expands a tr set: ranges (a-z) and a few escapes; classes are not computed.
func trSet(s string) ([]rune, error) {
	if strings.Contains(s, "[:") {
		switch s {
		case "[:upper:]":
			s = "A-Z"
		case "[:lower:]":
			s = "a-z"
		default:
			return nil, errForm
		}
	}
	rs := []rune(strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r", `\\`, `\`).Replace(s))
	var out []rune
	for i := 0; i < len(rs); i++ {
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i] <= rs[i+2] && rs[i+2]-rs[i] < 256 {
			for c := rs[i]; c <= rs[i+2]; c++ {
				out = append(out, c)
			}
			i += 2
			continue
		}
		out = append(out, rs[i])
	}
	return out, nil
}

func trFilter(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
	del, squeeze := false, false
	var sets []string
	for _, a := range args {
		switch a {
		case "-d":
			del = true
		case "-s":
			squeeze = true
		default:
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				return 0, errForm
			}
			sets = append(sets, a)
		}
	}
	b, err := in()
	if err != nil {
		return 1, err
	}
	if len(sets) == 0 {
		return 0, errForm
	}
	from, err := trSet(sets[0])
	if err != nil {
		return 0, err
	}
	var to []rune
	if len(sets) > 1 {
		if to, err = trSet(sets[1]); err != nil {
			return 0, err
		}
	}
	var out strings.Builder
	var last rune = -1
	for _, c := range string(b) {
		i := slices.Index(from, c)
		switch {
		case i >= 0 && del:
			continue
		case i >= 0 && len(to) > 0:
			c = to[min(i, len(to)-1)]
		}
		if squeeze && c == last && (slices.Contains(from, c) || slices.Contains(to, c)) {
			continue
		}
		last = c
		out.WriteRune(c)
	}
	io.WriteString(w, out.String())
	return 0, nil
}

func uniqFilter(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
	if len(args) > 0 {
		return 0, errForm
	}
	b, err := in()
	if err != nil {
		return 1, err
	}
	for _, l := range slices.Compact(lines(b)) {
		fmt.Fprintln(w, l)
	}
	return 0, nil
}

func wcFilter(in func() ([]byte, error), args []string, w io.Writer) (int, error) {
	if len(args) != 1 || args[0] != "-l" {
		return 0, errForm
	}
	b, err := in()
	if err != nil {
		return 1, err
	}
	fmt.Fprintln(w, bytes.Count(b, []byte("\n")))
	return 0, nil
}

// ls prints its operands as ls -d does, or a folder's names; inside the root only.
func (r *run) ls(hc interp.HandlerContext, args []string) (int, bool) {
	dirsAsFiles := false
	var ops []string
	for _, a := range args[1:] {
		switch {
		case a == "-d" || a == "-1" || a == "-d1" || a == "-1d":
			dirsAsFiles = dirsAsFiles || strings.Contains(a, "d")
		case strings.HasPrefix(a, "-"):
			return 0, false
		default:
			ops = append(ops, a)
		}
	}
	if len(ops) == 0 {
		ops = []string{"."}
	}
	code := 0
	bw := bufio.NewWriter(&limited{w: hc.Stdout, n: maxOutput})
	defer bw.Flush()
	for _, o := range ops {
		p := abs(hc.Dir, o)
		if !r.d.inside(p) {
			return 0, false
		}
		st, err := os.Stat(p)
		if err != nil {
			code = 2
			continue
		}
		if !st.IsDir() || dirsAsFiles {
			fmt.Fprintln(bw, o)
			continue
		}
		ents, err := r.readDir(context.Background(), p)
		if err != nil {
			code = 2
			continue
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				fmt.Fprintln(bw, e.Name())
			}
		}
	}
	return code, true
}
