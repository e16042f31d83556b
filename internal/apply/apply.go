package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/plan"
	"github.com/encoo-tools/imgup/internal/target"
)

// Options say how apply runs.
type Options struct {
	// Timeout bounds verification (step 5); Settle is how long a container must stay
	// up, without restarting, to count as running.
	Timeout, Settle time.Duration
	// NoRollback leaves a failed update in place for inspection.
	NoRollback bool
	// Events receives what happens as it happens (nil: nothing is told).
	Events func(Event)
	// Environ is the environment the restart commands run with ("KEY=VALUE"); nil
	// gives them this process's.
	Environ []string
	// Command names this run in the lock file.
	Command string
	// Of, for a rollback, is the id of the update it undoes.
	Of string
	// Hooks let tests stop or break a run at a step; nil in production.
	Hooks *Hooks
	// Started are the loads begun (deferred) by the read that made the plan, by
	// archive path: apply finishes them instead of reading the archives again.
	Started map[string]*Loading
}

// Hooks are the seams tests use to prove that nothing is lost: a crash after any step,
// a record write that fails.
type Hooks struct {
	// AfterStep is called after each step: begin, load, first-write, write, restart. A
	// test's hook may end the process there, as kill -9 would.
	AfterStep func(step string)
	// Record is asked before each record write; an error makes that write fail, as a
	// full disk would.
	Record func(state string) error
}

// Outcome is what an apply did.
type Outcome struct {
	Record *history.Record
	// Containers are the deployment's containers at the end.
	Containers []engine.Container
	Loaded     []Loaded
	// Downtime is, per project/service, how long it had no ready container during the
	// restart and verification.
	Downtime map[string]time.Duration
	// Restored: the update failed and was undone; Containers are then what runs after
	// the undo, and Failed the updated services' rows as the failed attempt left them.
	Restored bool
	Failed   []State
	// Undo: the operation was a rollback, whose updated services run their old images.
	Undo bool
}

// Failure is an apply that failed after it began changing things. RolledBack says
// every file is as before and the old containers run again; otherwise Restore says
// what the operator must do.
type Failure struct {
	Err        error
	RolledBack bool
	Restore    string
	ID         string
	// Unsettled, for an undo that restored the files and deployed them again but
	// could not verify the old images everywhere (a node lost, a service swarm left
	// mixed), says what runs where and how to finish.
	Unsettled i18n.Message
}

func (f *Failure) Error() string { return f.err().Error() }

// In is the error in tr's language.
func (f *Failure) In(tr *i18n.Printer) string { return i18n.Localize(tr, f.err()) }

func (f *Failure) err() error {
	if f.RolledBack && f.Unsettled.Format != "" {
		return i18n.Errorf("%v; undone: the files are as before and were deployed again (update %s), but %v", f.Err, f.ID, f.Unsettled)
	}
	if f.RolledBack {
		return i18n.Errorf("%v; every change was undone: the files are as before and the previous images run again (update %s)", f.Err, f.ID)
	}
	return i18n.Errorf("%v; %s", f.Err, f.Restore)
}

func (f *Failure) Unwrap() error { return f.Err }

