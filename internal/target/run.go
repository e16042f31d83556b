package target

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// run runs cmd, passing each line it prints to emit; a non-zero exit is an error.
func run(cmd *exec.Cmd, emit func(event.Event), name string) error {
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
			emit(event.Event{Kind: event.Output, Stage: "restart", Source: name, Text: line})
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

// stackEnv is the environment a stack's compose or docker command runs with: the
// restart's, and the stack's .systemconfig and .env values as deploy.sh would give
// them after sourcing (read afresh, after the edit; never through a shell).
func stackEnv(r Run, st *deploy.Stack) ([]string, error) {
	env := slices.Clone(r.Environ)
	if env == nil {
		env = os.Environ()
	}
	vars, err := st.FreshEnv()
	if err != nil {
		return nil, err
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env, nil
}
