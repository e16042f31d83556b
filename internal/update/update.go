// Package update is the update service: observe → plan → apply → verify → undo, and
// status, rollback and prune, the same for every front end (the CLI today; the web
// console and vendor bundles build on it). It owns the domain steps the stage packages
// compose; front ends turn their input into options and render the results. It prints
// nothing and exits nothing.
package update

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
	"github.com/encoo-tools/imgup/internal/readfile"
	"github.com/encoo-tools/imgup/internal/status"
)

// Service runs updates against one engine.
type Service struct {
	// Dial connects to the engine.
	Dial func(ctx context.Context) (engine.Client, error)
	// Environ is the environment the restart command runs with ("KEY=VALUE"): the
	// dry run of the control script starts with it too.
	Environ []string
}

// Target names a deployment: its root, and the compose project names the operator
// pins for stacks whose containers cannot tell (stack name or folder -> project).
type Target struct {
	Dir      string
	Projects map[string]string
}

// Snapshot is one observation of the world: the deployment bound to what runs, its
// records, and the engine's containers (and images, when asked). Every decision is
// made from one snapshot. The caller closes it.
type Snapshot struct {
	Deployment *deploy.Deployment
	Records    []*history.Record
	Engine     engine.Client
	Containers []engine.Container
	Images     []engine.Image
}

// Close releases the engine connection.
func (s *Snapshot) Close() error { return s.Engine.Close() }