// Run carries out p on the deployment d. before is the engine's containers when the
// plan was made. It holds the deployment's lock and runs the runbook's steps, each a
// method of one run: begin (the record), load, write, restart, verify, finish; a
// failure after the first write is undone (undo) unless NoRollback.
func Run(ctx context.Context, eng engine.Client, d *deploy.Deployment, p *plan.Plan, before []engine.Container, opt Options) (*Outcome, error) {
	if err := p.Refusal(); err != nil {
		return nil, err
	}
	if len(p.Conflicts) > 0 {
		return nil, i18n.Errorf("%s; nothing was changed: choose --restart services, or say the project with --project STACK=NAME", p.Conflicts[0])
	}
	if len(p.Unreachable) > 0 {
		return nil, i18n.Errorf("%s; nothing was changed: add the node to nodes: in imgup.yaml, drain it, or constrain the service away from it", p.Unreachable[0])
	}
	t, ok := target.Get(p.Restart)
	if !ok {
		return nil, i18n.Errorf("the plan restarts with %q, which this imgup does not know", p.Restart)
	}
	if opt.Settle == 0 {
		opt.Settle = 3 * time.Second
	}
	lock, err := history.Acquire(ctx, d.Root, opt.Command, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	r := &run{eng: eng, d: d, p: p, before: before, opt: opt, target: t, em: &emitter{fn: opt.Events}, out: &Outcome{Undo: opt.Of != ""}}
	if p.UpToDate() {
		return r.out, nil
	}
	if err := r.begin(); err != nil {
		return nil, err
	}
	if err := r.load(ctx); err != nil {
		return r.out, err
	}
	if err := r.write(); err != nil {
		return r.out, err
	}
	if err := r.restart(ctx); err != nil {
		return r.fail(ctx, err)
	}
	if err := r.verify(ctx); err != nil {
		return r.fail(ctx, err)
	}
	if err := r.finish(ctx); err != nil {
		return r.fail(ctx, err)
	}
	for _, l := range r.lost() {
		r.em.emit(said(Event{Kind: event.Note, Stage: "verify"}, i18n.Msg("node %s stopped answering during the update: what runs there is not known", l)))
	}
	return r.out, nil
}

// run is one apply (or rollback) under way: what it acts on, and what it did so far.
type run struct {
	eng    engine.Client
	d      *deploy.Deployment
	p      *plan.Plan
	before []engine.Container
	opt    Options
	target target.Target
	em     *emitter
	out    *Outcome

	j        *history.Journal
	contents map[string][]byte
	files    []string
	began    time.Time
	watch    *watch
	// restarted is when the (last) restart began; undoing, that it is the undo's.
	restarted time.Time
	undoing   bool
}

// begin checks every edit against the files as they are now and records the update,
// before any change.
func (r *run) begin() error {
	d, p := r.d, r.p
	rec := &history.Record{Kind: r.opt.kind(), Of: r.opt.Of, Restart: p.Restart}
	if m, ok := r.eng.(engine.Members); ok {
		for _, n := range m.Members() {
			rec.Nodes = append(rec.Nodes, n.Name)
		}
	}
	if p.DryRun != nil {
		for _, c := range p.DryRun.Calls {
			rec.RestartRuns = append(rec.RestartRuns, history.Run{Dir: c.Dir, Command: c.String()})
		}
	}
	for _, a := range p.Archives {
		rec.Archives = append(rec.Archives, history.Archive{Path: a.Path, Size: a.Size, SHA256: a.SHA256})
	}
	for _, b := range p.Bundles {
		rec.Bundles = append(rec.Bundles, history.Bundle{Name: b.Name, Version: b.Version, Path: b.Path, Manifest: b.Manifest, KeyID: b.Signature.KeyID, Verified: b.Signature.Verified})
	}
	for _, e := range p.Edits {
		rel := d.Rel(e.File)
		kept := e.Edit
		kept.File = rel
		rec.Edits = append(rec.Edits, kept)
		if !slices.Contains(rec.Files, rel) {
			rec.Files = append(rec.Files, rel)
		}
	}
	for _, u := range p.Updates {
		from := ""
		if c := d.ContainersOf(r.before, u.Stack, u.Service); len(c) > 0 {
			from = c[0].ImageID
		}
		rec.Updates = append(rec.Updates, history.Service{Stack: u.Stack, Project: u.Project, Service: u.Service, From: u.From, FromID: from, To: u.To, ToID: u.ID})
	}
	var err error
	if r.contents, r.files, err = newContents(p.Edits); err != nil {
		return err
	}
	if r.j, err = history.Begin(d.Root, rec); err != nil {
		return err
	}
	r.out.Record, r.began = r.j.R, time.Now()
	r.opt.crashPoint("begin")
	return nil
}

// record moves the journal on; a failed write stops the update like any failure, so
// that the record never says less than what was done.
func (r *run) record(state string, mutate func(*history.Record)) error {
	if h := r.opt.Hooks; h != nil && h.Record != nil {
		if err := h.Record(state); err != nil {
			return i18n.Errorf("recording the update (%s): %w", state, err)
		}
	}
	if err := r.j.Set(state, mutate); err != nil {
		return i18n.Errorf("recording the update (%s): %w", state, err)
	}
	return nil
}

// stage notes how long a stage took, for the record's report.
func (r *run) stage(name string) {
	r.j.R.Stages = append(r.j.R.Stages, history.Stage{Name: name, Seconds: time.Since(r.began).Round(time.Millisecond).Seconds()})
	r.began = time.Now()
}

// load is step 1. Loading only adds images: a failure here changes nothing that runs.
func (r *run) load(ctx context.Context) error {
	loaded, err := loadAll(ctx, r.eng, r.p, r.opt.Started, r.em)
	r.stage("load")
	r.out.Loaded = loaded
	for _, l := range loaded {
		r.j.R.Loaded = append(r.j.R.Loaded, history.Image{Ref: l.Ref, ID: l.ID})
	}
	if err != nil {
		r.j.Set(history.Failed, func(rec *history.Record) { rec.Error = err.Error() })
		return err
	}
	if err := r.record(history.Loaded, nil); err != nil {
		return err // only images were added: nothing that runs changed
	}
	r.opt.crashPoint("load")
	return nil
}

// write is steps 2-3: every file, atomically; a failed write puts back those already
// written.
func (r *run) write() error {
	d := r.d
	for i, f := range r.files {
		if err := writeFile(f, r.contents[f]); err != nil {
			err = i18n.Errorf("writing %s: %w", d.Rel(f), err)
			return r.restoreFiles(err, r.files[:i])
		}
		if i == 0 {
			r.opt.crashPoint("first-write")
		}
	}
	for _, f := range r.files {
		r.em.emit(Event{Kind: event.Edited, Stage: "write", File: d.Rel(f)})
	}
	r.stage("write")
	r.em.emit(said(Event{Kind: event.Note, Stage: "write"}, i18n.Msg("edited %d file(s); backups in %s", len(r.files), filepath.Join(".imgup", "history", r.j.R.ID, "backup"))))
	if err := r.record(history.Written, nil); err != nil {
		return r.restoreFiles(err, r.files)
	}
	r.opt.crashPoint("write")
	return nil
}

// restoreFiles undoes a write that failed before the restart: the files written go
// back, and the record says so.
func (r *run) restoreFiles(err error, written []string) error {
	if rerr := restoreFiles(r.d, r.j, written); rerr != nil {
		return r.broken(err, rerr, false)
	}
	return &Failure{Err: withRecord(err, r.record(history.RolledBack, func(rec *history.Record) { rec.Error = err.Error() })), RolledBack: true, ID: r.j.R.ID}
}

// restartRun is the target's restart of this plan.
func (r *run) restartRun() target.Run {
	services := map[string][]string{}
	for _, u := range r.p.Updates {
		services[u.Stack] = append(services[u.Stack], u.Service)
	}
	return target.Run{Deployment: r.d, Command: r.p.RestartCommand, Services: services, Environ: r.opt.Environ, Emit: r.em.emit,
		Engine: r.eng, Started: r.restarted, Undo: r.undoing}
}

// check is what the target has to say of a service beyond its containers, when it
// has anything; a swarm stack's tasks are checked by swarm's word whichever target
// restarted it (a vendor's deploy.sh that runs docker stack deploy, restart:).
func (r *run) check(ctx context.Context, w Want) ([]i18n.Message, bool, error) {
	c, _ := r.target.(target.Checker)
	if sc := target.SwarmChecker(r.d, w.Stack); sc != nil {
		c = sc
	}
	if c == nil {
		return nil, false, nil
	}
	return c.Check(ctx, r.restartRun(), w.Stack, w.Service)
}

// restart is step 4, with the downtime watch started before it.
func (r *run) restart(ctx context.Context) error {
	if r.p.Restart != target.None {
		r.watch = startWatch(ctx, r.eng, r.d, watchKeys(r.d, r.before, r.p), r.em)
	}
	r.restarted = time.Now()
	err := r.target.Restart(ctx, r.restartRun())
	r.stage("restart")
	if err == nil {
		err = r.record(history.Restarted, nil)
	}
	if err != nil {
		return err
	}
	r.opt.crashPoint("restart")
	return nil
}

// verify is step 5: the updated services run the new images, healthy, and every
// other service that ran before runs again.
func (r *run) verify(ctx context.Context) error {
	if r.p.Restart == target.None {
		return nil
	}
	r.em.emit(said(Event{Kind: event.StageStarted, Stage: "verify"}, i18n.Msg("verifying (up to %s): the updated services must run the new image and be healthy", r.opt.Timeout)))
	vcs, err := verify(ctx, r.eng, r.containersOf, r.check, wants(r.p), keep(r.d, r.before, r.p), r.opt.Timeout, r.opt.Settle)
	r.stage("verify")
	r.out.Containers = vcs
	r.out.Downtime = r.stopWatch()
	for k, dt := range r.out.Downtime {
		stack, svc := splitKey(k)
		r.em.emit(Event{Kind: event.Downtime, Stage: "verify", Stack: stack, Service: svc, Downtime: dt.Round(10 * time.Millisecond).String()})
	}
	r.em.emit(Event{Kind: event.StageFinished, Stage: "verify", OK: err == nil})
	if err != nil {
		return err
	}
	for _, u := range r.p.Updates {
		r.em.emit(Event{Kind: event.Verified, Stage: "verify", Stack: u.Stack, Service: u.Service, Ref: u.To, ID: u.ID})
	}
	return nil
}

// finish records the verified update, with its final table and downtime.
func (r *run) finish(ctx context.Context) error {
	if len(r.out.Containers) == 0 {
		r.out.Containers, _ = r.eng.Containers(ctx)
	}
	return r.record(history.Verified, func(rec *history.Record) {
		rec.Verify = verifiedLines(r.p)
		rec.Table = Table(r.d, r.p, r.out)
		for i, u := range rec.Updates {
			if dt, ok := r.out.Downtime[u.Stack+"/"+u.Service]; ok {
				rec.Updates[i].Downtime = dt.Round(10 * time.Millisecond).String()
			}
			// The project the update acted on, as the containers now say.
			if c := r.containersOf(r.out.Containers, u.Stack, u.Service); len(c) > 0 {
				rec.Updates[i].Project = c[0].Project()
			}
		}
	})
}

// containersOf are a service's containers as the target finds them.
func (r *run) containersOf(cs []engine.Container, stack, service string) []engine.Container {
	return r.target.Containers(r.d, cs, stack, service)
}

// stopWatch ends the downtime watch (once) and returns what it measured.
func (r *run) stopWatch() map[string]time.Duration {
	w := r.watch
	r.watch = nil
	return w.stop()
}

// fail ends a run whose restart or verification failed: it undoes the update (files
// back, restarted, the old images verified), or with NoRollback leaves it in place.
// Exit 4 (a Failure not rolled back) is kept for what the operator must do: the files
// could not be restored, or deploying them again failed. An undo that restored and
// redeployed is an undo, even when a lost node or swarm keeps it from being verified
// everywhere: it says what runs where and the command that finishes it.
func (r *run) fail(ctx context.Context, err error) (*Outcome, error) {
	r.stopWatch()
	d, j, out := r.d, r.j, r.out
	if r.opt.NoRollback {
		j.Set(history.Failed, func(rec *history.Record) { rec.Error = err.Error() })
		return out, &Failure{Err: err, ID: j.R.ID, Restore: fmt.Sprintf("the failed update is left in place for inspection (--no-rollback); undo it with: imgup rollback --dir %s %s", d.Root, j.R.ID)}
	}
	// The reason is printed once, by the front end, when the undo is done.
	r.em.emit(said(Event{Kind: event.StageStarted, Stage: "undo"}, i18n.Msg("update failed; rolling back: restoring %d file(s) and restarting", len(r.files))))
	// Undo even when the operator pressed Ctrl-C: that is what they asked for.
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opt.Timeout+5*time.Minute)
	defer cancel()
	out.Failed = r.failedAttempt(uctx, out)
	restored, stage, rerr := r.undo(uctx)
	if rerr != nil && stage != undoVerify {
		return out, r.broken(err, rerr, stage == undoRestart)
	}
	if restored != nil {
		out.Containers = restored
	}
	out.Restored = true
	f := &Failure{RolledBack: true, ID: j.R.ID}
	if rerr != nil || len(r.lost()) > 0 {
		f.Unsettled = r.unsettled(out.Containers, rerr, err)
	}
	f.Err = withRecord(err, r.record(history.RolledBack, func(rec *history.Record) {
		rec.Error = err.Error()
		if f.Unsettled.Format != "" {
			rec.Error += "; " + f.Unsettled.String()
		}
	}))
	return out, f
}

