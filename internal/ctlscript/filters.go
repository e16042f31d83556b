package ctlscript

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/interp"
)

// The built-in forms of sed and awk, computed only where the host has no sandboxed
// one (tools.go): awk's print of fields (mawk and busybox have no sandbox) and sed's
// s. A form they do not know is a command not run. And ls, computed inside the root.

// errForm says a filter was given a form it does not compute.
var errForm = errors.New("a form the dry run does not compute")

// splitOperands takes the file operands off a filter's words: every word after the
// filter's own (options and their values, and the program or pattern).
func splitOperands(name string, args []string) (ops, files []string) {
	valueOpts := "Fv"
	if name == "sed" {
		valueOpts = "e"
	}
	haveProgram := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			rest := args[i+1:]
			if !haveProgram && len(rest) > 0 {
				ops = append(ops, "--", rest[0])
				rest = rest[1:]
			}
			return ops, append(files, rest...)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			ops = append(ops, a)
			if len(a) == 2 && strings.ContainsRune(valueOpts, rune(a[1])) && i+1 < len(args) {
				ops = append(ops, args[i+1])
				i++
				if a == "-e" {
					haveProgram = true
				}
			}
		case !haveProgram:
			ops = append(ops, a)
			haveProgram = true
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
