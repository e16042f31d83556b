package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/plan"
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
}

func (f *Failure) Error() string { return f.err().Error() }

// In is the error in tr's language.
func (f *Failure) In(tr *i18n.Printer) string { return i18n.Localize(tr, f.err()) }

func (f *Failure) err() error {
	if f.RolledBack {
		return i18n.Errorf("%v; every change was undone: the files are as before and the previous images run again (update %s)", f.Err, f.ID)
	}
	return i18n.Errorf("%v; %s", f.Err, f.Restore)
}

func (f *Failure) Unwrap() error { return f.Err }

// Run carries out p on the deployment d. before is the engine's containers when the
// plan was made.
func Run(ctx context.Context, eng engine.Client, d *deploy.Deployment, p *plan.Plan, before []engine.Container, opt Options) (*Outcome, error) {
	em := &emitter{fn: opt.Events}
	if len(p.Conflicts) > 0 {
		return nil, i18n.Errorf("%s; nothing was changed: choose --restart services, or say the project with --project STACK=NAME", p.Conflicts[0])
	}
	if opt.Settle == 0 {
		opt.Settle = 3 * time.Second
	}
	lock, err := history.Acquire(ctx, d.Root, opt.Command, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	out := &Outcome{Undo: opt.Of != ""}
	if p.UpToDate() {
		return out, nil
	}
	rec := &history.Record{Kind: opt.kind(), Of: opt.Of, Restart: p.Restart}
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
		if c := d.ContainersOf(before, u.Stack, u.Service); len(c) > 0 {
			from = c[0].ImageID
		}
		rec.Updates = append(rec.Updates, history.Service{Stack: u.Stack, Project: u.Project, Service: u.Service, From: u.From, FromID: from, To: u.To, ToID: u.ID})
	}
	// Check every edit against the files as they are now, before any change.
	contents, files, err := newContents(p.Edits)
	if err != nil {
		return nil, err
	}
	j, err := history.Begin(d.Root, rec)
	if err != nil {
		return nil, err
	}
	out.Record = j.R
	opt.crashPoint("begin")
	// record moves the journal on; a failed write stops the update like any failure,
	// so that the record never says less than what was done.
	record := func(state string, mutate func(*history.Record)) error {
		if h := opt.Hooks; h != nil && h.Record != nil {
			if err := h.Record(state); err != nil {
				return i18n.Errorf("recording the update (%s): %w", state, err)
			}
		}
		if err := j.Set(state, mutate); err != nil {
			return i18n.Errorf("recording the update (%s): %w", state, err)
		}
		return nil
	}

	// stage notes how long a stage took, for the record's report.
	began := time.Now()
	stage := func(name string) {
		j.R.Stages = append(j.R.Stages, history.Stage{Name: name, Seconds: time.Since(began).Round(time.Millisecond).Seconds()})
		began = time.Now()
	}
	// Step 1: load. Loading only adds images: a failure here changes nothing that runs.
	loaded, err := loadAll(ctx, eng, p, opt.Started, em)
	stage("load")
	out.Loaded = loaded
	for _, l := range loaded {
		j.R.Loaded = append(j.R.Loaded, history.Image{Ref: l.Ref, ID: l.ID})
	}
	if err != nil {
		j.Set(history.Failed, func(r *history.Record) { r.Error = err.Error() })
		return out, err
	}
	if err := record(history.Loaded, nil); err != nil {
		return out, err // only images were added: nothing that runs changed
	}
	opt.crashPoint("load")

	// Steps 2-3: write every file; a failed write puts back those already written.
	for i, f := range files {
		if err := writeFile(f, contents[f]); err != nil {
			err = i18n.Errorf("writing %s: %w", d.Rel(f), err)
			if rerr := restoreFiles(d, j, files[:i]); rerr != nil {
				return out, broken(j, err, rerr, d)
			}
			return out, &Failure{Err: withRecord(err, record(history.RolledBack, func(r *history.Record) { r.Error = err.Error() })), RolledBack: true, ID: j.R.ID}
		}
		if i == 0 {
			opt.crashPoint("first-write")
		}
	}
	for _, f := range files {
		em.emit(Event{Kind: EvEdited, Stage: "write", File: d.Rel(f)})
	}
	stage("write")
	em.emit(said(Event{Kind: EvNote, Stage: "write"}, i18n.Msg("edited %d file(s); backups in %s", len(files), filepath.Join(".imgup", "history", j.R.ID, "backup"))))
	if err := record(history.Written, nil); err != nil {
		if rerr := restoreFiles(d, j, files); rerr != nil {
			return out, broken(j, err, rerr, d)
		}
		return out, &Failure{Err: withRecord(err, record(history.RolledBack, func(r *history.Record) { r.Error = err.Error() })), RolledBack: true, ID: j.R.ID}
	}
	opt.crashPoint("write")

	// Steps 4-5: restart and verify; on failure, undo.
	fail := func(err error) (*Outcome, error) {
		if opt.NoRollback {
			j.Set(history.Failed, func(r *history.Record) { r.Error = err.Error() })
			return out, &Failure{Err: err, ID: j.R.ID, Restore: fmt.Sprintf("the failed update is left in place for inspection (--no-rollback); undo it with: imgup rollback --dir %s %s", d.Root, j.R.ID)}
		}
		// The reason is printed once, by the front end, when the undo is done.
		em.emit(said(Event{Kind: EvStageStarted, Stage: "undo"}, i18n.Msg("update failed; rolling back: restoring %d file(s) and restarting", len(files))))
		// Undo even when the operator pressed Ctrl-C: that is what they asked for.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opt.Timeout+5*time.Minute)
		defer cancel()
		for _, r := range Table(d, p, out) {
			if r.Updated {
				out.Failed = append(out.Failed, r)
			}
		}
		restored, rerr := undo(uctx, eng, d, p, j, files, before, opt, em)
		if rerr != nil {
			return out, broken(j, err, rerr, d)
		}
		if restored != nil {
			out.Containers = restored
		}
		out.Restored = true
		return out, &Failure{Err: withRecord(err, record(history.RolledBack, func(r *history.Record) { r.Error = err.Error() })), RolledBack: true, ID: j.R.ID}
	}
	var w *watch
	if p.Restart != plan.RestartNone {
		w = startWatch(ctx, eng, d, watchKeys(d, before, p), em)
	}
	target := TargetFor(d, p.Restart)
	err = target.Restart(ctx, p, em.emit)
	stage("restart")
	if err != nil {
		w.stop()
		return fail(err)
	}
	if err := record(history.Restarted, nil); err != nil {
		w.stop()
		return fail(err)
	}
	opt.crashPoint("restart")
	if p.Restart != plan.RestartNone {
		em.emit(said(Event{Kind: EvStageStarted, Stage: "verify"}, i18n.Msg("verifying (up to %s): the updated services must run the new image and be healthy", opt.Timeout)))
		vcs, err := verify(ctx, eng, target, wants(p), keep(d, before, p), opt.Timeout, opt.Settle)
		stage("verify")
		out.Containers = vcs
		out.Downtime = w.stop()
		for k, dt := range out.Downtime {
			stack, svc := splitKey(k)
			em.emit(Event{Kind: EvDowntime, Stage: "verify", Stack: stack, Service: svc, Downtime: dt.Round(10 * time.Millisecond).String()})
		}
		em.emit(Event{Kind: EvStageFinished, Stage: "verify", OK: err == nil})
		if err != nil {
			return fail(err)
		}
		for _, u := range p.Updates {
			em.emit(Event{Kind: EvVerified, Stage: "verify", Stack: u.Stack, Service: u.Service, Ref: u.To, ID: u.ID})
		}
	}
	if len(out.Containers) == 0 {
		out.Containers, _ = eng.Containers(ctx)
	}
	if err := record(history.Verified, func(r *history.Record) {
		r.Verify = verifiedLines(p)
		r.Table = Table(d, p, out)
		for i, u := range r.Updates {
			if dt, ok := out.Downtime[u.Stack+"/"+u.Service]; ok {
				r.Updates[i].Downtime = dt.Round(10 * time.Millisecond).String()
			}
			// The project the update acted on, as the containers now say.
			if c := target.Containers(out.Containers, u.Stack, u.Service); len(c) > 0 {
				r.Updates[i].Project = c[0].Labels[engine.LabelProject]
			}
		}
	}); err != nil {
		return fail(err)
	}
	return out, nil
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
	if p.Restart == plan.RestartNone {
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
		em.emit(Event{Kind: EvStageStarted, Stage: "load", Archive: a, Total: size})
		count, done := em.reader(a, size)
		var arch *archive.Archive
		var loaded []Loaded
		var err error
		if l := started[a]; l != nil {
			// Read and streamed when the plan was made: only the last bytes go now.
			arch, loaded, err = l.Finish(ctx)
		} else {
			lo := LoadOptions{Progress: count, Have: have, Note: func(n string) { em.note("load", n) }}
			if b := p.Bundle(a); b != nil {
				lo.Bundle, err = bundle.Reopen(a, b.Manifest)
			}
			if err == nil {
				arch, loaded, err = LoadArchive(ctx, eng, a, lo)
			}
		}
		done(err == nil)
		if n := Sent(arch); err == nil && n != "" {
			em.note("load", n)
		}
		for _, l := range loaded {
			em.emit(Event{Kind: EvLoaded, Stage: "load", Archive: a, Ref: l.Ref, ID: l.ID, Skipped: l.Already})
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
	seen := map[string]bool{}
	for _, st := range d.Stacks {
		for _, c := range st.Containers(before, "") {
			key := st.Name + "/" + c.Labels[engine.LabelService]
			if c.State != "running" || updated[key] || seen[key] {
				continue
			}
			seen[key] = true
			k = append(k, Want{Stack: st.Name, Project: st.Project, Service: c.Labels[engine.LabelService]})
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

// undo restores the files, restarts the same way, and checks that the services run
// the images they ran before.
// undo puts the files back, restarts and verifies the old images; it returns what runs.
func undo(ctx context.Context, eng engine.Client, d *deploy.Deployment, p *plan.Plan, j *history.Journal, files []string, before []engine.Container, opt Options, em *emitter) ([]engine.Container, error) {
	if err := restoreFiles(d, j, files); err != nil {
		return nil, i18n.Errorf("restoring files: %w", err)
	}
	if p.Restart == plan.RestartNone {
		return nil, nil
	}
	target := TargetFor(d, p.Restart)
	if err := target.Restart(ctx, p, em.emit); err != nil {
		return nil, i18n.Errorf("restarting with the old files: %w", err)
	}
	var w []Want
	for _, u := range j.R.Updates {
		if u.FromID != "" {
			w = append(w, Want{Stack: u.Stack, Project: u.Project, Service: u.Service, ImageID: u.FromID})
		}
	}
	em.emit(said(Event{Kind: EvStageStarted, Stage: "undo"}, i18n.Msg("verifying the rollback (up to %s)", opt.Timeout)))
	return verify(ctx, eng, target, w, keep(d, before, p), opt.Timeout, opt.Settle)
}

func broken(j *history.Journal, err, rerr error, d *deploy.Deployment) error {
	j.Set(history.Broken, func(r *history.Record) { r.Error = fmt.Sprintf("%v; restoring failed: %v", err, rerr) })
	return &Failure{Err: err, ID: j.R.ID, Restore: fmt.Sprintf("undoing it failed too (%v). Operator action needed: copy the files back from %s, then run %s in %s",
		rerr, filepath.Join(history.Dir(d.Root), "history", j.R.ID, "backup"), d.RestartHint(), d.Root)}
}

// splitKey splits a stack/service key (the stack may hold slashes).
func splitKey(k string) (stack, service string) {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return "", k
	}
	return k[:i], k[i+1:]
}
