package ctlscript

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Options say what to dry-run and where.
type Options struct {
	// Root is the deployment root (absolute): the command runs there, and files are
	// read only inside it.
	Root string
	// Command is the shell command line to dry-run, as the restart would run it in
	// Root: "./deploy.sh restart", or imgup.yaml's restart:.
	Command string
	// Environ is the environment the command starts with ("KEY=VALUE").
	Environ []string
	// ReadFile reads a file inside the root, bounded and without blocking (required).
	ReadFile func(path string) ([]byte, error)
	// Time, Steps and Memory bound the run: wall time (2 s), statements and commands
	// run (200,000), and growth of the heap (4 MiB). Zero takes the default.
	Time   time.Duration
	Steps  int64
	Memory uint64
}

// Result is what the dry run saw the command do.
type Result struct {
	Command string `json:"command"`
	// Calls are the compose and docker commands it runs, in order (queries like
	// docker ps left out).
	Calls []Call `json:"calls"`
	// Kube are the kubectl and helm commands that deploy to Kubernetes, in order
	// (queries like kubectl get left out).
	Kube []KubeCall `json:"kube,omitempty"`
	// NotRun are the other commands it runs, which the dry run did not run (each
	// command line once).
	NotRun []Command `json:"not_run,omitempty"`
	// Scripts are the scripts it dry-ran (the control script, and those it runs),
	// Sourced the files they source, Dirs the folders they change into: relative to
	// the root when inside it.
	Scripts []string `json:"scripts,omitempty"`
	Sourced []string `json:"sourced,omitempty"`
	Dirs    []string `json:"dirs,omitempty"`
	// Read are the files inside the root it read (scripts, sourced files, cat's and
	// the tools' operands, redirections), relative to the root: where a value it
	// computed (a version file's content) may come from.
	Read []string `json:"read,omitempty"`
	// Notes say what the dry run could not follow, with the line.
	Notes []Note `json:"notes,omitempty"`
	// Exit is the command's exit status in the dry run.
	Exit int `json:"exit"`
	// Stopped: the budget ended the dry run before the command did.
	Stopped bool `json:"stopped,omitempty"`
	// ExitAt is, when Exit is not 0, the command the run ended on: the exit N, or
	// the command that failed under set -e.
	ExitAt *Command `json:"exit_at,omitempty"`
	// Output are the last lines the command printed (standard output and error
	// together): at most maxOutputLines, each cut at maxLineBytes.
	Output []string `json:"output,omitempty"`
	// Prompts are the reads that met the end of their input where a person would
	// type: read and select on the script's own standard input.
	Prompts []Prompt `json:"prompts,omitempty"`
	// Offline are the commands that reach the network, which the dry run answered
	// as an offline machine does: with failure.
	Offline []Command `json:"offline,omitempty"`
}

// Prompt is a read from the script's standard input (a terminal when a person runs
// it; nothing when imgup does).
type Prompt struct {
	Command
	// Text is read's -p prompt, else the last line printed before the read.
	Text string `json:"text"`
}

// Command is one command line the script runs.
type Command struct {
	// Script is the script it is in (relative to the root), Line its line there.
	Script string `json:"script,omitempty"`
	Line   int    `json:"line,omitempty"`
	// Dir is the folder it runs in: "." for the root, relative under it, else absolute.
	Dir  string   `json:"dir"`
	Args []string `json:"args"`
}

// Knows reports whether the dry run knows the call's field: "project", "dir" or "files".
func (c Call) Knows(field string) bool { return !slices.Contains(c.UnknownFields, field) }

