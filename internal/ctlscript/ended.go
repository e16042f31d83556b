package ctlscript

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// ring keeps the last lines written to it (the script's own output), each cut at
// maxLineBytes.
type ring struct {
	mu      sync.Mutex
	full    []string
	partial []byte
}

func (g *ring) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			g.partial = appendCut(g.partial, p)
			break
		}
		g.partial = appendCut(g.partial, p[:i])
		g.full = append(g.full, strings.TrimRight(string(g.partial), "\r"))
		g.partial = g.partial[:0]
		if len(g.full) > 2*maxOutputLines {
			g.full = append(g.full[:0], g.full[len(g.full)-maxOutputLines:]...)
		}
		p = p[i+1:]
	}
	return n, nil
}

func appendCut(b, p []byte) []byte {
	if room := maxLineBytes - len(b); room < len(p) {
		p = p[:max(room, 0)]
	}
	return append(b, p...)
}

// lines are the last lines written, the unfinished one included.
func (g *ring) lines() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := slices.Clone(g.full)
	if len(g.partial) > 0 {
		out = append(out, string(g.partial))
	}
	if len(out) > maxOutputLines {
		out = out[len(out)-maxOutputLines:]
	}
	return out
}

// last is the last line written that is not blank.
func (g *ring) last() string {
	ls := g.lines()
	for i := len(ls) - 1; i >= 0; i-- {
		if strings.TrimSpace(ls[i]) != "" {
			return strings.TrimSpace(ls[i])
		}
	}
	return ""
}

// What is known of a command's exit status.
const (
	statusUnknown = iota // a builtin or a function: known only from the next command
	statusOK
	statusFailed
	statusExit // exit with a status other than 0
)

// alwaysOK are builtins that do not fail in the forms scripts use.
var alwaysOK = map[string]bool{"echo": true, "printf": true, "true": true, ":": true, "export": true, "local": true, "declare": true,
	"typeset": true, "readonly": true, "set": true, "shopt": true, "trap": true, "unset": true, "shift": true, "alias": true,
	"umask": true, "break": true, "continue": true}

// track notes a command about to run; lastExit is the status of the one before it.
func (d *dry) track(c Command, lastExit int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := &d.ended
	if lastExit != 0 && e.last != nil && e.lastStatus != statusOK {
		e.failed = e.last
	}
	status := statusUnknown
	switch {
	case c.Args[0] == "exit":
		code := lastExit
		if len(c.Args) > 1 {
			code, _ = strconv.Atoi(c.Args[1])
		}
		status = statusOK
		if code != 0 {
			status = statusExit
		}
	case alwaysOK[c.Args[0]]:
		status = statusOK
	}
	e.last, e.lastStatus = &c, status
	if status == statusExit {
		e.failed = &c
	}
}

// execStatus notes the status of a command the exec handler answered.
func (d *dry) execStatus(c Command, code int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := &d.ended
	same := e.last != nil && e.last.Script == c.Script && e.last.Line == c.Line && slices.Equal(e.last.Args, c.Args)
	switch {
	case same && code == 0:
		e.lastStatus = statusOK
	case same:
		e.lastStatus, e.failed = statusFailed, e.last
	case code != 0:
		e.failed = &c
	}
}

// exitAt is the command a run that ended with a status other than 0 ended on: the
// last command, unless it is known to have succeeded (a trap's echo), then the last
// one known to have failed.
func (d *dry) exitAt() *Command {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := &d.ended
	switch {
	case e.last != nil && e.lastStatus != statusOK:
		return e.last
	case e.failed != nil:
		return e.failed
	}
	return e.last
}

// selectMarker is the command tame puts before each select loop.
const selectMarker = "\x00imgup-select"

// prompt records a read from the script's own standard input.
func (d *dry) prompt(c Command, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.res.Prompts {
		if p.Script == c.Script && p.Line == c.Line {
			return
		}
	}
	if len(d.res.Prompts) < 100 {
		d.res.Prompts = append(d.res.Prompts, Prompt{Command: c, Text: text})
	}
}

// readPrompt is read's -p prompt, or "".
func readPrompt(args []string) string {
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		if j := strings.IndexByte(a, 'p'); j > 0 {
			if j+1 < len(a) {
				return a[j+1:]
			}
			if i+1 < len(args) {
				return args[i+1]
			}
		}
		if strings.ContainsAny(a[len(a)-1:], "adinNtu") && i+1 < len(args) {
			i++ // an option's value
		}
	}
	return ""
}

