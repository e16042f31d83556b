package apply

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/plan"
)

// restart runs the plan's restart method (runbook step 4), showing its output.
func restart(ctx context.Context, d *deploy.Deployment, p *plan.Plan, before []engine.Container, log io.Writer) error {
	switch p.Restart {
	case plan.RestartNone:
		return nil
	case plan.RestartDeploy:
		fmt.Fprintf(log, "restarting: %s (in %s)\n", p.RestartCommand, d.Root)
		cmd := exec.CommandContext(ctx, "./deploy.sh", "restart")
		if st, err := os.Stat(d.DeployScript); err == nil && st.Mode()&0o111 == 0 {
			cmd = exec.CommandContext(ctx, "bash", "./deploy.sh", "restart")
		}
		cmd.Dir = d.Root
		return run(cmd, log, "deploy.sh")
	case plan.RestartCompose:
		compose, err := composeCommand(ctx, before)
		if err != nil {
			return err
		}
		for _, st := range d.Stacks {
			var svcs []string
			for _, u := range p.Updates {
				if u.Stack == st.Name {
					svcs = append(svcs, u.Service)
				}
			}
			if len(svcs) == 0 {
				continue
			}
			sort.Strings(svcs)
			args := append([]string{}, compose[1:]...)
			args = append(args, "-p", st.Project)
			for _, f := range st.Files {
				args = append(args, "-f", f.Path)
			}
			args = append(args, "up", "-d", "--no-deps", "--no-build")
			args = append(args, svcs...)
			fmt.Fprintf(log, "restarting: %s %s (in %s)\n", compose[0], strings.Join(args, " "), st.Dir)
			cmd := exec.CommandContext(ctx, compose[0], args...)
			cmd.Dir = st.Dir
			cmd.Env = os.Environ()
			for k, v := range st.Env() {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if err := run(cmd, log, filepath.Base(compose[0])); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown restart method %q", p.Restart)
}

// run runs cmd, passing each line it prints to log; a non-zero exit is an error.
func run(cmd *exec.Cmd, log io.Writer, name string) error {
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var wg sync.WaitGroup
	var last []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(log, "  %s| %s\n", name, sc.Text())
			last = append(last, sc.Text())
			if len(last) > 5 {
				last = last[1:]
			}
		}
	}()
	err := cmd.Run()
	pw.Close()
	wg.Wait()
	if err != nil {
		return fmt.Errorf("%s failed (%v); its last lines: %s", strings.Join(cmd.Args, " "), err, strings.Join(last, " / "))
	}
	return nil
}

// composeCommand finds compose: the version that made the running containers when
// both are installed, else docker compose (v2), else docker-compose (v1).
func composeCommand(ctx context.Context, before []engine.Container) ([]string, error) {
	v2 := exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil
	_, err := exec.LookPath("docker-compose")
	v1 := err == nil
	madeByV1 := false
	for _, c := range before {
		if strings.HasPrefix(c.Labels[engine.LabelVersion], "1.") {
			madeByV1 = true
		}
	}
	switch {
	case v1 && (madeByV1 || !v2):
		return []string{"docker-compose"}, nil
	case v2:
		return []string{"docker", "compose"}, nil
	}
	return nil, fmt.Errorf("neither docker compose (v2) nor docker-compose (v1) is installed")
}
