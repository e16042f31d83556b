package ctlscript

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"mvdan.cc/sh/v3/interp"
)

// The text tools control scripts read their configuration with (grep, sed, awk, cut,
// sort, head, tail, tr, uniq, wc...) and the pure tools that only read (sha256sum,
// stat, find without actions, date...) run for real: the host's own binaries, the
// same the restart will run. Only the tools named in toolSpecs run, and only when
// every word is one the dry run knows:
//   - a writing form (sed -i, sort -o, date -s, find -delete...) or an option the
//     dry run does not know is refused before anything runs: the command is not run;
//   - a file operand must lie inside the root and be a regular file within the
//     bounded size (the caller's reader checks it), else the command is not run;
//   - sed runs with --sandbox (GNU sed 4.3 and later: no e, r or w commands), awk
//     only as gawk --sandbox (no system(), no redirections, no new input files);
//     where the host has neither, the built-in forms of awkFilter and sedFilter are
//     computed and the rest is not run;
//   - the environment is empty but for LC_ALL=C and PATH, the folder is the
//     script's, each run is bounded in time (toolTime, and the dry run's budget) and
//     output (maxOutput), and a dry run spawns at most maxToolRuns of them.

// toolTime bounds one tool's run.
const toolTime = 2 * time.Second

// maxToolRuns bounds the tools one dry run spawns: a loop over them is a note.
const maxToolRuns = 400

// toolPath is where tools are looked up: the host's own, never the script's PATH.
const toolPath = "/usr/bin:/bin"

// operand kinds.
const (
	opFiles   = iota // every operand is a file to read
	opProgram        // the first operand is a pattern or program (unless an option gave it), the rest files
	opSets           // tr: operands are sets, no file
	opDate           // date: only +FORMAT
	opPaths          // stat: files or folders inside the root
)

// toolSpec says which words of a tool the dry run knows.
type toolSpec struct {
	// flags are the short options without a value, vals those with one, fileVals
	// those whose value is a file to read (checked like an operand), progVals those
	// that give the pattern or program.
	flags, vals, fileVals, progVals string
	// opt are short options whose value, optional, is only the rest of the word.
	opt string
	// longs: long options; 'n' no value, 'v' a value, 'f' a file, 'p' the program
	// given as a value, 'o' a value only after "=".
	longs map[string]byte
	// writes are short options that write or set something, wlongs long ones.
	writes string
	wlongs []string
	ops    int
	// maxOps bounds the operands (uniq's second writes a file); 0: no bound.
	maxOps int
	// digits: -NUM is an option (head -5).
	digits bool
}

var grepSpec = &toolSpec{flags: "EFGPiyvwxcLlqsbHhnToZzUaI", vals: "efmABC", fileVals: "f", progVals: "ef", ops: opProgram, digits: true,
	longs: map[string]byte{"extended-regexp": 'n', "fixed-strings": 'n', "basic-regexp": 'n', "perl-regexp": 'n', "regexp": 'p', "file": 'f',
		"ignore-case": 'n', "no-ignore-case": 'n', "invert-match": 'n', "word-regexp": 'n', "line-regexp": 'n', "count": 'n', "color": 'o', "colour": 'o',
		"files-without-match": 'n', "files-with-matches": 'n', "max-count": 'v', "only-matching": 'n', "quiet": 'n', "silent": 'n', "no-messages": 'n',
		"byte-offset": 'n', "with-filename": 'n', "no-filename": 'n', "label": 'v', "line-number": 'n', "initial-tab": 'n', "null": 'n', "null-data": 'n',
		"after-context": 'v', "before-context": 'v', "context": 'v', "text": 'n', "binary": 'n', "line-buffered": 'n'}}

// sed: -i is refused (writes); -s -n -E -r -z -u and the script by -e, -f.
var sedSpec = &toolSpec{flags: "nErszu", vals: "efl", fileVals: "f", progVals: "ef", ops: opProgram, writes: "i",
	wlongs: []string{"in-place", "follow-symlinks"},
	longs: map[string]byte{"quiet": 'n', "silent": 'n', "expression": 'p', "file": 'f', "regexp-extended": 'n', "separate": 'n', "null-data": 'n',
		"unbuffered": 'n', "posix": 'n', "line-length": 'v', "debug": 'n', "sandbox": 'n'}}