// offline records a command that reaches the network and answers it as an offline
// machine does: a message on standard error, and status 1.
func (r *run) offline(hc interp.HandlerContext, line int, args []string) int {
	c := Command{Script: r.file(), Line: line, Dir: r.d.rel(hc.Dir), Args: slices.Clone(args)}
	key := "o\x00" + c.Dir + "\x00" + strings.Join(args, "\x00")
	r.d.mu.Lock()
	if !r.d.seen[key] && len(r.d.res.Offline) < maxRecorded {
		r.d.seen[key] = true
		r.d.res.Offline = append(r.d.res.Offline, c)
	}
	r.d.mu.Unlock()
	fmt.Fprintf(hc.Stderr, "%s: network is unreachable (the machine is offline)\n", filepath.Base(args[0]))
	return 1
}

// network reports whether a command (not docker's) reaches the network.
func network(args []string) bool {
	name := filepath.Base(args[0])
	sub := ""
	for i := 1; i < len(args); i++ {
		a := args[i]
		if name == "git" && (a == "-C" || a == "-c") {
			i++
			continue
		}
		if !strings.HasPrefix(a, "-") {
			sub = a
			break
		}
	}
	switch name {
	case "curl", "wget", "ping", "ping6", "nc", "ncat", "netcat", "telnet":
		// A health check on this machine (curl localhost:8080) is no network: it
		// stays a command not run.
		return !slices.ContainsFunc(args[1:], local)
	case "ssh", "scp", "sftp":
		return true
	case "git":
		switch sub {
		case "clone", "pull", "fetch", "ls-remote", "push":
			return true
		}
	case "helm":
		// A chart repository or registry is the network; a local chart is not.
		switch sub {
		case "repo", "pull", "push", "registry", "dependency", "dep", "search":
			return sub != "dependency" && sub != "dep" || slices.Contains(args, "update")
		case "upgrade", "install", "template":
			return slices.ContainsFunc(args, func(a string) bool {
				return strings.HasPrefix(a, "oci://") || a == "--repo" || strings.HasPrefix(a, "--repo=")
			})
		}
	case "apt", "apt-get", "yum", "dnf", "microdnf", "zypper", "apk", "pip", "pip3", "npm", "gem":
		switch sub {
		case "install", "update", "upgrade", "dist-upgrade", "full-upgrade", "add", "download", "makecache":
			return true
		}
	}
	return false
}

// status2 is the command the call handler puts for a test that fails with status 2.
const status2 = "\x00imgup-status2"

// notInteger returns the word of a simple integer comparison ([ A -lt B ], test A
// -eq B, with an optional !) that is no integer.
func notInteger(args []string) (string, bool) {
	words := args[1:]
	if args[0] == "[" {
		if len(words) == 0 || words[len(words)-1] != "]" {
			return "", false
		}
		words = words[:len(words)-1]
	}
	if len(words) == 4 && words[0] == "!" {
		words = words[1:]
	}
	if len(words) != 3 {
		return "", false
	}
	switch words[1] {
	case "-eq", "-ne", "-lt", "-le", "-gt", "-ge":
	default:
		return "", false
	}
	for _, w := range []string{words[0], words[2]} {
		if _, err := strconv.ParseInt(strings.TrimSpace(w), 10, 64); err != nil {
			return w, true
		}
	}
	return "", false
}

// local reports whether a word names this machine.
func local(w string) bool {
	for _, h := range []string{"localhost", "127.0.0.1", "[::1]", "0.0.0.0"} {
		if w == h || strings.Contains(w, "//"+h) || strings.HasPrefix(w, h+":") || strings.HasPrefix(w, h+"/") {
			return true
		}
	}
	return w == "::1"
}

// callEnv is Call.Env: the exported variables that differ from Options.Environ.
func (d *dry) callEnv(env expand.Environ) []string {
	names := map[string]bool{}
	env.Each(func(name string, vr expand.Variable) bool {
		names[name] = true
		return true
	})
	var out []string
	for name := range names {
		// Get sees past the overlays Each walks one by one.
		vr := env.Get(name)
		if !vr.IsSet() || !vr.Exported || vr.Kind != expand.String || len(vr.Str) > maxEnvValue {
			continue
		}
		if base, ok := d.base[name]; ok && base == vr.Str {
			continue
		}
		out = append(out, name+"="+vr.Str)
	}
	sort.Strings(out)
	if len(out) > maxEnv {
		out = out[:maxEnv]
	}
	return out
}