// The steps of an undo, for what its failure means.
const (
	undoFiles = iota
	undoRestart
	undoVerify
)

// undo puts the files back, restarts the same way, and checks that the services run
// the images they ran before; it returns what runs, and at which step it failed.
func (r *run) undo(ctx context.Context) ([]engine.Container, int, error) {
	if err := restoreFiles(r.d, r.j, r.files); err != nil {
		return nil, undoFiles, i18n.Errorf("restoring files: %w", err)
	}
	if r.p.Restart == target.None {
		return nil, undoVerify, nil
	}
	r.restarted, r.undoing = time.Now(), true
	if err := r.target.Restart(ctx, r.restartRun()); err != nil {
		return nil, undoRestart, i18n.Errorf("restarting with the old files: %w", err)
	}
	// Whoever restarted it (the kubectl or helm target, a vendor's script), a
	// StatefulSet's broken pods go, as Kubernetes' forced rollback wants.
	if err := target.AfterUndo(ctx, r.restartRun()); err != nil {
		return nil, undoRestart, err
	}
	var w []Want
	for _, u := range r.j.R.Updates {
		if u.FromID != "" {
			w = append(w, Want{Stack: u.Stack, Project: u.Project, Service: u.Service, ImageID: u.FromID})
		}
	}
	r.em.emit(said(Event{Kind: event.StageStarted, Stage: "undo"}, i18n.Msg("verifying the rollback (up to %s)", r.opt.Timeout)))
	cs, err := verify(ctx, r.eng, r.containersOf, r.check, w, keep(r.d, r.before, r.p), r.opt.Timeout, r.opt.Settle)
	return cs, undoVerify, err
}