// Call is a compose or docker command.
type Call struct {
	Command
	// Compose is true for docker-compose and docker compose, V2 for the latter.
	Compose bool `json:"compose"`
	V2      bool `json:"v2,omitempty"`
	// Verb is the subcommand (up, down, restart, load...).
	Verb string `json:"verb"`
	// Project is the project name compose is given (-p, --project-name, else an
	// exported COMPOSE_PROJECT_NAME); ProjectFrom says which; "" when compose takes
	// its own default (a .env's COMPOSE_PROJECT_NAME, the file's name:, the folder).
	Project     string `json:"project,omitempty"`
	ProjectFrom string `json:"project_from,omitempty"`
	// ProjectDir is compose's working folder: --project-directory, else the first
	// file's folder, else Dir.
	ProjectDir string `json:"project_dir,omitempty"`
	// Files are the compose files (-f, else an exported COMPOSE_FILE), relative to
	// the root when inside it; nil when compose takes its defaults in ProjectDir.
	Files []string `json:"files,omitempty"`
	// Services are the services named; nil means all of the project's.
	Services []string `json:"services,omitempty"`
	// Unknown names the command whose output the project, folder or files are built
	// from, when the dry run did not run it; UnknownFields says which of "project",
	// "dir" and "files" are then not known.
	Unknown       string   `json:"unknown,omitempty"`
	UnknownFields []string `json:"unknown_fields,omitempty"`
	// Env is KEY=VALUE of every variable exported at the call whose value differs
	// from (or is absent in) Options.Environ, sorted: at most maxEnv, and values at
	// most maxEnvValue bytes (a longer one is left out).
	Env []string `json:"env,omitempty"`
	// UnknownEnv are the variables exported at the call whose values are built from
	// the output of a command the dry run did not run (left out of Env).
	UnknownEnv []string `json:"unknown_env,omitempty"`
	// EnvFiles are compose's --env-file values (relative to the root when inside it),
	// Profiles its --profile values.
	EnvFiles []string `json:"env_files,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
	// Pull is the --pull value of up, run or create ("always", "missing"...).
	Pull string `json:"pull,omitempty"`
}

// Note is something the dry run could not follow.
type Note struct {
	Script string `json:"script,omitempty"`
	Line   int    `json:"line,omitempty"`
	Text   string `json:"text"`
}

func (n Note) String() string {
	switch {
	case n.Script != "" && n.Line > 0:
		return fmt.Sprintf("%s line %d: %s", n.Script, n.Line, n.Text)
	case n.Script != "":
		return n.Script + ": " + n.Text
	}
	return n.Text
}

// String is the call as a command line, quoted where a word needs it.
func (c Command) String() string {
	var b strings.Builder
	for i, a := range c.Args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Quote(a))
	}
	return b.String()
}

// Quote quotes a word for a shell when it needs it.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if plainWord.MatchString(s) {
		return s
	}
	if q, err := syntax.Quote(s, syntax.LangBash); err == nil {
		return q
	}
	return strconv.Quote(s)
}

// Default budget.
const (
	// defaultTime bounds a hostile script's run, not a real one's: steps and heap stop
	// loops and bombs long before it. A real script's dry run takes milliseconds, but
	// a loaded machine (a CI running tests in parallel) once cut one at 2 s, and the
	// stack fell back to the folder's name as its project.
	defaultTime   = 10 * time.Second
	defaultSteps  = 200_000
	defaultMemory = 4 << 20
	// maxScripts bounds how deep scripts may run scripts.
	maxScripts = 8
	// maxNesting bounds the bracket nesting of a script the parser is given.
	maxNesting = 500
	// maxWords bounds the words one brace expansion may make.
	maxWords = 10_000
	// maxStack bounds the Go stack frames of the interpreter (deep recursion).
	maxStack = 4000
	// maxOutput bounds what a computed command prints (cat).
	maxOutput = 1 << 20
	// maxRecorded bounds the commands recorded.
	maxRecorded = 2000
	// maxOutputLines and maxLineBytes bound Result.Output.
	maxOutputLines = 20
	maxLineBytes   = 300
	// maxEnv and maxEnvValue bound Call.Env.
	maxEnv      = 200
	maxEnvValue = 64 << 10
)

// DryRun runs o.Command in the interpreter with nothing real behind it. It never
// returns an error: what it cannot follow is a note in the result.
func DryRun(ctx context.Context, o Options) *Result {
	if o.Time <= 0 {
		o.Time = defaultTime
	}
	if o.Steps <= 0 {
		o.Steps = defaultSteps
	}
	if o.Memory == 0 {
		o.Memory = defaultMemory
	}
	res := dryRun(ctx, o, false)
	if res.captured {
		// The script reads the output of commands the dry run does not run. A second
		// run in which each prints a marker tells which calls are built from it.
		marked := dryRun(ctx, o, true)
		res.taint(marked)
		if e, m := res.ExitAt, marked.ExitAt; e != nil && (m == nil || m.Script != e.Script || m.Line != e.Line) {
			// Where the stand-ins print something, the run does not end there: the
			// stop is one only a stand-in's empty output caused, not the restart's.
			res.Notes = append(res.Notes, Note{Script: e.Script, Line: e.Line,
				Text: "the dry run ends here only because a command it does not run printed nothing; what follows is not known"})
			res.ExitAt = nil
		}
	}
	return &res.Result
}

// result is a Result with what the run learnt on the way.
type result struct {
	Result
	// captured: a command not run had its output captured ($(...), a pipe into one).
	captured bool
	// markers are the command lines whose marker a marked run printed, by index.
	markers []string
}

// marker is what command i prints in a marked run.
func marker(i int) string { return fmt.Sprintf("\x1eimgup%d\x1e", i) }

var markerRe = regexp.MustCompile("\x1eimgup(\\d+)\x1e")

// taint marks the calls of r that a marked run m shows to be built from the output
// of a command not run.
func (r *result) taint(m *result) {
	for i := range r.Calls {
		c := &r.Calls[i]
		var twin *Call
		if len(m.Calls) == len(r.Calls) {
			twin = &m.Calls[i]
		} else {
			for j := range m.Calls {
				if m.Calls[j].Script == c.Script && m.Calls[j].Line == c.Line && m.Calls[j].Verb == c.Verb {
					twin = &m.Calls[j]
					break
				}
			}
		}
		if twin == nil {
			continue
		}
		for _, f := range []struct {
			name   string
			values []string
		}{{"project", []string{twin.Project}}, {"dir", []string{twin.ProjectDir, twin.Dir}}, {"files", twin.Files}} {
			for _, v := range f.values {
				if sm := markerRe.FindStringSubmatch(v); sm != nil {
					if k, err := strconv.Atoi(sm[1]); err == nil && k < len(m.markers) && c.Unknown == "" {
						c.Unknown = m.markers[k]
					}
					c.UnknownFields = append(c.UnknownFields, f.name)
					break
				}
			}
		}
		// A variable exported at the call whose value is built from a command not run
		// is not known: it leaves Env for UnknownEnv.
		for _, kv := range twin.Env {
			if !markerRe.MatchString(kv) {
				continue
			}
			name, _, _ := strings.Cut(kv, "=")
			c.UnknownEnv = append(c.UnknownEnv, name)
			c.Env = slices.DeleteFunc(c.Env, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		}
	}
}

func dryRun(ctx context.Context, o Options, mark bool) *result {
	d := &dry{o: o, res: &result{Result: Result{Command: o.Command}}, seen: map[string]bool{}, sleeps: map[string]int{}, mark: mark,
		out: &ring{}, base: map[string]string{}}
	for _, kv := range o.Environ {
		k, v, _ := strings.Cut(kv, "=")
		d.base[k] = v
	}
	d.realRoot = o.Root
	if rr, err := filepath.EvalSymlinks(o.Root); err == nil {
		d.realRoot = rr
	}
	b := newBudget(ctx, o)
	defer b.cancel()
	file, err := d.parse([]byte(o.Command), "")
	if err != nil {
		d.res.Exit = 2
		return d.res
	}
	var env []string
	for _, kv := range o.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if k != "UID" && k != "EUID" && k != "GID" {
			// The interpreter sets them from the process, as bash does.
			env = append(env, kv)
		}
	}
	d.res.Exit = d.runFile(b, file, "", o.Root, env, nil, 0, nil, d.out, d.out)
	d.res.Output = d.out.lines()
	if why := b.why(); why != "" {
		d.res.Stopped = true
		d.note("", d.lastLine(), "the dry run stopped: %s; what follows that point is not known", why)
	} else if d.res.Exit != 0 {
		d.res.ExitAt = d.exitAt()
	}
	return d.res
}

type dry struct {
	o        Options
	realRoot string
	mark     bool
	mu       sync.Mutex // background jobs record concurrently
	res      *result
	seen     map[string]bool
	sleeps   map[string]int
	last     struct {
		script string
		line   int
	}
	// out keeps the last lines the script printed.
	out *ring
	// base is Options.Environ by name.
	base map[string]string
	// toolRuns counts the tools run; tainted names, by pipe, the command not run
	// that wrote into it.
	toolRuns int
	tainted  map[uint64]string
	// ended tracks where the run ends: the last command, its status (known, or
	// not for a builtin), and the last one known to have failed.
	ended struct {
		last       *Command
		lastStatus int // statusOK, statusFailed, statusUnknown, statusExit
		failed     *Command
	}
}

func (d *dry) note(script string, line int, format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := Note{Script: script, Line: line, Text: fmt.Sprintf(format, args...)}
	if len(d.res.Notes) < 100 && !slices.Contains(d.res.Notes, n) {
		d.res.Notes = append(d.res.Notes, n)
	}
}

func (d *dry) lastLine() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last.line
}

// rel names p relative to the root when it lies inside it, else as it is.
func (d *dry) rel(p string) string {
	for _, root := range []string{d.o.Root, d.realRoot} {
		if r, err := filepath.Rel(root, p); err == nil && r != ".." && !strings.HasPrefix(r, "../") {
			return r
		}
	}
	return p
}

// inside reports whether p (absolute) resolves inside the root.
func (d *dry) inside(p string) bool {
	rp, err := filepath.EvalSymlinks(p)
	if err != nil {
		rp = filepath.Clean(p)
		if dir, err := filepath.EvalSymlinks(filepath.Dir(p)); err == nil {
			rp = filepath.Join(dir, filepath.Base(p))
		}
	}
	return rp == d.realRoot || strings.HasPrefix(rp, d.realRoot+string(filepath.Separator))
}

// parse parses a script; a script it cannot parse is a note.
func (d *dry) parse(src []byte, script string) (*syntax.File, error) {
	if depth := nesting(src); depth > maxNesting {
		d.note(script, 0, "not dry-run: brackets nest %d deep", depth)
		return nil, errors.New("too deep")
	}
	name := script
	if name == "" {
		name = "imgup-restart"
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(src), name)
	if err != nil {
		var pe syntax.ParseError
		line := 0
		if errors.As(err, &pe) {
			line = int(pe.Pos.Line())
		}
		d.note(script, line, "not dry-run: the shell parser stops here: %s", firstLine(err.Error()))
		return nil, err
	}
	if why, line := d.tame(f); why != "" {
		d.note(script, line, "not dry-run: %s", why)
		return nil, errors.New(why)
	}
	if script == "" {
		f.Name = ""
	}
	return f, nil
}

// nesting is the deepest bracket nesting in src, counted naively (quotes ignored):
// an upper bound that keeps the recursive parser's stack small.
func nesting(src []byte) int {
	depth, max := 0, 0
	for _, c := range src {
		switch c {
		case '(', '{', '[':
			depth++
			if depth > max {
				max = depth
			}
		case ')', '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return max
}

// tame makes a parsed script safe to interpret: a process substitution reads
// /dev/null (it would need a FIFO and a reader), and a brace expansion that makes
// more than maxWords words refuses the run.
func (d *dry) tame(f *syntax.File) (why string, line int) {
	wrapped := map[*syntax.ForClause]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if st, ok := n.(*syntax.Stmt); ok {
			// A select loop reads the script's standard input: a marker before it
			// tells the call handler.
			if fc, ok := st.Cmd.(*syntax.ForClause); ok && fc.Select && !wrapped[fc] {
				wrapped[fc] = true
				pos := fc.Pos()
				mark := &syntax.Stmt{Position: pos, Cmd: &syntax.CallExpr{Args: []*syntax.Word{{Parts: []syntax.WordPart{
					&syntax.Lit{ValuePos: pos, ValueEnd: pos, Value: selectMarker}}}}}}
				st.Cmd = &syntax.Block{Lbrace: pos, Rbrace: fc.End(), Stmts: []*syntax.Stmt{mark, {Position: pos, Cmd: fc}}}
			}
			return true
		}
		w, ok := n.(*syntax.Word)
		if !ok || why != "" {
			return why == ""
		}
		for i, p := range w.Parts {
			if ps, ok := p.(*syntax.ProcSubst); ok {
				w.Parts[i] = &syntax.Lit{ValuePos: ps.Pos(), ValueEnd: ps.End(), Value: "/dev/null"}
			}
		}
		if n := braceWords(w); n > maxWords {
			why, line = fmt.Sprintf("a brace expansion makes %d words or more", maxWords), int(w.Pos().Line())
		}
		return true
	})
	return why, line
}

// braceWords is how many words a word's brace expansion makes (capped).
func braceWords(w *syntax.Word) int {
	hasBrace := false
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok && strings.Contains(l.Value, "{") {
			hasBrace = true
		}
	}
	if !hasBrace {
		return 1
	}
	c := &syntax.Word{Parts: slices.Clone(w.Parts)}
	if !syntax.SplitBraces(c) {
		return 1
	}
	return countBraces(c)
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

var seqRe = regexp.MustCompile(`^(-?\d+|[a-zA-Z])$`)

func countBraces(w *syntax.Word) int {
	n := 1
	for _, p := range w.Parts {
		b, ok := p.(*syntax.BraceExp)
		if !ok {
			continue
		}
		k := 0
		if b.Sequence && len(b.Elems) >= 2 {
			from, to := b.Elems[0].Lit(), b.Elems[1].Lit()
			k = maxWords + 1
			if seqRe.MatchString(from) && seqRe.MatchString(to) {
				x, errX := strconv.ParseInt(from, 10, 64)
				y, errY := strconv.ParseInt(to, 10, 64)
				switch {
				case errX == nil && errY == nil:
					if diff := y - x; diff > -maxWords && diff < maxWords {
						k = int(max(diff, -diff)) + 1
					}
				case len(from) == 1 && len(to) == 1:
					k = 64
				}
			}
		} else {
			for _, e := range b.Elems {
				k += countBraces(e)
				if k > maxWords {
					break
				}
			}
		}
		n *= max(k, 1)
		if n > maxWords {
			return maxWords + 1
		}
	}
	return n
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// runFile interprets one parsed script in dir with env and params; it returns the
// exit status.
func (d *dry) runFile(b *budget, f *syntax.File, script, dir string, env []string, params []string, depth int, stdin io.Reader, stdout, stderr io.Writer) int {
	r := &run{d: d, b: b, base: script, depth: depth}
	opts := []interp.RunnerOption{
		interp.Env(expand.ListEnviron(env...)),
		interp.Dir(dir),
		interp.StdIO(stdin, stdout, stderr),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return r.exec }),
		interp.OpenHandler(r.open),
		interp.ReadDirHandler2(r.readDir),
		interp.CallHandler(r.call),
	}
	if params != nil {
		opts = append(opts, interp.Params(append([]string{"--"}, params...)...))
	}
	runner, err := interp.New(opts...)
	if err != nil {
		d.note(script, 0, "not dry-run: %v", err)
		return 2
	}
	if script != "" {
		// bash sets BASH_SOURCE; the interpreter does not.
		pre, _ := syntax.NewParser().Parse(strings.NewReader("BASH_SOURCE=("+Quote(f.Name)+")\n"), "")
		runner.Run(b, pre)
	}
	err = runner.Run(b, f)
	if code, ok := interp.IsExitStatus(err); ok {
		return int(code)
	}
	if err != nil {
		if b.why() == "" && !errors.Is(err, errBudget) {
			d.note(script, int(r.line.Load()), "the dry run stopped: %s", firstLine(err.Error()))
		}
		return 1
	}
	return 0
}

// run is one script's interpretation.
type run struct {
	d *dry
	b *budget
	// base is the script this run interprets (relative to the root; "" for the
	// restart command itself); cur the file a command being run is in, when a file
	// the script sources (BASH_SOURCE[0]) is not base.
	base  string
	cur   atomic.Pointer[string]
	depth int
	line  atomic.Int64
	// sourcing is the file a source command is about to open.
	sourcing string
	// tty: a redirection opened /dev/tty for the command about to run.
	tty bool
}

// file is the script or sourced file the command being run is written in.
func (r *run) file() string {
	if p := r.cur.Load(); p != nil {
		return *p
	}
	return r.base
}

// follow notes which file the command about to run is in: a sourced file names
// itself first in BASH_SOURCE (open puts it there, as bash does).
func (r *run) follow(hc interp.HandlerContext) {
	v := hc.Env.Get("BASH_SOURCE")
	if v.Kind == expand.Indexed && len(v.List) > 0 && filepath.IsAbs(v.List[0]) {
		rel := r.d.rel(v.List[0])
		r.cur.Store(&rel)
		return
	}
	r.cur.Store(nil)
}

func (r *run) pos(ctx context.Context) int {
	hc := interp.HandlerCtx(ctx)
	if hc.Pos.IsValid() {
		return int(hc.Pos.Line())
	}
	return 0
}

var widthRe = regexp.MustCompile(`%[-+ #0']*(\*|\d{6,})`)

// call sees every simple command (builtins and functions too) after expansion.
func (r *run) call(ctx context.Context, args []string) ([]string, error) {
	r.follow(interp.HandlerCtx(ctx))
	line := r.pos(ctx)
	r.line.Store(int64(line))
	r.d.mu.Lock()
	r.d.last.script, r.d.last.line = r.file(), line
	r.d.mu.Unlock()
	var pcs [maxStack]uintptr
	if runtime.Callers(0, pcs[:]) == len(pcs) {
		r.b.stop("the script recurses deeper than imgup follows")
		return nil, errBudget
	}
	hc := interp.HandlerCtx(ctx)
	c := Command{Script: r.file(), Line: line, Dir: r.d.rel(hc.Dir), Args: slices.Clone(args)}
	if args[0] != selectMarker {
		r.d.track(c, hc.LastExitStatus)
	}
	r.d.mu.Lock()
	tty := r.tty
	r.tty = false
	r.d.mu.Unlock()
	if tty {
		r.d.prompt(c, r.d.out.last())
	}
	switch args[0] {
	case "[", "test":
		// bash's test fails (status 2) on an integer comparison of a word that is
		// no integer ([ "" -lt 20 ]: a version a stand-in printed nothing for); the
		// interpreter takes it as 0.
		if w, ok := notInteger(args); ok {
			fmt.Fprintf(hc.Stderr, "%s: %s: integer expression expected\n", args[0], w)
			return append([]string{status2}, args...), nil
		}
	case "read":
		// The script's own standard input: a terminal in a person's run, nothing in
		// imgup's. The read meets the end of its input and fails, as bash's does.
		if hc.Stdin == nil {
			text := readPrompt(args)
			if text == "" {
				text = r.d.out.last()
			}
			r.d.prompt(c, strings.TrimSpace(text))
		}
	case selectMarker:
		if hc.Stdin == nil {
			text := "#?"
			if v := hc.Env.Get("PS3"); v.IsSet() && v.Str != "" {
				text = strings.TrimSpace(v.Str)
			}
			c.Args = []string{"select"}
			r.d.prompt(c, text)
		}
		return []string{"true"}, nil
	case "sleep":
		// A loop that sleeps waits for something the dry run never makes happen: its
		// third round breaks out of it, and the script goes on.
		key := fmt.Sprintf("s\x00%s\x00%d", r.file(), line)
		r.d.mu.Lock()
		r.d.sleeps[key]++
		n := r.d.sleeps[key]
		r.d.mu.Unlock()
		if n >= 3 {
			if n == 3 {
				r.d.note(r.file(), line, "a loop that waits (it sleeps) is left after %d rounds: the dry run cannot wait for what it waits for", n-1)
			}
			return []string{"break"}, nil
		}
	case "umask":
		// The interpreter has no umask; the dry run writes nothing, so the mask
		// changes nothing: print the usual one when asked, and go on.
		if len(args) == 1 {
			return []string{"echo", "0022"}, nil
		}
		return []string{"true"}, nil
	case "printf":
		for _, a := range args[1:] {
			if widthRe.MatchString(a) {
				r.d.note(r.file(), line, "printf with a width of 100000 or more, or *: not computed")
				return []string{"true"}, nil
			}
		}
	case "source", ".":
		if len(args) > 1 {
			p := abs(hc.Dir, args[1])
			if r.d.inside(p) {
				r.d.addUnique(&r.d.res.Sourced, r.d.rel(p))
			}
			r.sourcing = p // open gives it its BASH_SOURCE
		}
	case "cd", "pushd":
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "-") && a != "-" {
				continue
			}
			if p := abs(hc.Dir, a); a != "-" && r.d.inside(p) {
				if st, err := os.Stat(p); err == nil && st.IsDir() {
					if rel := r.d.rel(p); rel != "." {
						r.d.addUnique(&r.d.res.Dirs, rel)
					}
				}
			}
			break
		}
	}
	return args, nil
}

