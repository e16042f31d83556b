package apply

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/plan"
)

// checker is what the restart target has to say of a wanted service beyond its
// containers; failed ends verification at once.
type checker func(ctx context.Context, w Want) (problems []i18n.Message, failed bool, err error)

// containersOf finds a stack's service's containers in one listing, as the restart
// target tells them.
type containersOf func(cs []engine.Container, stack, service string) []engine.Container

// Want is a service that must run a given image after a restart.
type Want struct {
	Stack, Project, Service string
	ImageID                 string
	// Env (KEY=VALUE) must be in the container's environment, NoEnv (KEY) must not.
	Env, NoEnv []string
	// Nodes are the swarm nodes its containers ran on before (for a service kept).
	Nodes []string
}

// envProblem says how a container's environment differs from what w wants.
func envProblem(c engine.Container, w Want) i18n.Message {
	for _, kv := range w.Env {
		if !slices.Contains(c.Env, kv) {
			k, _, _ := strings.Cut(kv, "=")
			return i18n.Msg("its environment does not have the new %s", k)
		}
	}
	for _, k := range w.NoEnv {
		for _, e := range c.Env {
			if strings.HasPrefix(e, k+"=") {
				return i18n.Msg("its environment still has %s", k)
			}
		}
	}
	return i18n.Message{}
}

// State is one row of the final table: a service and its container.
type State = history.Row

// VerifyError says which services are not as they should be.
type VerifyError struct {
	// Problems are the lines in English; msgs the same to say in a reader's language.
	Problems []string
	msgs     []i18n.Message
}

func (e *VerifyError) Error() string { return e.In(i18n.EN) }

// In is the error in tr's language.
func (e *VerifyError) In(tr *i18n.Printer) string {
	lines := make([]string, len(e.msgs))
	for i, m := range e.msgs {
		lines[i] = m.In(tr)
	}
	return tr.Sprintf("verification failed: %s", strings.Join(lines, tr.T("; ")))
}