// lost are the swarm nodes that stopped answering, with why.
func (r *run) lost() []string {
	if cl, ok := r.eng.(*engine.Cluster); ok {
		return cl.Lost()
	}
	return nil
}

// unsettled says, after an undo that restored the files and deployed them again,
// what keeps it from being verified: the lost nodes, what each updated service runs
// where, a service left mixed, and the command that finishes it.
func (r *run) unsettled(cs []engine.Container, verr, failed error) i18n.Message {
	var parts []string
	if verr != nil && verr.Error() != failed.Error() {
		parts = append(parts, i18n.Localize(i18n.EN, verr))
	}
	if lost := r.lost(); len(lost) > 0 {
		parts = append(parts, "lost node(s): "+strings.Join(lost, "; ")+" (what runs there is not known)")
	}
	for _, u := range r.j.R.Updates {
		byImage := map[string][]string{}
		var order []string
		for _, c := range r.containersOf(cs, u.Stack, u.Service) {
			name := c.Image
			if c.ImageID == u.ToID {
				name = u.To
			} else if c.ImageID == u.FromID {
				name = strings.Fields(u.From + " ")[0]
			}
			if _, ok := byImage[name]; !ok {
				order = append(order, name)
			}
			node := c.Node
			if node == "" {
				node = c.Name
			}
			byImage[name] = append(byImage[name], node)
		}
		if len(order) == 0 {
			parts = append(parts, fmt.Sprintf("%s/%s: no task runs", u.Stack, u.Service))
			continue
		}
		var runs []string
		for _, img := range order {
			runs = append(runs, fmt.Sprintf("%d run %s on %s", len(byImage[img]), img, strings.Join(byImage[img], ", ")))
		}
		line := fmt.Sprintf("%s/%s: %s", u.Stack, u.Service, strings.Join(runs, "; "))
		if len(order) > 1 {
			line = "swarm left " + line + " (mixed)"
		}
		parts = append(parts, line)
	}
	return i18n.Msg("%s; finish it by deploying the restored files again: %s", strings.Join(parts, "; "), target.Hint(r.d, r.p.Restart))
}