func (d *dry) addUnique(list *[]string, s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !slices.Contains(*list, s) && len(*list) < maxRecorded {
		*list = append(*list, s)
	}
}

func abs(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// exec answers every command that is not a builtin or a function.
func (r *run) exec(ctx context.Context, args []string) error {
	if args[0] == status2 {
		hc := interp.HandlerCtx(ctx)
		r.d.execStatus(Command{Script: r.file(), Line: r.pos(ctx), Dir: r.d.rel(hc.Dir), Args: args[1:]}, 2)
		return interp.NewExitStatus(2)
	}
	err, nested := r.answer(ctx, args)
	if nested {
		// The script it ran tracked its own commands, and where it ended.
		return err
	}
	code := 0
	if err != nil {
		code = 1
		if c, ok := interp.IsExitStatus(err); ok {
			code = int(c)
		}
	}
	hc := interp.HandlerCtx(ctx)
	r.d.execStatus(Command{Script: r.file(), Line: r.pos(ctx), Dir: r.d.rel(hc.Dir), Args: args}, code)
	return err
}

// status is a command's exit status as the exec handler returns it.
func status(code int) error {
	if code != 0 {
		return interp.NewExitStatus(uint8(code))
	}
	return nil
}

// answer answers a command; nested is true when it was a script the dry run ran.
func (r *run) answer(ctx context.Context, args []string) (err error, nested bool) {
	hc := interp.HandlerCtx(ctx)
	line := r.pos(ctx)
	name := filepath.Base(args[0])
	if network(args) {
		return status(r.offline(hc, line, args)), false
	}
	switch name {
	case "docker-compose":
		return status(r.compose(hc, line, args, 1, false)), false
	case "kubectl", "helm":
		return status(r.kube(hc, line, args)), false
	case "docker":
		i := dockerGlobals(args)
		if i < len(args) && args[i] == "compose" {
			return status(r.compose(hc, line, args, i+1, true)), false
		}
		return status(r.docker(hc, line, args, i)), false
	case "sleep", "wait":
		return nil, false
	case "dirname":
		for _, a := range operands(args[1:]) {
			fmt.Fprintln(hc.Stdout, filepath.Dir(a))
		}
		return nil, false
	case "basename":
		ops := operands(args[1:])
		if len(ops) > 0 {
			base := filepath.Base(ops[0])
			if len(ops) > 1 && ops[1] != base {
				base = strings.TrimSuffix(base, ops[1])
			}
			fmt.Fprintln(hc.Stdout, base)
		}
		return nil, false
	case "readlink", "realpath":
		ops := operands(args[1:])
		canon := name == "realpath" || slices.ContainsFunc(args[1:], func(a string) bool {
			return strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.ContainsAny(a, "fem") || a == "--canonicalize"
		})
		for _, a := range ops {
			p := abs(hc.Dir, a)
			if !canon {
				l, err := os.Readlink(p)
				if err != nil {
					return interp.NewExitStatus(1), false
				}
				fmt.Fprintln(hc.Stdout, l)
				continue
			}
			if rp, err := filepath.EvalSymlinks(p); err == nil {
				p = rp
			}
			fmt.Fprintln(hc.Stdout, p)
		}
		return nil, false
	case "seq":
		ops := operands(args[1:])
		nums := make([]int, 0, 3)
		for _, o := range ops {
			n, err := strconv.Atoi(o)
			if err != nil {
				r.notRun(hc, line, args)
				return nil, false
			}
			nums = append(nums, n)
		}
		first, step, last := 1, 1, 0
		switch len(nums) {
		case 1:
			last = nums[0]
		case 2:
			first, last = nums[0], nums[1]
		case 3:
			first, step, last = nums[0], nums[1], nums[2]
		default:
			return nil, false
		}
		for i, n := first, 0; step != 0 && (step > 0 && i <= last || step < 0 && i >= last) && n < maxWords; i, n = i+step, n+1 {
			fmt.Fprintln(hc.Stdout, i)
		}
		return nil, false
	case "id":
		switch {
		case slices.Contains(args, "-u"):
			fmt.Fprintln(hc.Stdout, os.Getuid())
		case slices.Contains(args, "-g"):
			fmt.Fprintln(hc.Stdout, os.Getgid())
		default:
			r.notRun(hc, line, args)
		}
		return nil, false
	case "cat":
		ops := operands(args[1:])
		if len(ops) == 0 {
			if hc.Stdin != nil {
				if from := r.d.taintOf(hc.Stdin); from != "" {
					r.d.taintPipe(hc.Stdout, from)
				}
				io.Copy(hc.Stdout, io.LimitReader(hc.Stdin, maxOutput))
			}
			return nil, false
		}
		for _, a := range ops {
			b, err := r.read(abs(hc.Dir, a), line)
			if err != nil {
				return interp.NewExitStatus(1), false
			}
			hc.Stdout.Write(b[:min(len(b), maxOutput)])
		}
		return nil, false
	}
	if code, ok := r.tool(ctx, hc, line, args); ok {
		return status(code), false
	}
	if path, params, ok := r.scriptOf(hc, args); ok {
		return r.nested(ctx, hc, line, path, params), true
	}
	if name == "bash" || name == "sh" || name == "dash" {
		if i := slices.Index(args, "-c"); i > 0 && i+1 < len(args) {
			return r.inline(ctx, hc, line, args[i+1], args[i+2:]), true
		}
	}
	r.notRun(hc, line, args)
	return nil, false
}

// operands are the words that are not options.
func operands(args []string) []string {
	var out []string
	dash := false
	for _, a := range args {
		if !dash && a == "--" {
			dash = true
			continue
		}
		if !dash && strings.HasPrefix(a, "-") && a != "-" {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (r *run) notRun(hc interp.HandlerContext, line int, args []string) {
	c := Command{Script: r.file(), Line: line, Dir: r.d.rel(hc.Dir), Args: slices.Clone(args)}
	key := "n\x00" + c.Dir + "\x00" + strings.Join(args, "\x00")
	r.standIn(hc, args)
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if !r.d.seen[key] && len(r.d.res.NotRun) < maxRecorded {
		r.d.seen[key] = true
		r.d.res.NotRun = append(r.d.res.NotRun, c)
	}
}

// standIn answers for a command the dry run does not run (not run, or a docker
// query answered with nothing): what reads its output through a pipe reads a
// stand-in's, and a marked run prints its marker where the script captures it.
func (r *run) standIn(hc interp.HandlerContext, args []string) {
	name := Command{Args: args}.String()
	r.d.taintPipe(hc.Stdout, name)
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if captured(hc.Stdout) {
		r.d.res.captured = true
		if r.d.mark && len(r.d.res.markers) < maxRecorded {
			io.WriteString(hc.Stdout, marker(len(r.d.res.markers)))
			r.d.res.markers = append(r.d.res.markers, name)
		}
	}
}

func (r *run) record(c Call) {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	if r.d.firstCall("c", c.Command, len(r.d.res.Calls)) {
		r.d.res.Calls = append(r.d.res.Calls, c)
	}
}

// firstCall says whether a call (of kind "c" compose/docker or "k" kubectl/helm) is
// the first with these words in this folder, with room for it (n recorded so far):
// a loop that calls again with the same words calls once more for real, and the
// plan lists it once. The caller holds d.mu.
func (d *dry) firstCall(kind string, c Command, n int) bool {
	key := kind + "\x00" + c.Dir + "\x00" + strings.Join(c.Args, "\x00")
	if d.seen[key] || n >= maxRecorded {
		return false
	}
	d.seen[key] = true
	return true
}

// dockerGlobals is the index of docker's subcommand, after its global options.
func dockerGlobals(args []string) int {
	i := 1
	for i < len(args) {
		a := args[i]
		switch {
		case a == "-H" || a == "--host" || a == "-c" || a == "--context" || a == "--config" || a == "-l" || a == "--log-level" ||
			a == "--tlscacert" || a == "--tlscert" || a == "--tlskey":
			i += 2
		case strings.HasPrefix(a, "-"):
			i++
		default:
			return i
		}
	}
	return i
}

// docker queries print nothing; other docker commands are recorded.
var dockerQueries = map[string]bool{"ps": true, "inspect": true, "images": true, "version": true, "info": true, "logs": true,
	"stats": true, "top": true, "events": true, "port": true, "history": true, "search": true, "diff": true, "wait": true}

var dockerQueryObjects = map[string]bool{"ls": true, "list": true, "inspect": true, "ps": true, "show": true, "df": true, "info": true, "logs": true, "history": true}

func (r *run) docker(hc interp.HandlerContext, line int, args []string, i int) int {
	if i >= len(args) {
		return 0
	}
	verb := args[i]
	if verb == "image" && i+1 < len(args) && (args[i+1] == "pull" || args[i+1] == "push") {
		verb = args[i+1]
	}
	if verb == "search" {
		return r.offline(hc, line, args)
	}
	if dockerQueries[verb] || (i+1 < len(args) && dockerQueryObjects[args[i+1]]) {
		// A query answered with nothing: what reads it reads a stand-in's output.
		r.standIn(hc, args)
		return 0
	}
	r.record(Call{Command: Command{Script: r.file(), Line: line, Dir: r.d.rel(hc.Dir), Args: slices.Clone(args)}, Verb: verb, Env: r.d.callEnv(hc.Env)})
	switch verb {
	case "pull", "push", "login":
		return r.offline(hc, line, args)
	}
	r.d.taintPipe(hc.Stdout, Command{Args: args}.String())
	return 0
}

// compose's global options that take a value.
var composeValueFlags = map[string]bool{"-f": true, "--file": true, "-p": true, "--project-name": true, "--project-directory": true,
	"--env-file": true, "--profile": true, "--ansi": true, "--progress": true, "--parallel": true, "-H": true, "--host": true,
	"-c": true, "--context": true, "--log-level": true, "--tlscacert": true, "--tlscert": true, "--tlskey": true}

// the options of compose's subcommands that take a value.
var verbValueFlags = map[string]bool{"-t": true, "--timeout": true, "--scale": true, "--exit-code-from": true, "--pull": true,
	"--wait-timeout": true, "--rmi": true, "-s": true, "--signal": true, "--attach": true, "--no-attach": true, "--tail": true,
	"-n": true, "--since": true, "--until": true, "-e": true, "--env": true, "-u": true, "--user": true, "-w": true, "--workdir": true,
	"--name": true, "--entrypoint": true, "-l": true, "--label": true, "-v": true, "--volume": true, "--index": true}

// compose records a compose call; args[from:] follow docker-compose or docker compose.
func (r *run) compose(hc interp.HandlerContext, line int, args []string, from int, v2 bool) int {
	c := Call{Command: Command{Script: r.file(), Line: line, Dir: r.d.rel(hc.Dir), Args: slices.Clone(args)}, Compose: true, V2: v2}
	var files []string
	projectDir := ""
	words := args[from:]
	i := 0
	for ; i < len(words); i++ {
		w := words[i]
		name, val, hasVal := w, "", false
		if strings.HasPrefix(w, "--") {
			name, val, hasVal = strings.Cut(w, "=")
		} else if len(w) > 2 && w[0] == '-' && (w[1] == 'f' || w[1] == 'p') {
			name, val, hasVal = w[:2], strings.TrimPrefix(w[2:], "="), true
		}
		if !strings.HasPrefix(name, "-") {
			break
		}
		if composeValueFlags[name] && !hasVal && i+1 < len(words) {
			val, hasVal = words[i+1], true
			i++
		}
		switch name {
		case "-f", "--file":
			files = append(files, val)
		case "-p", "--project-name":
			c.Project, c.ProjectFrom = val, name
		case "--project-directory":
			projectDir = abs(hc.Dir, val)
		case "--env-file":
			c.EnvFiles = append(c.EnvFiles, r.d.rel(abs(hc.Dir, val)))
		case "--profile":
			c.Profiles = append(c.Profiles, val)
		case "-v", "--version":
			c.Verb = "version"
		}
	}
	if i < len(words) {
		c.Verb = words[i]
		c.Services = services(c.Verb, words[i+1:])
		if c.Verb == "up" || c.Verb == "run" || c.Verb == "create" {
			c.Pull = pullOf(words[i+1:])
		}
	}
	switch c.Verb {
	case "version", "":
		fmt.Fprintln(hc.Stdout, composeVersion(v2, slices.Contains(words, "--short")))
		return 0
	case "ps", "config", "ls", "images", "logs", "top", "port", "events":
		// Queries, answered with nothing: what reads them reads a stand-in's output.
		r.standIn(hc, args)
		return 0
	}
	c.Env = r.d.callEnv(hc.Env)
	env := func(k string) string {
		if v := hc.Env.Get(k); v.Exported && v.Kind == expand.String {
			return v.Str
		}
		return ""
	}
	if c.Project == "" {
		if v := env("COMPOSE_PROJECT_NAME"); v != "" {
			c.Project, c.ProjectFrom = v, "COMPOSE_PROJECT_NAME"
		}
	}
	if len(files) == 0 {
		if v := env("COMPOSE_FILE"); v != "" {
			sep := env("COMPOSE_PATH_SEPARATOR")
			if sep == "" {
				sep = ":"
			}
			files = strings.Split(v, sep)
		}
	}
	var absFiles []string
	for _, f := range files {
		if f == "-" || f == "" {
			continue
		}
		p := abs(hc.Dir, f)
		absFiles = append(absFiles, p)
		c.Files = append(c.Files, r.d.rel(p))
	}
	switch {
	case projectDir != "":
	case len(absFiles) > 0:
		projectDir = filepath.Dir(absFiles[0])
	default:
		projectDir = hc.Dir
	}
	c.ProjectDir = r.d.rel(projectDir)
	r.record(c)
	if c.Verb == "pull" && !slices.Contains(words[i:], "--ignore-pull-failures") || c.Pull == "always" {
		return r.offline(hc, line, args)
	}
	r.d.taintPipe(hc.Stdout, Command{Args: args}.String())
	return 0
}

// pullOf is the --pull value among a subcommand's words.
func pullOf(words []string) string {
	for i, w := range words {
		if w == "--" {
			break
		}
		if v, ok := strings.CutPrefix(w, "--pull="); ok {
			return v
		}
		if w == "--pull" && i+1 < len(words) {
			return words[i+1]
		}
	}
	return ""
}

func composeVersion(v2, short bool) string {
	switch {
	case v2 && short:
		return "2.29.7"
	case v2:
		return "Docker Compose version v2.29.7"
	case short:
		return "1.29.2"
	}
	return "docker-compose version 1.29.2, build unknown"
}

// services are the services a compose subcommand names.
func services(verb string, words []string) []string {
	var pos []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			pos = append(pos, words[i+1:]...)
			break
		}
		if strings.HasPrefix(w, "-") {
			if verbValueFlags[w] && !strings.Contains(w, "=") {
				i++
			}
			continue
		}
		pos = append(pos, w)
	}
	switch verb {
	case "run", "exec":
		if len(pos) > 0 {
			return pos[:1]
		}
		return nil
	case "up", "down", "stop", "start", "restart", "rm", "create", "kill", "pull", "pause", "unpause", "build", "push":
		return pos
	}
	return nil
}

// scriptOf tells whether args run a shell script inside the root: ./x.sh ARGS, or
// bash|sh x.sh ARGS.
func (r *run) scriptOf(hc interp.HandlerContext, args []string) (path string, params []string, ok bool) {
	name := filepath.Base(args[0])
	i := 0
	switch {
	case name == "bash" || name == "sh" || name == "dash":
		i = 1
		for i < len(args) && strings.HasPrefix(args[i], "-") {
			if args[i] == "-c" {
				return "", nil, false
			}
			if args[i] == "-o" || args[i] == "+o" {
				i++
			}
			i++
		}
		if i >= len(args) {
			return "", nil, false
		}
	case strings.Contains(args[0], "/"):
	default:
		return "", nil, false
	}
	p := abs(hc.Dir, args[i])
	if !r.d.inside(p) {
		return "", nil, false
	}
	if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
		return "", nil, false
	}
	return p, args[i+1:], true
}

var shebangRe = regexp.MustCompile(`^#!\s*\S*?(?:/|\s|env\s+)(?:ba|da|k|a)?sh\b`)

func (r *run) nested(ctx context.Context, hc interp.HandlerContext, line int, path string, params []string) error {
	rel := r.d.rel(path)
	if r.depth+1 >= maxScripts {
		r.d.note(r.file(), line, "%s: scripts run scripts more than %d deep; not followed", rel, maxScripts)
		return nil
	}
	src, err := r.read(path, line)
	if err != nil {
		return interp.NewExitStatus(1)
	}
	if bytes.HasPrefix(src, []byte("#!")) && !shebangRe.Match(src) {
		r.notRun(hc, line, append([]string{"./" + rel}, params...))
		return nil
	}
	f, err := r.d.parse(src, rel)
	if err != nil {
		return nil
	}
	f.Name = "./" + rel
	if rp, err := filepath.Rel(hc.Dir, path); err == nil && !strings.HasPrefix(rp, "../") {
		f.Name = "./" + rp
	}
	r.d.addUnique(&r.d.res.Scripts, rel)
	code := r.d.runFile(r.b, f, rel, hc.Dir, exported(hc.Env), params, r.depth+1, hc.Stdin, hc.Stdout, hc.Stderr)
	if code != 0 {
		return interp.NewExitStatus(uint8(code))
	}
	return nil
}

// inline dry-runs bash -c "STRING".
func (r *run) inline(ctx context.Context, hc interp.HandlerContext, line int, src string, params []string) error {
	if r.depth+1 >= maxScripts {
		return nil
	}
	f, err := r.d.parse([]byte(src), r.file())
	if err != nil {
		return nil
	}
	if code := r.d.runFile(r.b, f, r.file(), hc.Dir, exported(hc.Env), params, r.depth+1, hc.Stdin, hc.Stdout, hc.Stderr); code != 0 {
		return interp.NewExitStatus(uint8(code))
	}
	return nil
}

// exported is the environment a command started from the script gets.
func exported(env expand.Environ) []string {
	var out []string
	env.Each(func(name string, vr expand.Variable) bool {
		if vr.Exported && vr.Kind == expand.String {
			out = append(out, name+"="+vr.Str)
		}
		return true
	})
	return out
}

// read reads a file inside the root through the caller's reader; anything else is
// a note and an error.
func (r *run) read(p string, line int) ([]byte, error) {
	rel := r.d.rel(p)
	if !r.d.inside(p) {
		r.d.note(r.file(), line, "not read: %s is outside the deployment root", p)
		return nil, fmt.Errorf("%s: outside the deployment root", p)
	}
	b, err := r.d.o.ReadFile(p)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "no such file"
		}
		r.d.note(r.file(), line, "not read: %s: %s", rel, strings.TrimPrefix(msg, p+": "))
		return nil, err
	}
	r.d.addUnique(&r.d.res.Read, rel)
	return b, nil
}