// verify waits, within timeout, until every wanted service runs its image, is running
// (not restarting) and healthy where it has a healthcheck, and has stayed so for
// settle; and until every container of the deployment that ran before runs again.
func verify(ctx context.Context, eng engine.Client, of containersOf, extra checker, wants []Want, keep []Want, timeout, settle time.Duration) ([]engine.Container, error) {
	deadline := time.Now().Add(timeout)
	restarts := map[string]int{}
	stableSince := map[string]time.Time{}
	for {
		cs, err := eng.Containers(ctx)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		var problems []problem
		crashed := false
		check := func(w Want, image bool) {
			add := func(m i18n.Message) { problems = append(problems, problem{w: w, text: m}) }
			mine := of(cs, w.Stack, w.Service)
			if len(mine) == 0 {
				if lost := lostNodes(eng, w.Nodes); len(lost) > 0 {
					add(i18n.Msg("no container: it ran on %s, which stopped answering (what runs there is not known)", strings.Join(lost, ", ")))
					return
				}
				add(i18n.Msg("no container"))
				return
			}
			for _, c := range mine {
				prev, seen := restarts[c.ID]
				restarts[c.ID] = c.RestartCount
				if !seen || prev != c.RestartCount || c.State != "running" {
					stableSince[c.ID] = now
				}
				// A new container that exited, or restarted crashLoop times since the
				// restart, is crashing: waiting out the timeout only delays the undo.
				if image && c.ImageID == w.ImageID && (c.State == "exited" || c.State == "dead" || c.RestartCount >= crashLoop) {
					crashed = true
					add(i18n.Msg("crashed: %s (exit code %d, restarted %d times)", c.State, c.ExitCode, c.RestartCount))
					continue
				}
				switch {
				case image && c.ImageID != w.ImageID:
					add(i18n.Msg("runs image %s, not %s", short(c.ImageID), short(w.ImageID)))
				case image && envProblem(c, w).Format != "":
					add(envProblem(c, w))
				case c.State != "running":
					add(i18n.Msg("%s (exit code %d, restarted %d times)", c.State, c.ExitCode, c.RestartCount))
				case c.Health != "" && c.Health != "healthy":
					add(i18n.Msg("%s", c.Health))
				case now.Sub(stableSince[c.ID]) < settle || now.Sub(c.StartedAt) < settle:
					add(i18n.Msg("running for less than %s (restarted %d times)", settle, c.RestartCount))
				}
			}
		}
		for _, w := range wants {
			check(w, true)
			if extra == nil {
				continue
			}
			ps, failed, err := extra(ctx, w)
			if err != nil {
				return cs, err
			}
			for _, p := range ps {
				problems = append(problems, problem{w: w, text: p, failed: failed, target: true})
			}
			crashed = crashed || failed
		}
		for _, w := range keep {
			check(w, false)
		}
		if len(problems) == 0 {
			return cs, nil
		}
		if crashed || now.After(deadline) {
			var msgs []i18n.Message
			for _, p := range problems {
				if crashed && !strings.HasPrefix(p.text.Format, "crashed: ") && !p.failed {
					continue // the crash says why; the others were still starting
				}
				logs := i18n.Msg("")
				if !p.target {
					// The target's word names its own task and logs; a container's
					// logs are those of the one that failed.
					logs = lastLog(ctx, eng, of, cs, p.w)
				}
				msgs = append(msgs, i18n.Msg("%s: %s%s", p.w.Stack+"/"+p.w.Service, p.text, logs))
			}
			sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].String() < msgs[j].String() })
			e := &VerifyError{msgs: msgs}
			for _, m := range msgs {
				e.Problems = append(e.Problems, m.String())
			}
			return cs, e
		}
		select {
		case <-ctx.Done():
			return cs, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// lostNodes are those of nodes that a cluster lost.
func lostNodes(eng engine.Client, nodes []string) []string {
	cl, ok := eng.(*engine.Cluster)
	if !ok {
		return nil
	}
	var out []string
	for _, n := range nodes {
		if cl.IsLost(n) {
			out = append(out, n)
		}
	}
	return out
}

// crashLoop is how many restarts since the restart make a container a crash loop.
const crashLoop = 3

// problem is one service not yet as it should be.
type problem struct {
	w    Want
	text i18n.Message
	// failed: the target says the update cannot succeed (a swarm rolled it back).
	failed bool
	// target: the restart target (a swarm) said it, with its own details.
	target bool
}

// lastLog appends the last lines a failing service's container wrote.
func lastLog(ctx context.Context, eng engine.Client, of containersOf, cs []engine.Container, w Want) i18n.Message {
	mine := slices.Clone(of(cs, w.Stack, w.Service))
	// The failing one first: the new image's, not running; not an old start-first task.
	rank := func(c engine.Container) int {
		r := 0
		if w.ImageID == "" || c.ImageID != w.ImageID {
			r += 2
		}
		if c.State == "running" {
			r++
		}
		return r
	}
	sort.SliceStable(mine, func(i, j int) bool { return rank(mine[i]) < rank(mine[j]) })
	for _, c := range mine {
		var logs string
		var err error
		if cl, ok := eng.(*engine.Cluster); ok && c.Node != "" {
			if m, ok := cl.Member(c.Node); ok {
				logs, err = m.Client.Logs(ctx, c.ID, 3)
			}
		} else {
			logs, err = eng.Logs(ctx, c.ID, 3)
		}
		if err == nil && strings.TrimSpace(logs) != "" {
			return i18n.Msg("; its last log lines: %s", strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(logs), "\n", " / ")), " "))
		}
	}
	return i18n.Msg("")
}

// Table lists the deployment's containers like docker ps -a, marking the updated ones.
func Table(d *deploy.Deployment, p *plan.Plan, out *Outcome) []State {
	if out == nil {
		return nil
	}
	updated := map[string]bool{}
	for _, u := range p.Updates {
		updated[u.Stack+"/"+u.Service] = true
	}
	var rows []State
	for _, st := range d.Stacks {
		for _, c := range st.Containers(out.Containers, "") {
			svc := c.Service()
			row := State{Stack: st.Name, Service: svc, Container: c.Name, Image: c.Image, ImageID: c.ImageID,
				State: c.State, Health: c.Health, Updated: updated[st.Name+"/"+svc], Node: c.Node}
			if out.Restored || out.Undo {
				// After an undo or a rollback, the changed services run their old images.
				row.Restored, row.Updated = row.Updated, false
			}
			if dt, ok := out.Downtime[st.Name+"/"+svc]; ok {
				row.Downtime = dt.Round(10 * time.Millisecond).String()
			}
			rows = append(rows, row)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Stack != rows[j].Stack {
			return false
		}
		return rows[i].Service < rows[j].Service
	})
	return rows
}
