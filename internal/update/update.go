// Package update is the update service: observe → plan → apply → verify → undo, and
// status, rollback and prune, the same for every front end (the CLI today; the web
// console and vendor bundles build on it). It owns the domain steps the stage packages
// compose; front ends turn their input into options and render the results. It prints
// nothing and exits nothing.
package update

import (
	"context"
	"fmt"
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
	"github.com/encoo-tools/imgup/internal/kube"
	"github.com/encoo-tools/imgup/internal/plan"
	"github.com/encoo-tools/imgup/internal/readfile"
	"github.com/encoo-tools/imgup/internal/status"
)

// Service runs updates against one engine.
type Service struct {
	// Environ is the environment the front end gives ("KEY=VALUE"): DOCKER_HOST and
	// its kin choose the engine, the restart command runs with it, and the dry run of
	// the control script starts with it. Library code reads no other environment.
	Environ []string
	// Dial connects to the engine; nil dials the one Environ names (tests give a fake).
	Dial func(ctx context.Context) (engine.Client, error)
}

// getenv looks a variable up in the service's environment.
func (svc *Service) getenv(key string) string {
	for i := len(svc.Environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(svc.Environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// dial connects to the engine.
func (svc *Service) dial(ctx context.Context) (engine.Client, error) {
	if svc.Dial != nil {
		return svc.Dial(ctx)
	}
	return engine.Dial(ctx, svc.getenv)
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
	d       *deploy.Deployment
	records []*history.Record
	eng     engine.Client
	svc     *Service
	// nodes are the swarm's nodes and whether imgup reaches each (nil off a swarm).
	nodes      []NodeState
	containers []engine.Container
	images     []engine.Image
}

// Close releases the engine connection.
func (s *Snapshot) Close() error { return s.eng.Close() }

// Root is the deployment's root folder.
func (s *Snapshot) Root() string { return s.d.Root }

// RestartCommand is the deployment's restart command ("./deploy.sh restart"), or "".
func (s *Snapshot) RestartCommand() string { return s.d.RestartCommand }

// Warnings are what reading the deployment found that the operator should know.
func (s *Snapshot) Warnings() []string { return s.d.Warnings }

// Records are the deployment's updates, newest first.
func (s *Snapshot) Records() []*Record { return s.records }

// Observe dials the engine, lists its containers first, and reads the deployment with
// them, so that each stack is bound to the project its containers say.
func (svc *Service) Observe(ctx context.Context, t Target, withImages bool) (*Snapshot, error) {
	if k, err := deploy.ReadKube(t.Dir, svc.Environ); err != nil || k != nil {
		if err != nil {
			return nil, err
		}
		return svc.observeKube(ctx, t, k, withImages)
	}
	eng, err := svc.dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{eng: eng, svc: svc}
	fail := func(err error) (*Snapshot, error) {
		s.eng.Close()
		return nil, err
	}
	var swarm []engine.Service
	if s.eng, s.nodes, swarm, err = svc.swarm(ctx, eng, t.Dir); err != nil {
		return fail(err)
	}
	if s.containers, err = s.eng.Containers(ctx); err != nil {
		return fail(err)
	}
	if s.d, err = deploy.Discover(ctx, t.Dir, deploy.Options{Containers: s.containers, Projects: t.Projects, Environ: svc.Environ, Swarm: swarm}); err != nil {
		return fail(err)
	}
	if s.records, err = history.List(s.d.Root); err != nil {
		return fail(err)
	}
	if withImages {
		if s.images, err = eng.Images(ctx); err != nil {
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
	recs, err := history.Interrupted(s.d.Root)
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
	// Sends are what each swarm node will be sent, by node: from the loads started for
	// apply, or computed by the plan without streaming.
	Sends map[string]plan.Send
}

// Plan makes the plan from the snapshot and the archives: nothing changes.
func (s *Snapshot) Plan(ctx context.Context, o PlanOptions) (*plan.Plan, error) {
	images := map[string]string{}
	for _, a := range o.Archives {
		for _, img := range a.Images() {
			for _, ref := range img.Refs {
				id, err := s.eng.ImageID(ctx, ref)
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
			inv, note, err := apply.Inventory(ctx, s.eng)
			if err != nil {
				return nil, err
			}
			if inv == nil {
				return nil, i18n.Errorf("bundle %s %s is differential, and imgup cannot tell which layers the engine has (%s): ask the vendor for a full bundle", b.Manifest.Name, b.Manifest.Version, note)
			}
			chains = inv.Chains
		}
	}
	nodes, err := s.planNodes(ctx, o.Archives, o.Sends)
	if err != nil {
		return nil, err
	}
	return plan.Make(plan.Input{Deployment: s.d, Archives: o.Archives, Images: images, Containers: s.containers, Records: s.records,
		FreeBytes: freeBytes(ctx, s.eng, s.svc.getenv("DOCKER_HOST")), Services: o.Services, ConfigKeys: o.ConfigKeys, Restart: o.Restart,
		Bundles: o.Bundles, Chains: chains, Nodes: nodes})
}

// Apply runs a plan made from this snapshot: load, back up, edit, restart, verify, and
// undo on failure.
func (s *Snapshot) Apply(ctx context.Context, p *plan.Plan, o apply.Options) (*apply.Outcome, error) {
	o.Environ = s.svc.Environ
	return apply.Run(ctx, s.eng, s.d, p, s.containers, o)
}

// freeBytes is the free space where a local engine keeps images, or -1.
func freeBytes(ctx context.Context, eng engine.Client, host string) int64 {
	if host != "" && !strings.HasPrefix(host, "unix://") {
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
	broken, err := history.Interrupted(s.d.Root)
	if err != nil {
		return nil, err
	}
	in := status.Input{Deployment: s.d, Images: tagsOf(s.images), Containers: s.containers, History: s.records, Interrupted: broken}
	if cl, ok := s.eng.(*engine.Cluster); ok {
		// Per node: what it holds, or why imgup cannot tell.
		reached := map[string]engine.Client{}
		for _, m := range cl.Members() {
			reached[m.Name] = m.Client
		}
		for _, n := range s.nodes {
			sn := status.Node{Name: n.Hostname, ID: n.ID, Manager: n.Manager, State: n.State + "/" + n.Availability, Unreachable: n.Err}
			if c := reached[n.Hostname]; c != nil && s.images != nil {
				imgs, err := c.Images(context.Background())
				if err != nil {
					sn.Unreachable = engine.FirstLine(err.Error())
				}
				sn.Images = tagsOf(imgs)
			}
			in.Nodes = append(in.Nodes, sn)
		}
	}
	if kc, ok := s.eng.(*kube.Cluster); ok {
		nodes, err := s.kubeStatusNodes(kc)
		if err != nil {
			return nil, err
		}
		in.Nodes = nodes
	}
	return status.Make(in), nil
}

func tagsOf(images []engine.Image) map[string]string {
	tags := map[string]string{}
	for _, i := range images {
		for _, t := range i.Tags {
			tags[t] = i.ID
		}
	}
	return tags
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
	d := s.d
	target, err := pickRollback(s.records, o.ID)
	if err != nil {
		return nil, err
	}
	j, err := history.Open(d.Root, target.ID)
	if err != nil {
		return nil, err
	}
	in := plan.RollbackInput{Deployment: d, Record: target, Current: map[string][]byte{}, Backup: map[string][]byte{}, HasImage: map[string]bool{}, Force: o.Force, Containers: s.containers}
	for _, f := range target.Files {
		if in.Current[f], err = readfile.Read(filepath.Join(d.Root, f), 0); err != nil {
			return nil, err
		}
		if in.Backup[f], err = j.Backup(f); err != nil {
			return nil, i18n.Errorf("the backup of %s is missing (%w); restore it by hand", f, err)
		}
	}
	for _, r := range s.records {
		if r.ID > target.ID && r.Kind == "apply" && r.RolledBackBy == "" && r.State != history.RolledBack && overlaps(r.Files, target.Files) {
			in.Later = append(in.Later, r)
		}
	}
	for _, u := range target.Updates {
		if u.FromID != "" {
			id, err := s.eng.ImageID(ctx, u.FromID)
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
	o.Of, o.Environ = rb.Of.ID, s.svc.Environ
	res, err := apply.Run(ctx, s.eng, s.d, rb.Plan, s.containers, o)
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
	for _, r := range s.records {
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
	for _, c := range s.containers {
		used[c.ImageID] = true
	}
	byRepo := map[string][]tagged{}
	for _, img := range s.images {
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

// Final is the table an apply or a rollback ends with: each service of the deployment
// the plan touched, what it runs now and how it is; after an undo, the restored state,
// with the failed attempt's rows in Outcome.Failed.
func (s *Snapshot) Final(ctx context.Context, p *Plan, out *Outcome) []State {
	if out != nil && len(out.Containers) == 0 {
		out.Containers, _ = s.eng.Containers(context.WithoutCancel(ctx))
	}
	return apply.Table(s.d, p, out)
}

// Prune removes the image references PruneCandidates chose; it stops at the first the
// engine refuses.
func (s *Snapshot) Prune(ctx context.Context, refs []string) error {
	for _, r := range refs {
		if err := s.eng.RemoveImage(ctx, r); err != nil {
			return i18n.Errorf("removing %s: %w", r, err)
		}
	}
	return nil
}

// Busy says whether an update of the deployment at root is at work in some process,
// and which (held by this process too).
func Busy(root string) (*Holder, bool) { return history.Held(root) }

// Records are the updates recorded under root, newest first, read without the engine
// or the deployment's discovery (a page that only shows them).
func Records(root string) ([]*Record, error) { return history.List(root) }

// NodeState is a swarm node as imgup sees it: the swarm's word on it, and whether
// imgup reaches its engine (Err says why not).
type NodeState struct {
	engine.Node
	Addr string `json:"engine,omitempty"`
	Err  string `json:"unreachable,omitempty"`
}

// Nodes are the swarm's nodes (none when the engine manages no swarm).
func (s *Snapshot) Nodes() []NodeState { return s.nodes }

// swarm is, when eng manages a swarm, the cluster of its reachable nodes' engines, its
// nodes and its services; else eng itself.
func (svc *Service) swarm(ctx context.Context, eng engine.Client, root string) (engine.Client, []NodeState, []engine.Service, error) {
	sw, ok := eng.(engine.SwarmClient)
	if !ok {
		return eng, nil, nil, nil
	}
	state, id, manager, err := sw.SwarmState(ctx)
	if err != nil || state != "active" || !manager {
		return eng, nil, nil, nil
	}
	cl, nodes, err := svc.cluster(ctx, sw, id, root)
	if err != nil {
		return eng, nil, nil, err
	}
	services, err := sw.Services(ctx, "")
	if err != nil {
		return cl, nil, nil, err // the caller closes cl, and with it every node's client
	}
	return cl, nodes, services, nil
}

// cluster reaches every node of the swarm the manager sw runs: the manager through
// its own client, the others at the addresses imgup.yaml's nodes: gives. A node that
// is down or drained needs no images; one that is up but cannot be reached is kept
// with the reason, and the plan names it.
func (svc *Service) cluster(ctx context.Context, sw engine.SwarmClient, self, root string) (*engine.Cluster, []NodeState, error) {
	nodes, err := sw.Nodes(ctx)
	if err != nil {
		return nil, nil, err
	}
	addrs, err := deploy.ReadNodes(root)
	if err != nil {
		return nil, nil, err
	}
	cl := &engine.Cluster{Manager: sw}
	var states []NodeState
	for _, n := range nodes {
		st := NodeState{Node: n}
		switch {
		case n.ID == self:
			st.Addr = "the manager"
			cl.Engines = append(cl.Engines, engine.Member{Name: n.Hostname, Client: sw})
		case n.State != "ready" || n.Availability == "drain":
			st.Err = fmt.Sprintf("the swarm says it is %s, %s: no task runs there", n.State, n.Availability)
		case addrs[n.Hostname] == "":
			st.Err = "imgup.yaml names no address for it (nodes: " + n.Hostname + ": ssh://user@host)"
		default:
			st.Addr = addrs[n.Hostname]
			c, err := engine.DialNode(ctx, st.Addr)
			if err != nil {
				st.Err = engine.FirstLine(err.Error())
				break
			}
			cl.Engines = append(cl.Engines, engine.Member{Name: n.Hostname, Client: c, Addr: st.Addr})
		}
		states = append(states, st)
	}
	return cl, states, nil
}

// planNodes are the swarm's nodes for the plan, with the archives' images each
// reachable node lacks.
func (s *Snapshot) planNodes(ctx context.Context, archives []*archive.Archive, sends map[string]plan.Send) ([]plan.Node, error) {
	if kc, ok := s.eng.(*kube.Cluster); ok {
		return s.kubeNodes(ctx, kc, archives)
	}
	cl, ok := s.eng.(*engine.Cluster)
	if !ok {
		return nil, nil
	}
	lacks, err := nodeLacks(ctx, archives, cl.NodeImageIDs)
	if err != nil {
		return nil, err
	}
	var out []plan.Node
	for _, n := range s.nodes {
		role := "worker"
		if n.Manager {
			role = "manager"
		}
		pn := plan.Node{Name: n.Hostname, ID: n.ID, Role: role, Engine: n.Addr, Unreachable: n.Err,
			Placeable: n.State == "ready" && n.Availability != "drain" && n.Availability != "pause", Lacks: lacks[n.Hostname]}
		if snd, ok := sends[n.Hostname]; ok {
			pn.Send = &snd
		}
		out = append(out, pn)
	}
	return out, nil
}

// nodeLacks are, by node, the archives' references whose image the node does not
// hold, from a cluster's answer of each node's image ID for a reference.
func nodeLacks(ctx context.Context, archives []*archive.Archive, nodeIDs func(context.Context, string) (map[string]string, error)) (map[string][]string, error) {
	lacks := map[string][]string{}
	for _, a := range archives {
		for _, img := range a.Images() {
			for _, ref := range img.Refs {
				ids, err := nodeIDs(ctx, ref)
				if err != nil {
					return nil, err
				}
				for node, id := range ids {
					if id != img.ID {
						lacks[node] = append(lacks[node], ref)
					}
				}
			}
		}
	}
	return lacks, nil
}
