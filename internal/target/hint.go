package target

import (
	"path/filepath"
	"strings"

	"github.com/encoo-tools/imgup/internal/deploy"
)

// Hinter is a target that can tell an operator how to do its restart by hand: the
// command, where to run it, and with which environment.
type Hinter interface {
	Hint(d *deploy.Deployment) string
}

// Choose is the target auto picks for d: the control script (deploy.sh, or
// imgup.yaml's restart:) when there is one, docker stack deploy for a swarm stack,
// compose for the updated services otherwise.
func Choose(d *deploy.Deployment) string {
	switch {
	case d.RestartCommand != "":
		return Script
	case d.IsSwarm():
		return Stack
	case d.IsKube():
		for _, st := range d.Stacks {
			if st.Kube != nil && st.Kube.Mode == deploy.ModeHelm {
				return Helm
			}
		}
		return Kubectl
	default:
		return Services
	}
}

// Hint is every piece of operator advice's "restart it by hand": what the target
// named method (the one that restarted, or "" / auto / none for the one auto picks)
// would run on d. A target that cannot restart d gives way to auto's choice, so a
// swarm stack is never told to run compose.
func Hint(d *deploy.Deployment, method string) string {
	if method == "" || method == Auto || method == None {
		method = Choose(d)
	}
	t, ok := Get(method)
	if ok {
		if _, err := t.Command(d); err != nil {
			ok = false
		}
	}
	if !ok {
		t, _ = Get(Choose(d))
	}
	if h, ok := t.(Hinter); ok {
		if s := h.Hint(d); s != "" {
			return s
		}
	}
	return composeHint(d)
}

func (script) Hint(d *deploy.Deployment) string {
	if d.RestartCommand == "" {
		return ""
	}
	return "cd " + shellQuote(d.Root) + " && " + d.RestartCommand
}

func (services) Hint(d *deploy.Deployment) string { return composeHint(d) }

// composeHint is compose's restart of every compose stack, in its folder.
func composeHint(d *deploy.Deployment) string {
	var cmds []string
	for _, st := range d.Stacks {
		if st.Swarm {
			cmds = append(cmds, stackHint(st))
			continue
		}
		args := []string{"docker", "compose"}
		if st.Project != "" {
			args = append(args, "-p", shellQuote(st.Project))
		}
		for _, f := range st.FilePaths() {
			args = append(args, "-f", shellQuote(rel(st.Dir, f)))
		}
		cmds = append(cmds, "cd "+shellQuote(st.Dir)+" && "+strings.Join(append(args, "up", "-d"), " "))
	}
	if len(cmds) == 0 {
		return "docker compose up -d (docker-compose up -d) in each stack's folder"
	}
	return strings.Join(cmds, "; ")
}

func (stack) Hint(d *deploy.Deployment) string {
	var cmds []string
	for _, st := range d.Stacks {
		if st.Swarm {
			cmds = append(cmds, stackHint(st))
		}
	}
	return strings.Join(cmds, "; ")
}

// stackHint is the stack target's redeploy of one swarm stack by hand: in its folder,
// with its .env, extra files and .systemconfig sourced into the environment as the
// target gives them (docker stack deploy reads no .env itself), .systemconfig last.
func stackHint(st *deploy.Stack) string {
	parts := []string{"cd " + shellQuote(st.Dir)}
	files := st.ConfigFiles()
	if len(files) > 0 {
		parts = append(parts, "set -a")
		for i := len(files) - 1; i >= 0; i-- {
			parts = append(parts, ". "+shellQuote("./"+rel(st.Dir, files[i].Path)))
		}
		parts = append(parts, "set +a")
	}
	args := stackArgs(st)
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	parts = append(parts, "docker "+strings.Join(args, " "))
	return strings.Join(parts, " && ")
}

func (none) Hint(*deploy.Deployment) string { return "" }

func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// shellQuote quotes s for sh when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ensure every registered target can say its restart by hand.
var _ = []Hinter{script{}, services{}, stack{}, none{}}