// awk: gawk's options that neither write (-d, -o, -p dump, pretty-print and
// profile to files) nor load code (-l, -i).
var awkSpec = &toolSpec{flags: "bcPrnNMtsS", vals: "Fvfe", fileVals: "f", progVals: "fe", ops: opProgram, writes: "dop",
	longs: map[string]byte{"field-separator": 'v', "assign": 'v', "file": 'f', "source": 'p', "characters-as-bytes": 'n', "traditional": 'n',
		"posix": 'n', "re-interval": 'n', "non-decimal-data": 'n', "bignum": 'n', "sandbox": 'n', "no-optimize": 'n', "use-lc-numeric": 'n'}}

var toolSpecs = map[string]*toolSpec{
	"grep": grepSpec, "egrep": grepSpec, "fgrep": grepSpec,
	"sed": sedSpec,
	"awk": awkSpec, "gawk": awkSpec, "mawk": awkSpec, "nawk": awkSpec,
	"cut": {flags: "snz", vals: "bcdf", longs: map[string]byte{"bytes": 'v', "characters": 'v', "delimiter": 'v', "fields": 'v', "complement": 'n',
		"only-delimited": 'n', "output-delimiter": 'v', "zero-terminated": 'n'}},
	"sort": {flags: "bdfgiMhnRrVcCsumz", vals: "ktS", writes: "o", wlongs: []string{"output"},
		longs: map[string]byte{"ignore-leading-blanks": 'n', "dictionary-order": 'n', "ignore-case": 'n', "general-numeric-sort": 'n', "ignore-nonprinting": 'n',
			"month-sort": 'n', "human-numeric-sort": 'n', "numeric-sort": 'n', "random-sort": 'n', "reverse": 'n', "version-sort": 'n', "sort": 'v',
			"check": 'o', "merge": 'n', "key": 'v', "field-separator": 'v', "stable": 'n', "unique": 'n', "zero-terminated": 'n', "buffer-size": 'v', "parallel": 'v'}},
	"head": {flags: "qvz", vals: "nc", digits: true, longs: map[string]byte{"lines": 'v', "bytes": 'v', "quiet": 'n', "silent": 'n', "verbose": 'n', "zero-terminated": 'n'}},
	"tail": {flags: "qvzr", vals: "nc", digits: true,
		longs: map[string]byte{"lines": 'v', "bytes": 'v', "quiet": 'n', "silent": 'n', "verbose": 'n', "zero-terminated": 'n'}},
	"tr":        {flags: "cCdst", ops: opSets, longs: map[string]byte{"complement": 'n', "delete": 'n', "squeeze-repeats": 'n', "truncate-set1": 'n'}},
	"uniq":      {flags: "cdDiuz", vals: "fsw", maxOps: 1, longs: map[string]byte{"count": 'n', "repeated": 'n', "all-repeated": 'o', "ignore-case": 'n', "unique": 'n', "zero-terminated": 'n', "skip-fields": 'v', "skip-chars": 'v', "check-chars": 'v', "group": 'o'}},
	"wc":        {flags: "clmwL", longs: map[string]byte{"bytes": 'n', "chars": 'n', "lines": 'n', "words": 'n', "max-line-length": 'n', "total": 'o'}},
	"tac":       {flags: "br", vals: "s", longs: map[string]byte{"before": 'n', "regex": 'n', "separator": 'v'}},
	"rev":       {},
	"paste":     {flags: "sz", vals: "d", longs: map[string]byte{"serial": 'n', "delimiters": 'v', "zero-terminated": 'n'}},
	"sha256sum": sumSpec, "sha1sum": sumSpec, "sha512sum": sumSpec, "sha224sum": sumSpec, "sha384sum": sumSpec, "md5sum": sumSpec, "b2sum": sumSpec,
	"shasum": {flags: "btUp0", vals: "a", longs: map[string]byte{"algorithm": 'v', "binary": 'n', "text": 'n', "UNIVERSAL": 'n', "01": 'n', "tag": 'n'}},
	"stat":   {flags: "Lft", vals: "c", ops: opPaths, longs: map[string]byte{"dereference": 'n', "file-system": 'n', "format": 'v', "printf": 'v', "terse": 'n', "cached": 'v'}},
	"date": {flags: "uR", opt: "I", vals: "drf", fileVals: "rf", ops: opDate, writes: "s", wlongs: []string{"set"},
		longs: map[string]byte{"date": 'v', "iso-8601": 'o', "rfc-3339": 'v', "rfc-email": 'n', "reference": 'f', "file": 'f', "utc": 'n', "universal": 'n', "debug": 'n'}},
}