// failedAttempt are the rows of the failed attempt: for a swarm stack, the tasks that
// ran the new image since the restart (their node and last state), not the old
// start-first tasks that still run; else the updated services' containers, those of
// the new image first.
func (r *run) failedAttempt(ctx context.Context, out *Outcome) []State {
	var rows []State
	sw, isSwarm := r.eng.(engine.Swarm)
	var nodes []engine.Node
	for _, u := range r.p.Updates {
		st := r.d.Stack(u.Stack)
		if isSwarm && st != nil && st.Swarm {
			if found := r.failedTasks(ctx, sw, &nodes, st, u); len(found) > 0 {
				rows = append(rows, found...)
				continue
			}
		}
		var mine, other []State
		for _, row := range Table(r.d, r.p, out) {
			if row.Stack != u.Stack || row.Service != u.Service || !row.Updated {
				continue
			}
			if row.ImageID == u.ID {
				mine = append(mine, row)
			} else {
				other = append(other, row)
			}
		}
		if len(mine) == 0 {
			mine = other
		}
		rows = append(rows, mine...)
	}
	return rows
}

// failedTasks are the tasks of a swarm service that ran the update's image since the
// restart, newest first (at most maxFailedRows).
func (r *run) failedTasks(ctx context.Context, sw engine.Swarm, nodes *[]engine.Node, st *deploy.Stack, u plan.Update) []State {
	svcs, err := sw.Services(ctx, st.Project)
	if err != nil {
		return nil
	}
	id := ""
	for _, s := range svcs {
		if s.Name == st.Project+"_"+u.Service {
			id = s.ID
		}
	}
	if id == "" {
		return nil
	}
	tasks, err := sw.Tasks(ctx, id)
	if err != nil {
		return nil
	}
	if *nodes == nil {
		*nodes, _ = sw.Nodes(ctx)
	}
	host := func(id string) string {
		for _, n := range *nodes {
			if n.ID == id {
				return n.Hostname
			}
		}
		return engine.ShortID(id)
	}
	var mine []engine.Task
	for _, t := range tasks {
		switch t.State {
		case "new", "pending", "assigned", "accepted", "preparing", "ready", "starting":
			if t.DesiredState != "running" {
				continue // abandoned before it ran: swarm paused or rolled back first
			}
		}
		if sameRef(t.Image, u.To) && !t.Timestamp.Before(r.restarted) {
			mine = append(mine, t)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].Timestamp.After(mine[j].Timestamp) })
	if len(mine) > maxFailedRows {
		mine = mine[:maxFailedRows]
	}
	var rows []State
	for _, t := range mine {
		state := t.State
		switch {
		case t.State == "failed" && t.ContainerID != "":
			state = fmt.Sprintf("failed (exit code %d)", t.ExitCode)
		case t.Err != "":
			state += ": " + t.Err
		}
		rows = append(rows, State{Stack: u.Stack, Service: u.Service, Container: fmt.Sprintf("%s_%s.%d", st.Project, u.Service, t.Slot),
			Image: u.To, ImageID: u.ID, State: state, Node: host(t.NodeID)})
	}
	return rows
}