// open serves redirections and source: reads inside the root only; writes go nowhere.
func (r *run) open(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	if path == "/dev/null" || flag&(os.O_WRONLY|os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_TRUNC) != 0 {
		return devNull{}, nil
	}
	if path == "/dev/tty" {
		// A person's terminal: nothing in imgup's restart.
		// The command it is opened for (redirections come first) is the prompt.
		r.d.mu.Lock()
		r.tty = true
		r.d.mu.Unlock()
		return devNull{}, nil
	}
	if path == "/dev/stdin" || path == "/dev/zero" || path == "/dev/urandom" || path == "/dev/random" {
		return devNull{}, nil
	}
	p := abs(hc.Dir, path)
	b, err := r.read(p, int(r.line.Load()))
	if err != nil {
		return nil, err
	}
	if p == r.sourcing {
		// bash names the file being sourced first in BASH_SOURCE, and drops it when it
		// ends; the interpreter does not, and scripts find their folder from it
		// ($(dirname "${BASH_SOURCE[0]}")). The prefix keeps the file's line numbers.
		r.sourcing = ""
		pre := "BASH_SOURCE=(" + Quote(p) + ` "${BASH_SOURCE[@]}"); `
		b = append(append([]byte(pre), b...), "\nBASH_SOURCE=(\"${BASH_SOURCE[@]:1}\")\n"...)
	}
	return readOnly{bytes.NewReader(b)}, nil
}

// readDir lists a folder for globbing, a bounded number of entries.
func (r *run) readDir(ctx context.Context, path string) ([]fs.DirEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ents, err := f.ReadDir(maxWords)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, err
}

// captured reports whether w is read by the script: a command substitution, or a
// pipe (which may feed one), rather than the script's own output or /dev/null.
func captured(w io.Writer) bool {
	switch w.(type) {
	case devNull, nil, *ring:
		return false
	}
	return w != io.Discard
}

type devNull struct{}

func (devNull) Read([]byte) (int, error)    { return 0, io.EOF }
func (devNull) Write(p []byte) (int, error) { return len(p), nil }
func (devNull) Close() error                { return nil }

type readOnly struct{ *bytes.Reader }

func (readOnly) Write([]byte) (int, error) { return 0, errors.New("read only") }
func (readOnly) Close() error              { return nil }