var sumSpec = &toolSpec{flags: "btz", longs: map[string]byte{"binary": 'n', "text": 'n', "tag": 'n', "zero": 'n'}}

// refusal says why a tool's words are not run.
type refusal struct {
	writes bool
	what   string
}

// toolArgs are a tool's words, read by its spec.
type toolArgs struct {
	files   []string // file operands and file values, as written ("-" is standard input)
	program bool     // an option gave the program
}

// parse reads the words after the tool's name; a refusal says why it is not run.
func (s *toolSpec) parse(words []string) (toolArgs, *refusal) {
	var t toolArgs
	var ops []string
	unknown := func(w string) *refusal { return &refusal{what: "the option " + w + " is one the dry run does not run"} }
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "--":
			ops = append(ops, words[i+1:]...)
			i = len(words)
		case w == "-" || !strings.HasPrefix(w, "-"):
			ops = append(ops, w)
		case strings.HasPrefix(w, "--"):
			name, val, hasVal := strings.Cut(w[2:], "=")
			for _, wl := range s.wlongs {
				if name == wl {
					return t, &refusal{writes: true, what: "--" + name}
				}
			}
			kind, ok := s.longs[name]
			if !ok || name == "" {
				return t, unknown("--" + name)
			}
			switch kind {
			case 'n':
				if hasVal {
					return t, unknown(w)
				}
			case 'o':
			case 'v', 'f', 'p':
				if !hasVal {
					if i+1 >= len(words) {
						return t, unknown(w)
					}
					i++
					val = words[i]
				}
				if kind == 'f' {
					t.files = append(t.files, val)
				}
				if kind == 'p' || kind == 'f' && s.ops == opProgram {
					t.program = true
				}
			}
		case s.digits && isDigits(w[1:]):
		default:
			cluster := w[1:]
			for j := 0; j < len(cluster); j++ {
				c := cluster[j]
				switch {
				case strings.IndexByte(s.writes, c) >= 0:
					return t, &refusal{writes: true, what: "-" + string(c)}
				case strings.IndexByte(s.flags, c) >= 0:
				case strings.IndexByte(s.opt, c) >= 0:
					j = len(cluster)
				case strings.IndexByte(s.vals, c) >= 0:
					val := cluster[j+1:]
					if val == "" {
						if i+1 >= len(words) {
							return t, unknown(w)
						}
						i++
						val = words[i]
					}
					if strings.IndexByte(s.fileVals, c) >= 0 {
						t.files = append(t.files, val)
					}
					if strings.IndexByte(s.progVals, c) >= 0 {
						t.program = true
					}
					j = len(cluster)
				default:
					return t, unknown("-" + string(c))
				}
			}
		}
	}
	switch s.ops {
	case opProgram:
		if !t.program {
			if len(ops) == 0 {
				return t, &refusal{what: "no program"}
			}
			ops = ops[1:]
		}
		for _, o := range ops {
			if !assignRe.MatchString(o) || s != awkSpec {
				t.files = append(t.files, o)
			}
		}
	case opSets:
	case opDate:
		for _, o := range ops {
			if !strings.HasPrefix(o, "+") {
				return t, &refusal{writes: true, what: "an operand that sets the clock"}
			}
		}
	default:
		if s.maxOps > 0 && len(ops) > s.maxOps {
			return t, &refusal{writes: true, what: "a second operand (the output file)"}
		}
		t.files = append(t.files, ops...)
	}
	return t, nil
}