// maxFailedRows bounds the failed attempt's rows of one service.
const maxFailedRows = 5

// sameRef tells whether a task's image (as swarm keeps it, maybe with a digest) is ref.
func sameRef(task, ref string) bool {
	task, _, _ = strings.Cut(task, "@")
	return normalRef(task) == normalRef(ref)
}

// withRecord adds to err that the record could not say how the update ended either.
func withRecord(err, rerr error) error {
	if rerr == nil {
		return err
	}
	return i18n.Errorf("%w; and %v: the next imgup run may report this update as interrupted", err, rerr)
}

// watchKeys are the services whose downtime is measured: every service of the
// deployment that ran before, and every updated one.
func watchKeys(d *deploy.Deployment, before []engine.Container, p *plan.Plan) map[string]bool {
	keys := map[string]bool{}
	for _, k := range keep(d, before, p) {
		keys[k.Stack+"/"+k.Service] = true
	}
	for _, u := range p.Updates {
		keys[u.Stack+"/"+u.Service] = true
	}
	return keys
}

func verifiedLines(p *plan.Plan) []string {
	if p.Restart == target.None {
		return []string{"not restarted (--restart none): the containers keep their images until the next restart"}
	}
	var v []string
	for _, u := range p.Updates {
		v = append(v, fmt.Sprintf("%s/%s runs %s (%s)", u.Stack, u.Service, u.To, short(u.ID)))
	}
	return v
}