// Observe dials the engine, lists its containers first, and reads the deployment with
// them, so that each stack is bound to the project its containers say.
func (svc *Service) Observe(ctx context.Context, t Target, withImages bool) (*Snapshot, error) {
	eng, err := svc.Dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Engine: eng}
	fail := func(err error) (*Snapshot, error) {
		eng.Close()
		return nil, err
	}
	if s.Containers, err = eng.Containers(ctx); err != nil {
		return fail(err)
	}
	if s.Deployment, err = deploy.Discover(ctx, t.Dir, deploy.Options{Containers: s.Containers, Projects: t.Projects, Environ: svc.Environ}); err != nil {
		return fail(err)
	}
	if s.Records, err = history.List(s.Deployment.Root); err != nil {
		return fail(err)
	}
	if withImages {
		if s.Images, err = eng.Images(ctx); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// History lists the updates recorded for the deployment at dir, newest first; it
// needs no engine. It returns the deployment's root with them.
func History(ctx context.Context, dir string) (root string, recs []*history.Record, err error) {
	d, err := deploy.Discover(ctx, dir, deploy.Options{})
	if err != nil {
		return "", nil, err
	}
	recs, err = history.List(d.Root)
	return d.Root, recs, err
}

// ServiceNames lists the deployment's services as --service takes them (STACK/NAME),
// for shell completion; it needs no engine.
func ServiceNames(ctx context.Context, dir string) ([]string, error) {
	d, err := deploy.Discover(ctx, dir, deploy.Options{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range d.Stacks {
		for _, s := range st.Services {
			out = append(out, st.Name+"/"+s.Name)
		}
	}
	return out, nil
}

// Interrupted is the newest update that stopped before it ended (kill -9, power cut),
// or nil; Message says what to do about it.
func (s *Snapshot) Interrupted() (*history.Record, error) {
	recs, err := history.Interrupted(s.Deployment.Root)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return recs[0], nil
}

// InterruptedMessage tells the operator how to undo an interrupted update.
func InterruptedMessage(root string, r *history.Record) i18n.Message {
	return i18n.Msg("update %s was interrupted (it reached: %s); undo it with: imgup rollback -C %s %s", r.ID, r.State, root, r.ID)
}

// PlanOptions say what to update.
type PlanOptions struct {
	Archives []*archive.Archive
	// Services narrows the update (NAME or STACK/NAME); none means every user of an image.
	Services []string
	// ConfigKeys maps an image name to its .systemconfig key (over imgup.yaml's).
	ConfigKeys map[string]string
	Restart    string
	// Bundles are the vendor bundles among Archives, opened and signature-checked.
	Bundles []*bundle.Bundle
	// Have is the engine's layer inventory when the caller read it already (apply's
	// delta load); nil reads it when a differential bundle needs it.
	Have *archive.Inventory
}

// Plan makes the plan from the snapshot and the archives: nothing changes.
func (s *Snapshot) Plan(ctx context.Context, o PlanOptions) (*plan.Plan, error) {
	images := map[string]string{}
	for _, a := range o.Archives {
		for _, img := range a.Images() {
			for _, ref := range img.Refs {
				id, err := s.Engine.ImageID(ctx, ref)
				if err != nil {
					return nil, err
				}
				images[ref] = id
			}
		}
	}
	var chains map[string]bool
	if o.Have != nil {
		chains = o.Have.Chains
	}
	for _, b := range o.Bundles {
		if b.Manifest.Base != nil && chains == nil {
			inv, note, err := apply.Inventory(ctx, s.Engine)
			if err != nil {
				return nil, err
			}
			if inv == nil {
				return nil, i18n.Errorf("bundle %s %s is differential, and imgup cannot tell which layers the engine has (%s): ask the vendor for a full bundle", b.Manifest.Name, b.Manifest.Version, note)
			}
			chains = inv.Chains
		}
	}
	return plan.Make(plan.Input{Deployment: s.Deployment, Archives: o.Archives, Images: images, Containers: s.Containers, Records: s.Records,
		FreeBytes: freeBytes(ctx, s.Engine), Services: o.Services, ConfigKeys: o.ConfigKeys, Restart: o.Restart,
		Bundles: o.Bundles, Chains: chains})
}

// Apply runs a plan made from this snapshot: load, back up, edit, restart, verify, and
// undo on failure.
func (s *Snapshot) Apply(ctx context.Context, p *plan.Plan, o apply.Options) (*apply.Outcome, error) {
	return apply.Run(ctx, s.Engine, s.Deployment, p, s.Containers, o)
}

// freeBytes is the free space where a local engine keeps images, or -1.
func freeBytes(ctx context.Context, eng engine.Client) int64 {
	if h := os.Getenv("DOCKER_HOST"); h != "" && !strings.HasPrefix(h, "unix://") {
		return -1 // a remote engine's disk is not ours to measure
	}
	info, err := eng.Info(ctx)
	if err != nil || info.RootDir == "" {
		return -1
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(info.RootDir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// Status compares what is configured, loaded and running.
func (s *Snapshot) Status() (*status.Report, error) {
	broken, err := history.Interrupted(s.Deployment.Root)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, i := range s.Images {
		for _, t := range i.Tags {
			tags[t] = i.ID
		}
	}
	return status.Make(status.Input{Deployment: s.Deployment, Images: tags, Containers: s.Containers, History: s.Records, Interrupted: broken}), nil
}

// Rollback is a planned undo of one recorded update.
type Rollback struct {
	// Of is the update undone; Plan the edits, restart and verification.
	Of      *history.Record
	Plan    *plan.Plan
	journal *history.Journal
}

// RollbackOptions choose the update to undo and how hard to try.
type RollbackOptions struct {
	// ID is the update to undo; "" means the newest one not undone yet.
	ID string
	// Force overwrites files changed since, and undoes the update even when a later
	// one touched the same files.
	Force bool
}

// PlanRollback plans the undo of an update: nothing changes.
func (s *Snapshot) PlanRollback(ctx context.Context, o RollbackOptions) (*Rollback, error) {
	d := s.Deployment
	target, err := pickRollback(s.Records, o.ID)
	if err != nil {
		return nil, err
	}
	j, err := history.Open(d.Root, target.ID)
	if err != nil {
		return nil, err
	}
	in := plan.RollbackInput{Deployment: d, Record: target, Current: map[string][]byte{}, Backup: map[string][]byte{}, HasImage: map[string]bool{}, Force: o.Force, Containers: s.Containers}
	for _, f := range target.Files {
		if in.Current[f], err = readfile.Read(filepath.Join(d.Root, f), 0); err != nil {
			return nil, err
		}
		if in.Backup[f], err = j.Backup(f); err != nil {
			return nil, i18n.Errorf("the backup of %s is missing (%w); restore it by hand", f, err)
		}
	}
	for _, r := range s.Records {
		if r.ID > target.ID && r.Kind == "apply" && r.RolledBackBy == "" && r.State != history.RolledBack && overlaps(r.Files, target.Files) {
			in.Later = append(in.Later, r)
		}
	}
	for _, u := range target.Updates {
		if u.FromID != "" {
			id, err := s.Engine.ImageID(ctx, u.FromID)
			if err != nil {
				return nil, err
			}
			in.HasImage[u.FromID] = id != ""
		}
	}
	p, err := plan.Rollback(in)
	if err != nil {
		return nil, err
	}
	return &Rollback{Of: target, Plan: p, journal: j}, nil
}

// Rollback runs a planned undo, recorded like an update; the undone update's record
// then names it. A plan with nothing to do only marks the update undone.
func (s *Snapshot) Rollback(ctx context.Context, rb *Rollback, o apply.Options) (*apply.Outcome, error) {
	if rb.Plan.UpToDate() {
		return nil, rb.journal.Set(history.RolledBack, func(r *history.Record) { r.RolledBackBy = "nothing-to-undo" })
	}
	o.Of = rb.Of.ID
	res, err := apply.Run(ctx, s.Engine, s.Deployment, rb.Plan, s.Containers, o)
	if err == nil && res != nil && res.Record != nil {
		if jerr := rb.journal.Set(history.RolledBack, func(r *history.Record) { r.RolledBackBy = res.Record.ID }); jerr != nil {
			return res, i18n.Errorf("the rollback %s is done, but update %s's record could not say so: %w", res.Record.ID, rb.Of.ID, jerr)
		}
	}
	return res, err
}

// pickRollback chooses the update to undo: the one named, or the newest not undone.
func pickRollback(recs []*history.Record, id string) (*history.Record, error) {
	for _, r := range recs {
		if id != "" {
			if r.ID != id {
				continue
			}
			if r.RolledBackBy != "" || r.State == history.RolledBack {
				return nil, i18n.Errorf("update %s is already undone", r.ID)
			}
			if r.Kind != "apply" {
				return nil, i18n.Errorf("%s is a rollback; to redo the update, run imgup apply again", r.ID)
			}
			if !r.Changed() {
				return nil, i18n.Errorf("update %s changed no file and no service's image: there is nothing to undo", r.ID)
			}
			return r, nil
		}
		// An update that changed nothing is never the one undone.
		if r.Kind == "apply" && r.RolledBackBy == "" && r.State != history.RolledBack && r.Changed() {
			return r, nil
		}
	}
	if id != "" {
		return nil, i18n.Errorf("no update %s (see imgup history)", id)
	}
	return nil, i18n.Err("nothing to roll back: no update that is not undone yet (see imgup history)")
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// PruneOptions say which old images may go.
type PruneOptions struct {
	// Keep is how many of the newest images of each repository stay.
	Keep int
	// RollbackImages allows removing images a recorded update could roll back to.
	RollbackImages bool
}

// Kept is an image prune keeps, and why: data, said in the operator's language.
type Kept struct {
	Ref string
	Why i18n.Message
}

func (k Kept) String() string { return k.Ref + " (" + k.Why.String() + ")" }

// PruneCandidates returns the references prune would remove, and why others stay.
func (s *Snapshot) PruneCandidates(o PruneOptions) (remove []string, kept []Kept) {
	repos := map[string]bool{}
	protected := map[string]i18n.Message{} // image ID or ref -> why
	for _, r := range s.Records {
		for _, u := range r.Updates {
			for _, ref := range []string{u.From, u.To} {
				if name := engine.Repository(strings.Fields(ref + " ")[0]); name != "" {
					repos[name] = true
				}
			}
			if r.Kind == "apply" && r.RolledBackBy == "" && !o.RollbackImages {
				why := i18n.Msg("rollback target of update %s", r.ID)
				if u.FromID != "" {
					protected[u.FromID] = why
				}
				protected[strings.Fields(u.From + " ")[0]] = why
			}
		}
	}
	used := map[string]bool{}
	for _, c := range s.Containers {
		used[c.ImageID] = true
	}
	byRepo := map[string][]tagged{}
	for _, img := range s.Images {
		for _, t := range img.Tags {
			if name := engine.Repository(t); name != "" && repos[name] {
				byRepo[name] = append(byRepo[name], tagged{ref: t, img: img})
			}
		}
	}
	var names []string
	for n := range byRepo {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l := byRepo[n]
		sort.SliceStable(l, func(i, j int) bool {
			if !l[i].img.Created.Equal(l[j].img.Created) {
				return l[i].img.Created.After(l[j].img.Created)
			}
			return l[i].ref > l[j].ref
		})
		for i, t := range l {
			switch {
			case i < o.Keep:
				kept = append(kept, Kept{t.ref, i18n.Msg("one of the newest")})
			case used[t.img.ID]:
				kept = append(kept, Kept{t.ref, i18n.Msg("a container uses it")})
			case protected[t.img.ID].Format != "":
				kept = append(kept, Kept{t.ref, protected[t.img.ID]})
			case protected[t.ref].Format != "":
				kept = append(kept, Kept{t.ref, protected[t.ref]})
			default:
				remove = append(remove, t.ref)
			}
		}
	}
	return remove, kept
}

type tagged struct {
	ref string
	img engine.Image
}