// assignRe is awk's var=value operand.
var assignRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// findSpec: find's actions that run, write or delete are refused; so are -L and
// -follow (they leave the root through symlinks), and tests naming other files.
var findRefused = map[string]bool{"-exec": true, "-execdir": true, "-ok": true, "-okdir": true, "-delete": true, "-fprint": true,
	"-fprint0": true, "-fprintf": true, "-fls": true, "-L": true, "-follow": true, "-H": true, "-newer": true, "-anewer": true, "-cnewer": true,
	"-samefile": true, "-files0-from": true, "-D": true, "-O": true}

// findStarts are find's starting points, or a refusal.
func findStarts(words []string) ([]string, *refusal) {
	var starts []string
	i := 0
	for ; i < len(words) && words[i] == "-P"; i++ {
	}
	for ; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") || w == "(" || w == "!" || w == ")" || w == "," {
			break
		}
		starts = append(starts, w)
	}
	for _, w := range words {
		if findRefused[w] || strings.HasPrefix(w, "-newer") {
			return nil, &refusal{writes: w != "-L" && w != "-follow" && w != "-H", what: w}
		}
	}
	if len(starts) == 0 {
		starts = []string{"."}
	}
	return starts, nil
}

// hostTools is what the host offers: GNU sed with --sandbox, gawk.
type hostTools struct {
	sed  bool   // sed --sandbox works (GNU sed 4.3 and later)
	gawk string // gawk's path, "" when the host has none
}

var detectTools = sync.OnceValue(func() hostTools {
	var h hostTools
	if p := lookTool("sed"); p != "" {
		out, _ := toolCommand(context.Background(), p, "--version").Output()
		if m := regexp.MustCompile(`GNU sed\)? (\d+)\.(\d+)`).FindSubmatch(out); m != nil {
			major, _ := strconv.Atoi(string(m[1]))
			minor, _ := strconv.Atoi(string(m[2]))
			h.sed = major > 4 || major == 4 && minor >= 3
		}
	}
	if p := lookTool("gawk"); p != "" {
		out, _ := toolCommand(context.Background(), p, "--version").Output()
		if bytes.HasPrefix(out, []byte("GNU Awk")) {
			h.gawk = p
		}
	}
	return h
})

// noSandbox lets a test take the host's sandboxed sed and gawk away.
var noSandbox struct{ sed, awk bool }

func (h hostTools) hasSed() bool { return h.sed && !noSandbox.sed }
func (h hostTools) gawkPath() string {
	if noSandbox.awk {
		return ""
	}
	return h.gawk
}

var toolPaths sync.Map

// lookTool finds a tool in the host's /usr/bin or /bin.
func lookTool(name string) string {
	if p, ok := toolPaths.Load(name); ok {
		return p.(string)
	}
	p := ""
	for _, dir := range filepath.SplitList(toolPath) {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			p = filepath.Join(dir, name)
			break
		}
	}
	toolPaths.Store(name, p)
	return p
}