func (o Options) kind() string {
	if o.Of != "" {
		return "rollback"
	}
	return "apply"
}

func (o Options) crashPoint(step string) {
	if o.Hooks != nil && o.Hooks.AfterStep != nil {
		o.Hooks.AfterStep(step)
	}
}

// loadAll loads every archive that holds an image the engine lacks.
func loadAll(ctx context.Context, eng engine.Client, p *plan.Plan, started map[string]*Loading, em *emitter) ([]Loaded, error) {
	need := map[string]bool{}
	var order []string
	for _, l := range p.Loads {
		if !l.Present && !need[l.Archive] {
			need[l.Archive] = true
			order = append(order, l.Archive)
		}
	}
	var all []Loaded
	var have *archive.Inventory
	if slices.ContainsFunc(order, func(a string) bool { return started[a] == nil }) {
		// The inventory is read now, not at plan time: a layer removed since is sent.
		inv, note, err := Inventory(ctx, eng)
		if err != nil {
			return nil, err
		}
		if note != "" {
			em.note("load", note)
		}
		have = inv
	}
	for _, a := range order {
		var size int64
		if st, err := os.Stat(a); err == nil {
			size = st.Size()
		}
		count, done := em.reader(a, size)
		var arch *archive.Archive
		var loaded []Loaded
		var sends []NodeSend
		var err error
		if l := started[a]; l != nil {
			// Read and streamed when the plan was made: only the last bytes go now.
			arch, loaded, err = l.Finish(ctx)
			sends = l.Nodes()
		} else {
			lo := LoadOptions{Progress: count, Have: have, Emit: em.emit}
			if b := p.Bundle(a); b != nil {
				lo.Bundle, err = bundle.Reopen(a, b.Manifest)
			}
			if err == nil {
				arch, loaded, sends, err = LoadNodes(ctx, eng, a, lo)
			}
		}
		done(err == nil)
		if err == nil && len(sends) > 0 {
			// A swarm: each node got a stream of its own, without the layers it has.
			for _, n := range sends {
				em.note("load", SentTo(arch, n))
			}
		} else if nw, ok := eng.(engine.NodeWrites); ok && err == nil {
			// Kubernetes: each node's containerd was written the blobs it lacked.
			for _, w := range nw.LastWrites() {
				if w.Written > w.Missing+w.Missing/10 {
					// A classic layer whose digest the archive says only after it
					// (no v1 json): sent whole, containerd keeps what it lacked.
					em.note("load", fmt.Sprintf("%s: node %s: wrote %s to its containerd, of which %s are blobs it was known to lack; the rest are layers whose digest the archive gives only after them (sent whole, as ctr import does); %d blob(s) it had left out", filepath.Base(a), w.Node, plan.Human(w.Written), plan.Human(w.Missing), w.Skipped))
					continue
				}
				em.note("load", fmt.Sprintf("%s: node %s: wrote %s to its containerd, only the blobs it lacked; %d blob(s) it had left out", filepath.Base(a), w.Node, plan.Human(w.Written), w.Skipped))
			}
		} else if n := Sent(arch); err == nil && n != "" {
			em.note("load", n)
		}
		for _, l := range loaded {
			em.emit(Event{Kind: event.Loaded, Stage: "load", Archive: a, Ref: l.Ref, ID: l.ID, Skipped: l.Already})
		}
		all = append(all, loaded...)
		if err != nil {
			return all, err
		}
	}
	// The archives must hold what the plan saw.
	for _, l := range p.Loads {
		if id, err := eng.ImageID(ctx, l.Ref); err != nil {
			return all, err
		} else if id != l.ID {
			return all, i18n.Errorf("after loading, %s is image %s, but the plan expected %s: did an archive change since the plan was made?", l.Ref, short(id), short(l.ID))
		}
	}
	return all, nil
}

