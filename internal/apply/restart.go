package apply

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/encoo-tools/imgup/internal/i18n"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/plan"
)

// Target is how a deployment is restarted (runbook step 4) and how its services'
// containers are found to verify it (step 5). Plan and apply know no more of a
// deployment's kind than this. Today's targets are docker-compose deployments: the
// vendor's control script, or compose recreating only the updated services; which
// containers are a service's is the compose labels' answer, in deploy (Stack.Owns).
type Target interface {
	// Restart restarts what the plan updates, telling emit what it runs and each line
	// of its output.
	Restart(ctx context.Context, p *plan.Plan, emit func(Event)) error
	// Containers are the containers of a stack's service, from one listing.
	Containers(cs []engine.Container, stack, service string) []engine.Container
}

// TargetFor is the target of a plan's restart method on deployment d.
func TargetFor(d *deploy.Deployment, method string) Target {
	switch method {
	case plan.RestartDeploy:
		return scriptTarget{composeLabels{d}}
	case plan.RestartServices:
		return servicesTarget{composeLabels{d}}
	}
	return noRestart{composeLabels{d}}
}

// composeLabels finds a service's containers by the compose labels deploy reads.
type composeLabels struct{ d *deploy.Deployment }

func (c composeLabels) Containers(cs []engine.Container, stack, service string) []engine.Container {
	return c.d.ContainersOf(cs, stack, service)
}

// noRestart leaves the containers as they are (--restart none).
type noRestart struct{ composeLabels }

func (noRestart) Restart(context.Context, *plan.Plan, func(Event)) error { return nil }

// scriptTarget runs the deployment's control script (./deploy.sh restart), or the
// restart: command of imgup.yaml, in the root.
type scriptTarget struct{ composeLabels }

func (t scriptTarget) Restart(ctx context.Context, p *plan.Plan, emit func(Event)) error {
	d := t.d
	emit(said(Event{Kind: EvStageStarted, Stage: "restart"}, i18n.Msg("restarting: %s (in %s)", p.RestartCommand, d.Root)))
	name := "restart"
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", p.RestartCommand)
	if d.DeployScript != "" && p.RestartCommand == "./"+filepath.Base(d.DeployScript)+" restart" {
		name = filepath.Base(d.DeployScript)
		cmd = exec.CommandContext(ctx, "./"+name, "restart")
		if st, err := os.Stat(d.DeployScript); err == nil && st.Mode()&0o111 == 0 {
			cmd = exec.CommandContext(ctx, "bash", "./"+name, "restart")
		}
	}
	cmd.Dir = d.Root
	return run(cmd, emit, name)
}

// servicesTarget recreates only the updated services' containers with compose, one
// stack at a time, as their containers were made.
type servicesTarget struct{ composeLabels }

func (t servicesTarget) Restart(ctx context.Context, p *plan.Plan, emit func(Event)) error {
	d := t.d
	for _, st := range d.Stacks {
		var svcs []string
		for _, u := range p.Updates {
			if u.Stack == st.Name && !slices.Contains(svcs, u.Service) {
				svcs = append(svcs, u.Service)
			}
		}
		if len(svcs) == 0 {
			continue
		}
		sort.Strings(svcs)
		how, err := composeFor(ctx, st)
		if err != nil {
			return err
		}
		args := append([]string{}, how.command[1:]...)
		args = append(args, "-p", how.project)
		for _, f := range how.files {
			args = append(args, "-f", f)
		}
		args = append(args, "up", "-d", "--no-deps", "--no-build")
		if how.v2 {
			args = append(args, "--pull", "never")
		}
		args = append(args, svcs...)
		emit(said(Event{Kind: EvStageStarted, Stage: "restart", Stack: st.Name}, i18n.Msg("restarting %s: %s %s (in %s; %s)", st.Name, how.command[0], strings.Join(args, " "), how.dir, how.why)))
		cmd := exec.CommandContext(ctx, how.command[0], args...)
		cmd.Dir = how.dir
		env, err := st.FreshEnv()
		if err != nil {
			return err
		}
		cmd.Env = os.Environ()
		for k, v := range env {
			// What deploy.sh would give compose: it sources .systemconfig, as edited.
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if err := run(cmd, emit, filepath.Base(how.command[len(how.command)-1])); err != nil {
			return err
		}
	}
	return nil
}

// run runs cmd, passing each line it prints to emit; a non-zero exit is an error.
func run(cmd *exec.Cmd, emit func(Event), name string) error {
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var wg sync.WaitGroup
	var last []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		eachLine(pr, maxLine, func(line string) {
			// compose v1 prints "Stopping x ... " and later "Stopping x ... done": show the outcome only.
			if strings.HasSuffix(strings.TrimRight(line, " "), "...") {
				return
			}
			emit(Event{Kind: EvOutput, Stage: "restart", Source: name, Text: line})
			last = append(last, line)
			if len(last) > 5 {
				last = last[1:]
			}
		})
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		return i18n.Errorf("%s failed (%v); its last lines: %s", strings.Join(cmd.Args, " "), err, strings.Join(last, " / "))
	}
	return nil
}

// maxLine is how much of one line of a child's output imgup shows.
const maxLine = 4 << 10

// eachLine calls fn with each line r yields, cut to max bytes (with a note of how many
// more there were), and reads r to its end whatever its lines' length: a child whose
// output is not read blocks on a full pipe.
func eachLine(r io.Reader, max int, fn func(string)) {
	br := bufio.NewReaderSize(r, max)
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			line := string(b)
			more := 0
			for errors.Is(err, bufio.ErrBufferFull) {
				b, err = br.ReadSlice('\n')
				more += len(bytes.TrimRight(b, "\r\n"))
			}
			fn(fmt.Sprintf("%s... (%d more bytes)", line, more))
		} else if len(b) > 0 {
			fn(strings.TrimRight(string(b), "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

// composeRun is how to run compose for one stack.
type composeRun struct {
	command []string
	v2      bool
	project string
	files   []string
	dir     string
	why     string
}

// composeFor is how to run compose for a stack: as its containers were made —
// project, config files, working folder, compose version, from their labels — so that
// the recreated containers belong to the same project. With no container yet, from
// the deployment's files and the project the stack was bound to.
func composeFor(ctx context.Context, st *deploy.Stack) (*composeRun, error) {
	v2ok := exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil
	_, err := exec.LookPath("docker-compose")
	v1ok := err == nil
	r := &composeRun{project: st.Project, dir: st.Dir, files: st.FilePaths(),
		why: "from the deployment's files: no container of the stack exists yet; project " + st.ProjectText()}
	madeBy := ""
	if m := st.Made; m != nil {
		r.project, r.dir, madeBy = m.Project, m.WorkingDir, m.Version
		if len(m.Files) > 0 {
			r.files = m.Files
		}
		v := madeBy
		if v == "" {
			v = "(no version label)"
		}
		r.why = fmt.Sprintf("as the running containers were made: project %s, compose %s", r.project, v)
	}
	if r.project == "" {
		return nil, i18n.Errorf("the %s stack: %s; say it with --project %s=NAME", st.Name, st.ProjectText(), st.Name)
	}
	switch {
	case v1ok && (strings.HasPrefix(madeBy, "1.") || !v2ok):
		r.command = []string{"docker-compose"}
	case v2ok:
		r.command, r.v2 = []string{"docker", "compose"}, true
	default:
		return nil, i18n.Errorf("neither docker compose (v2) nor docker-compose (v1) is installed")
	}
	return r, nil
}