func toolCommand(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{"LC_ALL=C", "PATH=" + toolPath}
	cmd.WaitDelay = 200 * time.Millisecond
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// tool runs a text or reading tool for real, or computes its built-in form; ok is
// false when args is not one of them (the caller goes on).
func (r *run) tool(ctx context.Context, hc interp.HandlerContext, line int, args []string) (status int, ok bool) {
	name := filepath.Base(args[0])
	if name == "ls" {
		return r.ls(hc, args)
	}
	spec := toolSpecs[name]
	if spec == nil && name != "find" {
		return 0, false
	}
	var out, errOut bytes.Buffer
	code, ran := r.runTool(ctx, hc, line, name, spec, args, &capped{w: &out, n: maxOutput}, &limited{w: &errOut, n: 4096})
	if !ran {
		// Not run: a stand-in, as any command not run.
		r.notRun(hc, line, args)
		return 0, true
	}
	// Asked once the tool has read its input: the parts of a pipeline run at once,
	// and the one writing into it may have started after the tool.
	from := r.d.taintOf(hc.Stdin)
	if from != "" {
		r.d.taintPipe(hc.Stdout, from)
		if code != 0 {
			r.d.note(r.file(), line, "%s: its input comes from %s, which the dry run does not run; taken as succeeding", name, from)
			return 0, true
		}
	}
	hc.Stdout.Write(out.Bytes())
	hc.Stderr.Write(errOut.Bytes())
	return code, true
}

// runTool runs one tool; ran is false when it is not run (a note says why).
func (r *run) runTool(ctx context.Context, hc interp.HandlerContext, line int, name string, spec *toolSpec, args []string, stdout, stderr io.Writer) (status int, ran bool) {
	var files []string
	var why *refusal
	var inRoot bool // operands may be folders (stat, find)
	if name == "find" {
		files, why = findStarts(args[1:])
		inRoot = true
	} else {
		var t toolArgs
		t, why = spec.parse(args[1:])
		files = t.files
		inRoot = spec.ops == opPaths
	}
	if why != nil {
		if why.writes {
			r.d.note(r.file(), line, "%s %s writes or changes something: not run", name, why.what)
		} else {
			r.d.note(r.file(), line, "%s: %s: not run", name, why.what)
		}
		return 0, false
	}
	for _, f := range files {
		if f == "-" && !inRoot {
			continue
		}
		p := abs(hc.Dir, f)
		if inRoot {
			if !r.d.inside(p) {
				r.d.note(r.file(), line, "%s: %s is outside the deployment root: not run", name, p)
				return 0, false
			}
			if _, err := os.Lstat(p); err != nil {
				r.d.note(r.file(), line, "%s: %s: no such file", name, r.d.rel(p))
				fmt.Fprintf(stderr, "%s: %s: No such file or directory\n", name, f)
				return 1, true
			}
			continue
		}
		if _, err := r.read(p, line); err != nil {
			if errors.Is(err, fs.ErrNotExist) && r.d.inside(p) {
				// What the real tool does with a missing file: a message, and failure.
				fmt.Fprintf(stderr, "%s: %s: No such file or directory\n", name, f)
				if name == "grep" || name == "egrep" || name == "fgrep" || name == "sed" || strings.HasSuffix(name, "awk") {
					return 2, true
				}
				return 1, true
			}
			return 0, false
		}
	}
	path, words := lookTool(name), args[1:]
	host := detectTools()
	switch name {
	case "egrep", "fgrep":
		path, words = lookTool("grep"), append([]string{"-" + strings.ToUpper(name[:1])}, words...)
	case "shasum":
		// shasum is Perl (15 ms to start); coreutils' shaNsum print the same.
		if p, w := shasumAsCoreutils(words); p != "" {
			path, words = p, w
		}
	case "sed":
		if !host.hasSed() {
			return r.builtinFilter(hc, line, name, args, files, stdout, sedFilter)
		}
		words = append([]string{"--sandbox"}, words...)
	case "awk", "gawk", "mawk", "nawk":
		path = host.gawkPath()
		if path == "" {
			return r.builtinFilter(hc, line, name, args, files, stdout, awkFilter)
		}
		words = append([]string{"--sandbox"}, words...)
	}
	if path == "" {
		r.d.note(r.file(), line, "%s: the host has no %s: not run", name, name)
		return 0, false
	}
	r.d.mu.Lock()
	r.d.toolRuns++
	n := r.d.toolRuns
	r.d.mu.Unlock()
	if n > maxToolRuns {
		if n == maxToolRuns+1 {
			r.d.note(r.file(), line, "the dry run ran %d tools: the rest are not run", maxToolRuns)
		}
		return 0, false
	}
	tctx, cancel := context.WithTimeout(ctx, toolTime)
	defer cancel()
	cmd := toolCommand(tctx, path, words...)
	cmd.Dir = hc.Dir
	if f, ok := hc.Stdin.(*os.File); ok && f != nil {
		cmd.Stdin = f
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Start()
	if err == nil {
		limitProcess(cmd.Process.Pid)
		err = cmd.Wait()
	}
	if tctx.Err() != nil {
		r.d.note(r.file(), line, "%s ran past %s: stopped, not run", name, toolTime)
		return 0, false
	}
	if c, ok := stdout.(*capped); ok && c.n == 0 {
		r.d.note(r.file(), line, "%s printed more than %d bytes: what follows is cut", name, maxOutput)
		return 0, true
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode(), true
	}
	r.d.note(r.file(), line, "%s: %s: not run", name, firstLine(err.Error()))
	return 0, false
}

// shasumAsCoreutils maps shasum [-a N] [-b|-t] FILE... to coreutils' shaNsum, or
// returns "".
func shasumAsCoreutils(words []string) (string, []string) {
	alg := "1"
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		switch {
		case w == "-a" && i+1 < len(words):
			alg = words[i+1]
			i++
		case strings.HasPrefix(w, "-a") && len(w) > 2:
			alg = w[2:]
		case w == "-b" || w == "-t" || w == "--":
			out = append(out, w)
		case strings.HasPrefix(w, "-") && w != "-":
			return "", nil
		default:
			out = append(out, w)
		}
	}
	switch alg {
	case "1", "224", "256", "384", "512":
		if p := lookTool("sha" + alg + "sum"); p != "" {
			return p, out
		}
	}
	return "", nil
}

// limitProcess bounds a tool's memory (512 MiB) and the files it may write (none),
// behind the sandboxes and the refused forms.
func limitProcess(pid int) {
	for _, l := range []struct {
		resource int
		max      uint64
	}{{syscall.RLIMIT_AS, 512 << 20}, {syscall.RLIMIT_FSIZE, 0}} {
		lim := syscall.Rlimit{Cur: l.max, Max: l.max}
		syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(l.resource), uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	}
}

// builtinFilter computes the built-in form of sed or awk where the host has no
// sandboxed one.
func (r *run) builtinFilter(hc interp.HandlerContext, line int, name string, args, files []string, w io.Writer,
	f func(func() ([]byte, error), []string, io.Writer) (int, error)) (int, bool) {
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
	ops, _ := splitOperands(name, args[1:])
	code, err := f(in, ops, w)
	if errors.Is(err, errForm) {
		sandboxed := "GNU sed 4.3 or later (its --sandbox)"
		if name != "sed" {
			sandboxed = "gawk (its --sandbox)"
		}
		r.d.note(r.file(), line, "%s: a form the dry run computes only with %s, which this host has not: not run", name, sandboxed)
		return 0, false
	}
	if err != nil {
		return 2, true
	}
	return code, true
}

// capped keeps at most n bytes, then fails: the tool's output pipe closes and a
// tool that prints without end stops.
type capped struct {
	w io.Writer
	n int
}

var errCapped = errors.New("output past the bound")

func (c *capped) Write(p []byte) (int, error) {
	if len(p) > c.n {
		c.w.Write(p[:c.n])
		c.n = 0
		return 0, errCapped
	}
	c.n -= len(p)
	return c.w.Write(p)
}

// taintOf names the command not run that wrote into the pipe r reads, if any.
func (d *dry) taintOf(r io.Reader) string {
	ino := pipeIno(r)
	if ino == 0 {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tainted[ino]
}

// taintPipe marks the pipe w writes into as carrying the output of a command not
// run (from).
func (d *dry) taintPipe(w io.Writer, from string) {
	ino := pipeIno(w)
	if ino == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tainted == nil {
		d.tainted = map[uint64]string{}
	}
	if _, ok := d.tainted[ino]; !ok && len(d.tainted) < 10_000 {
		d.tainted[ino] = from
	}
}

// pipeIno is the inode of the pipe behind v (both ends share it), or 0.
func pipeIno(v any) uint64 {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return 0
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		return 0
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ino
	}
	return 0
}