func wants(p *plan.Plan) []Want {
	var w []Want
	for _, u := range p.Updates {
		w = append(w, Want{Stack: u.Stack, Project: u.Project, Service: u.Service, ImageID: u.ID, Env: u.SetEnv, NoEnv: u.UnsetEnv})
	}
	return w
}

// keep lists the deployment's other containers that ran before: they must run again.
func keep(d *deploy.Deployment, before []engine.Container, p *plan.Plan) []Want {
	updated := map[string]bool{}
	for _, u := range p.Updates {
		updated[u.Stack+"/"+u.Service] = true
	}
	var k []Want
	seen := map[string]int{}
	for _, st := range d.Stacks {
		for _, c := range st.Containers(before, "") {
			key := st.Name + "/" + c.Service()
			if c.State != "running" || updated[key] {
				continue
			}
			i, ok := seen[key]
			if !ok {
				i = len(k)
				seen[key] = i
				k = append(k, Want{Stack: st.Name, Project: st.Project, Service: c.Service()})
			}
			if c.Node != "" && !slices.Contains(k[i].Nodes, c.Node) {
				k[i].Nodes = append(k[i].Nodes, c.Node)
			}
		}
	}
	return k
}

// restoreFiles puts back the given files from the journal's backups.
func restoreFiles(d *deploy.Deployment, j *history.Journal, files []string) error {
	var errs []error
	for _, f := range files {
		b, err := j.Backup(d.Rel(f))
		if err == nil {
			err = writeFile(f, b)
		}
		if err != nil {
			errs = append(errs, i18n.Errorf("%s: %w", d.Rel(f), err))
		}
	}
	return errors.Join(errs...)
}

// broken ends an update imgup could not undo: the operator must act. filesBack says
// the files are restored and only deploying them again failed.
func (r *run) broken(err, rerr error, filesBack bool) error {
	d, j := r.d, r.j
	j.Set(history.Broken, func(rec *history.Record) { rec.Error = fmt.Sprintf("%v; restoring failed: %v", err, rerr) })
	hint := target.Hint(d, r.p.Restart)
	if filesBack {
		return &Failure{Err: err, ID: j.R.ID, Restore: fmt.Sprintf("undoing it failed too (%v). The files are as before; operator action needed: deploy them again with: %s", rerr, hint)}
	}
	return &Failure{Err: err, ID: j.R.ID, Restore: fmt.Sprintf("undoing it failed too (%v). Operator action needed: copy the files back from %s, then run: %s",
		rerr, filepath.Join(history.Dir(d.Root), "history", j.R.ID, "backup"), hint)}
}

// splitKey splits a stack/service key (the stack may hold slashes).
func splitKey(k string) (stack, service string) {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return "", k
	}
	return k[:i], k[i+1:]
}
