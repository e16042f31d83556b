package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/ctlscript"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/sysconfig"
	"github.com/encoo-tools/imgup/internal/target"
	"github.com/encoo-tools/imgup/internal/textedit"
)

// Restart methods (runbook step 4).
const (
	RestartAuto   = target.Auto   // deploy.sh restart when there is one, else services
	RestartDeploy = target.Script // ./deploy.sh restart
	RestartNone   = target.None   // edit only
	// RestartServices recreates only the updated services' containers with compose.
	RestartServices = target.Services
)

// Input is the snapshot a plan is computed from.
type Input struct {
	Deployment *deploy.Deployment
	Archives   []*archive.Archive
	// Images maps each archive reference to the image ID the engine has under it ("" none).
	Images map[string]string
	// Containers are all the engine's containers.
	Containers []engine.Container
	// FreeBytes is the free space where the engine keeps images; -1 when unknown.
	FreeBytes int64
	// Services narrows the update to these services (stack/service or service).
	Services []string
	// ConfigKeys maps an image name to its .systemconfig key (flags over imgup.yaml).
	ConfigKeys map[string]string
	Restart    string
	// Bundles are the vendor bundles among the archives (matched by path): their
	// service lists replace name matching, and their configuration changes are edits.
	Bundles []*bundle.Bundle
	// Chains are the layer chain IDs the engine has, for differential bundles; nil when
	// no bundle needs them.
	Chains map[string]bool
	// Records are the deployment's update records: an image rolled back before is
	// said in the plan.
	Records []*history.Record
	// Nodes are a swarm's nodes (none off a swarm).
	Nodes []Node
}

// Plan is what apply will do.
type Plan struct {
	Root string `json:"root"`
	// Bundles are the vendor bundles applied, signature checked, constraints met.
	Bundles []BundleRef `json:"bundles,omitempty"`
	// Stacks say how imgup found what runs: each stack's project and files, and where
	// each came from.
	Stacks []Stack `json:"stacks"`
	// Archives are the archives apply loads from.
	Archives []ArchiveRef `json:"archives,omitempty"`
	Loads    []Load       `json:"loads"`
	// Unused are the archive images no service uses.
	Unused  []Unused `json:"unused,omitempty"`
	Edits   []Edit   `json:"edits"`
	Updates []Update `json:"updates"`
	// Restart is the method; RestartCommand what runs ("" for none).
	Restart        string `json:"restart"`
	RestartCommand string `json:"restart_command,omitempty"`
	// DryRun is what the restart command does, dry-run in the shell interpreter: the
	// compose calls it will make, the commands the dry run did not run, its notes.
	DryRun *ctlscript.Result `json:"restart_dry_run,omitempty"`
	// Undo: the plan is a rollback's; its services return to their previous images.
	Undo bool `json:"rollback,omitempty"`
	// NoScript: the deployment has no control script, so compose restarts it.
	NoScript bool `json:"no_control_script,omitempty"`
	// Failures are earlier updates that ran the same image and were rolled back.
	Failures []Failure `json:"rolled_back_before,omitempty"`
	// Conflicts are restart calls that would start a compose project other than the
	// one the running containers were made by; apply refuses them.
	Conflicts []string `json:"conflicts,omitempty"`
	// Stop is where the restart's dry run ends when it fails (a prompt no one
	// answers, a pull with no registry, the script's own exit): apply refuses it.
	Stop *Stop `json:"restart_stops,omitempty"`
	// Nodes are the swarm's nodes and what each lacks; Unreachable the services that
	// may run on a node imgup cannot reach, which apply refuses.
	Nodes       []Node   `json:"nodes,omitempty"`
	Unreachable []string `json:"unreachable,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// Stack is one stack as imgup found it.
type Stack struct {
	Name        string `json:"name"`
	Dir         string `json:"dir"`
	Project     string `json:"project"`
	ProjectFrom string `json:"project_from"`
	ProjectWhy  string `json:"project_why"`
	whyMsg      i18n.Message
	Files       []string `json:"files"`
	FilesFrom   string   `json:"files_from"`
	filesMsg    i18n.Message
	// Swarm: the stack runs on a swarm, and Project is the swarm stack's name.
	Swarm bool `json:"swarm,omitempty"`
	// Kubernetes: the stack is Kubernetes manifests, and Project is their namespace.
	Kubernetes bool `json:"kubernetes,omitempty"`
}

func stacksOf(d *deploy.Deployment) []Stack {
	var out []Stack
	for _, st := range d.Stacks {
		s := Stack{Name: st.Name, Dir: d.Rel(st.Dir), Project: st.Project, ProjectFrom: st.ProjectFrom, ProjectWhy: st.ProjectWhy, whyMsg: st.WhyMsg, FilesFrom: st.FilesFrom, filesMsg: st.FilesMsg, Swarm: st.Swarm, Kubernetes: st.Kube != nil}
		for _, f := range st.FilePaths() {
			s.Files = append(s.Files, d.Rel(f))
		}
		out = append(out, s)
	}
	return out
}

// ArchiveRef names an archive file and its digest when the plan read it.
type ArchiveRef struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Load is one archive image: loaded by apply unless Present.
type Load struct {
	Archive string `json:"archive"`
	Ref     string `json:"ref"`
	ID      string `json:"id"`
	Size    int64  `json:"size"`
	Present bool   `json:"present"`
}

// Edit replaces bytes [Start, End) of File, which hold Old, with New.
type Edit struct {
	// Edit is what the update's record keeps of it (File absolute here; the record
	// names it relative to the root): file, line, [Start, End), Old and New.
	history.Edit
	// Variable is set when the key is a variable a compose image is built from: changing
	// it changes every image that uses it.
	Variable bool     `json:"variable,omitempty"`
	Cause    []string `json:"cause"`
	// causes are Cause as messages, for the operator's language.
	causes []i18n.Message
}

// because sets the edit's cause.
func (e Edit) because(m i18n.Message) Edit {
	e.Cause, e.causes = []string{m.String()}, []i18n.Message{m}
	return e
}

// CausesIn are the edit's causes in tr's language.
func (e Edit) CausesIn(tr *i18n.Printer) []string {
	if len(e.causes) != len(e.Cause) {
		return e.Cause
	}
	out := make([]string, len(e.causes))
	for i, m := range e.causes {
		out[i] = m.In(tr)
	}
	return out
}

// MarshalJSON shows a secret's values as ***, as the plan's text does.
func (e Edit) MarshalJSON() ([]byte, error) {
	type plain Edit
	if e.Secret {
		e.Old, e.New = e.Edit.Shown()
	}
	return json.Marshal(plain(e))
}

// Update is a service that will run a new image.
type Update struct {
	Stack   string `json:"stack"`
	Project string `json:"project"`
	Service string `json:"service"`
	From    string `json:"from"`
	To      string `json:"to"`
	ID      string `json:"id"`
	// SetEnv (KEY=VALUE) and UnsetEnv (KEY) are what a bundle changes in the service's
	// environment: verification checks them in the new container.
	SetEnv   []string `json:"set_env,omitempty"`
	UnsetEnv []string `json:"unset_env,omitempty"`
}

// Unused is an archive image no service uses, and the repositories the deployment
// uses that look like it (the same last path element, or the same name from another
// registry).
type Unused struct {
	Ref     string   `json:"ref"`
	Archive string   `json:"archive"`
	Closest []string `json:"closest,omitempty"`
}

// closest are the repositories services use that look like name.
func closest(d *deploy.Deployment, name string) []string {
	last := name[strings.LastIndexByte(name, '/')+1:]
	var out []string
	for _, st := range d.Stacks {
		for _, svc := range st.Services {
			if svc.Target == nil || svc.Target.Name == "" || svc.Target.Name == name || slices.Contains(out, svc.Target.Name) {
				continue
			}
			n := svc.Target.Name
			if n[strings.LastIndexByte(n, '/')+1:] == last || withoutRegistry(n) == withoutRegistry(name) {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// withoutRegistry is a repository name without its registry host.
func withoutRegistry(name string) string {
	if i := strings.IndexByte(name, '/'); i > 0 && strings.ContainsAny(name[:i], ".:") {
		return name[i+1:]
	}
	return name
}

// UpToDate reports that apply has nothing to do.
func (p *Plan) UpToDate() bool {
	return len(p.Edits) == 0 && len(p.Updates) == 0 && !p.NeedsLoad()
}

// NeedsLoad reports whether any image must be loaded.
func (p *Plan) NeedsLoad() bool {
	for _, l := range p.Loads {
		if !l.Present {
			return true
		}
	}
	return false
}

// Error is a reason the plan cannot be made; nothing has changed.
type Error struct {
	Msg string
	// Err is the cause, when there is one (an unresolved variable, a config file's error).
	Err error
	loc error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// In is the error in tr's language.
func (e *Error) In(tr *i18n.Printer) string {
	if e.loc == nil {
		return e.Msg
	}
	return i18n.Localize(tr, e.loc)
}

// fail makes an *Error; a %w in format keeps the cause for errors.Is and errors.As.
func fail(format string, args ...any) error { return failWith(i18n.Errorf(format, args...)) }

// failWith is fail of an error made already (so that the catalog sees its format).
func failWith(err error) error { return &Error{Msg: err.Error(), Err: errors.Unwrap(err), loc: err} }

// newImage is an image an archive brings: its name, the tag to use, its ID.
type newImage struct {
	name, tag, ref, id, archive string
	bundle                      *bundle.Bundle
}

// Make computes the plan.
func Make(in Input) (*Plan, error) {
	d := in.Deployment
	p := &Plan{Root: d.Root, Restart: in.Restart, Stacks: stacksOf(d)}
	images, err := archiveImages(in.Archives)
	if err != nil {
		return nil, err
	}
	selected, err := selectServices(d, in.Services)
	if err != nil {
		return nil, err
	}
	if err := p.addBundles(in, images); err != nil {
		return nil, err
	}
	e := &editor{p: p, d: d}
	used := map[string]bool{} // archive paths with an image some service uses
	var updated []*deploy.Service
	for _, img := range images {
		sel := selected
		if img.bundle != nil {
			if sel, err = bundleUsers(d, img.bundle, img, selected); err != nil {
				return nil, err
			}
		}
		var users []*deploy.Service
		for _, st := range d.Stacks {
			for _, svc := range st.Services {
				if svc.Target != nil && svc.Target.Name == img.name && (sel == nil || sel[svc]) {
					users = append(users, svc)
				}
			}
		}
		if err := unresolved(d, in.Containers, img, sel); err != nil {
			return nil, err
		}
		if len(users) == 0 {
			u := Unused{Ref: img.ref, Archive: img.archive, Closest: closest(d, img.name)}
			p.Unused = append(p.Unused, u)
			note := fmt.Sprintf("%s (from %s) is used by no service%s: nothing changes for it", img.ref, filepath.Base(img.archive), narrowed(in.Services))
			if len(u.Closest) > 0 {
				note += fmt.Sprintf("; the deployment uses %s", strings.Join(u.Closest, ", "))
			}
			p.Notes = append(p.Notes, note)
			continue
		}
		used[img.archive] = true
		for _, svc := range users {
			if svc.Err != nil {
				return nil, fail("service %s (%s) uses %s, but imgup cannot change its image at %s:%d: %w", svc.Name, svc.Stack.Name, img.name, d.Rel(svc.Image.File), svc.Image.Line, svc.Err)
			}
			if svc.Target.Tag != img.tag {
				if err := e.compose(svc, img); err != nil {
					return nil, err
				}
				p.Updates = append(p.Updates, Update{Stack: svc.Stack.Name, Project: svc.Stack.Project, Service: svc.Name, From: svc.Target.Ref, To: withTag(svc.Target.Ref, img.tag), ID: img.id})
				updated = append(updated, svc)
			} else if c := svc.Stack.Container(in.Containers, svc.Name); c != nil && c.ImageID != img.id {
				// Files already name the new image, but the container runs another.
				p.Updates = append(p.Updates, Update{Stack: svc.Stack.Name, Project: svc.Stack.Project, Service: svc.Name, From: c.Image + " (" + engine.ShortID(c.ImageID) + ")", To: svc.Target.Ref, ID: img.id})
				updated = append(updated, svc)
			}
		}
		if err := e.sysconfig(users, img, in.ConfigKeys); err != nil {
			return nil, err
		}
	}
	envs := map[*deploy.Service]*envChange{}
	for _, b := range in.Bundles {
		if err := e.bundleChanges(b, envs); err != nil {
			return nil, err
		}
	}
	updated = p.envUpdates(d, in.Containers, envs, updated)
	if err := e.checkShared(updated); err != nil {
		return nil, err
	}
	if len(images) > 0 && len(used) == 0 && len(p.Edits) == 0 {
		var refs []string
		for _, u := range p.Unused {
			refs = append(refs, u.Ref)
			for _, c := range u.Closest {
				refs[len(refs)-1] += " (the deployment uses " + c + ")"
			}
		}
		return nil, fail("nothing in these archives is used by this deployment%s: %s; check that the archives are this product's and edition's, or name the service with --service", narrowed(in.Services), strings.Join(refs, ", "))
	}
	for _, a := range in.Archives {
		if !used[a.Path] {
			continue
		}
		p.Archives = append(p.Archives, ArchiveRef{Path: a.Path, Size: a.Size, SHA256: a.SHA256})
		for _, img := range a.Images() {
			for _, ref := range img.Refs {
				p.Loads = append(p.Loads, Load{Archive: a.Path, Ref: ref, ID: img.ID, Size: img.Size, Present: in.Images[ref] == img.ID})
			}
		}
	}
	if err := p.checkSpace(in.FreeBytes); err != nil {
		return nil, err
	}
	sort.SliceStable(p.Edits, func(i, j int) bool {
		if p.Edits[i].File != p.Edits[j].File {
			return configFirst(p.Edits[i].File) < configFirst(p.Edits[j].File) || configFirst(p.Edits[i].File) == configFirst(p.Edits[j].File) && p.Edits[i].File < p.Edits[j].File
		}
		return p.Edits[i].Start < p.Edits[j].Start
	})
	if err := p.setRestart(d, in.Restart); err != nil {
		return nil, err
	}
	p.rememberFailures(in.Records)
	p.checkNodes(in)
	p.setDryRun(d)
	p.NoScript = d.RestartCommand == "" && p.Restart == RestartServices && (in.Restart == "" || in.Restart == RestartAuto)
	if p.Restart == RestartServices {
		for _, svc := range updated {
			if t := svc.Target; t != nil && t.Where == composefile.InVariable && svc.Stack.Computed(t.Var) {
				return nil, failWith(i18n.Errorf("service %s/%s: its image comes from ${%s}, which the control script computes when it runs; only its restart computes it again: restart with --restart deploy", svc.Stack.Name, svc.Name, t.Var))
			}
		}
	}
	for _, st := range d.Stacks {
		if st.Project == "" && p.Restart == RestartServices && touches(p, st) {
			return nil, fail("the %s stack: its compose project is unknown (%s), and --restart services needs it; say it with --project %s=NAME", st.Name, st.ProjectWhy, st.Name)
		}
	}
	return p, nil
}

// rememberFailures says, for each update, when the same image was applied before and
// rolled back (by imgup's own undo, or by hand), and why: before the operator confirms.
func (p *Plan) rememberFailures(recs []*history.Record) {
	for _, u := range p.Updates {
		for _, r := range recs {
			if r.Kind != "apply" || (r.State != history.RolledBack && r.RolledBackBy == "") {
				continue
			}
			for _, ru := range r.Updates {
				if ru.ToID != u.ID || ru.Stack != u.Stack || ru.Service != u.Service {
					continue
				}
				why := r.Error
				if why == "" {
					why = "rolled back by hand with " + r.RolledBackBy
				}
				p.Failures = append(p.Failures, Failure{Stack: u.Stack, Service: u.Service, Ref: u.To, Update: r.ID, Time: r.Time, Reason: why})
			}
		}
	}
}

// Failure is an earlier update that ran the same image on the same service and was
// rolled back.
type Failure struct {
	Stack   string    `json:"stack"`
	Service string    `json:"service"`
	Ref     string    `json:"ref"`
	Update  string    `json:"update"`
	Time    time.Time `json:"time"`
	Reason  string    `json:"reason"`
}

// unresolved stops the plan when a service whose image imgup cannot resolve may use
// img: such a service is never "up to date". When only its tag is unknown its name
// says; else the image its container was made from does; with neither, it may.
func unresolved(d *deploy.Deployment, cs []engine.Container, img newImage, selected map[*deploy.Service]bool) error {
	for _, st := range d.Stacks {
		for _, svc := range st.Services {
			var unset *composefile.Unset
			if !errors.As(svc.Err, &unset) || (selected != nil && !selected[svc]) {
				continue
			}
			name, how := "", ""
			if svc.Target != nil && svc.Target.Name != "" {
				name, how = svc.Target.Name, "its name"
			} else if c := st.Container(cs, svc.Name); c != nil {
				name, how = engine.Repository(c.Image), "its container "+c.Name+" runs "+c.Image
				if name == "" {
					name, _ = splitTag(c.Image)
				}
			}
			if name != "" && name != img.name {
				continue
			}
			if name == "" {
				return fail("service %s/%s may use %s: imgup cannot resolve its image at %s:%d, and no container of it runs: %w",
					st.Name, svc.Name, img.name, d.Rel(svc.Image.File), svc.Image.Line, unset)
			}
			return fail("service %s/%s: it uses %s (%s), but imgup cannot resolve its image at %s:%d: %w",
				st.Name, svc.Name, img.name, how, d.Rel(svc.Image.File), svc.Image.Line, unset)
		}
	}
	return nil
}

// configFirst orders .systemconfig edits before compose edits, as the runbook does.
func configFirst(f string) int {
	switch filepath.Base(f) {
	case ".systemconfig":
		return 0
	case ".env":
		return 1
	}
	return 2
}

func narrowed(services []string) string {
	if len(services) == 0 {
		return ""
	}
	return " among " + strings.Join(services, ", ")
}

// archiveImages lists the images the archives bring, one tag per name: a version tag
// is preferred to "latest"; two version tags of one name are a question for the operator.
func archiveImages(archives []*archive.Archive) ([]newImage, error) {
	var out []newImage
	byName := map[string]int{}
	for _, a := range archives {
		for _, img := range a.Images() {
			for _, ref := range img.Refs {
				name, tag := splitTag(ref)
				ni := newImage{name: name, tag: tag, ref: ref, id: img.ID, archive: a.Path}
				i, seen := byName[name]
				switch {
				case !seen:
					byName[name] = len(out)
					out = append(out, ni)
				case out[i].tag == "latest":
					out[i] = ni
				case tag == "latest" || (tag == out[i].tag && img.ID == out[i].id):
				default:
					return nil, fail("the archives hold %s under two tags, %s and %s; update with one of them at a time", name, out[i].tag, tag)
				}
			}
		}
	}
	return out, nil
}

func splitTag(ref string) (name, tag string) {
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || i < strings.LastIndexByte(ref, '/') {
		return ref, "latest"
	}
	return ref[:i], ref[i+1:]
}

func withTag(ref, tag string) string {
	if at := strings.IndexByte(ref, '@'); at >= 0 {
		ref = ref[:at]
	}
	name, _ := splitTag(ref)
	return name + ":" + tag
}

// selectServices resolves --service names; nil means every service.
func selectServices(d *deploy.Deployment, names []string) (map[*deploy.Service]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	sel := map[*deploy.Service]bool{}
	for _, n := range names {
		stack, svc, qualified := strings.Cut(n, "/")
		if !qualified {
			svc, stack = n, ""
		}
		found := false
		var all []string
		for _, st := range d.Stacks {
			for _, s := range st.Services {
				all = append(all, st.Name+"/"+s.Name)
				// A Kubernetes service may itself be kind/name (deployment/web).
				if s.Name == svc && (stack == "" || st.Name == stack) || s.Name == n {
					sel[s] = true
					found = true
				}
			}
		}
		if !found {
			return nil, fail("no service %q in the deployment; its services are: %s", n, strings.Join(all, ", "))
		}
	}
	return sel, nil
}

func (p *Plan) checkSpace(free int64) error {
	if free < 0 {
		return nil
	}
	var need int64
	seen := map[string]bool{}
	for _, l := range p.Loads {
		if !l.Present && !seen[l.ID] {
			seen[l.ID] = true
			need += 2 * l.Size // the engine unpacks the archive to a temporary folder first
		}
	}
	if need > free {
		return fail("not enough disk space where Docker keeps images: loading needs about %s (twice the images' layers: the engine unpacks them to a temporary folder first), %s is free; free some space (docker image prune) and try again", Human(need), Human(free))
	}
	return nil
}

// Human is a byte count as messages show it: "9.4 MB".
func Human(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// CheckRestart tells whether method is a restart method.
func CheckRestart(method string) error {
	if err := target.Check(method); err != nil {
		return &Error{Msg: err.Error(), loc: err}
	}
	return nil
}

// setRestart chooses the restart target (auto: the control script when there is one,
// else compose for the updated services) and the command it shows.
func (p *Plan) setRestart(d *deploy.Deployment, method string) error {
	if err := CheckRestart(method); err != nil {
		return err
	}
	if method == "" || method == RestartAuto {
		method = target.Choose(d)
	}
	if len(p.Updates) == 0 && !(len(p.Bundles) > 0 && len(p.Edits) > 0 && method == RestartDeploy && d.RestartCommand != "") {
		// A bundle's configuration change alone restarts with the control script,
		// which reads .systemconfig; otherwise nothing runs differently.
		p.Restart = RestartNone
		return nil
	}
	t, _ := target.Get(method)
	cmd, err := t.Command(d)
	if err != nil {
		return &Error{Msg: err.Error(), loc: err}
	}
	p.Restart, p.RestartCommand = method, cmd
	return nil
}

// editor collects edits, merging those of the same bytes.
type editor struct {
	p *Plan
	d *deploy.Deployment
}

func (e *editor) add(ed Edit) error {
	for i, x := range e.p.Edits {
		if x.File != ed.File || ed.End < x.Start || x.End < ed.Start || (ed.Start == ed.End && (ed.End == x.Start || ed.Start == x.End) && x.Start != x.End) {
			continue
		}
		// Overlapping edits of one value (the tag inside a reference, and the whole
		// reference) must agree; the wider one stays.
		outer, inner := x, ed
		if ed.Start <= x.Start && x.End <= ed.End {
			outer, inner = ed, x
		} else if !(x.Start <= ed.Start && ed.End <= x.End) {
			return fail("%s:%d: two edits overlap; update these images one at a time", e.d.Rel(ed.File), ed.Line)
		}
		o := inner.Start - outer.Start
		if outer.Old[:o]+inner.New+outer.Old[o+inner.End-inner.Start:] != outer.New {
			return fail("%s:%d would have to become both %q and %q; update these images one at a time", e.d.Rel(ed.File), ed.Line, x.New, ed.New)
		}
		for i, c := range inner.Cause {
			if !slices.Contains(outer.Cause, c) {
				outer.Cause = append(outer.Cause, c)
				if i < len(inner.causes) && len(outer.causes) == len(outer.Cause)-1 {
					outer.causes = append(outer.causes, inner.causes[i])
				}
			}
		}
		outer.Variable = outer.Variable || inner.Variable
		e.p.Edits[i] = outer
		return nil
	}
	e.p.Edits = append(e.p.Edits, ed)
	return nil
}

// compose adds the edit that gives svc the new tag: in the compose file, or in the
// variable that holds the tag.
func (e *editor) compose(svc *deploy.Service, img newImage) error {
	t := svc.Target
	cause := i18n.Msg("service %s/%s: %s -> %s", svc.Stack.Name, svc.Name, t.Ref, withTag(t.Ref, img.tag))
	repl, err := t.Replacement(img.tag)
	if err != nil {
		return fail("service %s/%s at %s:%d: %w", svc.Stack.Name, svc.Name, e.d.Rel(svc.Image.File), svc.Image.Line, err)
	}
	switch t.Where {
	case composefile.InFile:
		for _, x := range svc.Also {
			// A Kubernetes workload's other containers of the same image.
			r, err := x.Target.Replacement(img.tag)
			if err != nil {
				return fail("service %s/%s at %s:%d: %w", svc.Stack.Name, svc.Name, e.d.Rel(x.Image.File), x.Image.Line, err)
			}
			xfile := x.Image.File
			if x.Target.File != "" {
				xfile = x.Target.File
			}
			xf := fileOf(svc.Stack, xfile)
			if err := e.add(Edit{Edit: history.Edit{File: xfile, Line: textedit.LineOf(xf.Data, x.Target.Start), Start: x.Target.Start, End: x.Target.End, Old: x.Target.Old, New: r}}.because(cause)); err != nil {
				return err
			}
		}
		file := svc.Image.File
		if t.File != "" {
			file = t.File
		}
		f := fileOf(svc.Stack, file)
		return e.add(Edit{Edit: history.Edit{File: file, Line: textedit.LineOf(f.Data, t.Start), Start: t.Start, End: t.End, Old: t.Old, New: repl}}.because(cause))
	case composefile.InVariable:
		src, err := svc.Stack.VarSource(t.Var, t.VarStart, t.VarEnd)
		if err != nil {
			return fail("service %s/%s: %w", svc.Stack.Name, svc.Name, err)
		}
		return e.add(Edit{Edit: history.Edit{File: src.File, Line: src.Line, Start: src.Start, End: src.End, Old: t.Old, New: repl, Key: src.Key, Secret: src.Secret},
			Variable: true}.because(i18n.Msg("service %s/%s: %s -> %s (image: ${%s})", svc.Stack.Name, svc.Name, t.Ref, withTag(t.Ref, img.tag), t.Var)))
	}
	return nil
}

func fileOf(st *deploy.Stack, path string) *composefile.File {
	for _, f := range st.Files {
		if f.Path == path {
			return f
		}
	}
	return &composefile.File{}
}

// sysconfig adds the edit of the .systemconfig entry that holds img's version, in each
// stack that runs it (runbook step 2).
func (e *editor) sysconfig(users []*deploy.Service, img newImage, keys map[string]string) error {
	stacks := map[*deploy.Stack][]string{}
	var order []*deploy.Stack
	for _, s := range users {
		if _, ok := stacks[s.Stack]; !ok {
			order = append(order, s.Stack)
		}
		if !slices.Contains(stacks[s.Stack], s.Target.Tag) {
			stacks[s.Stack] = append(stacks[s.Stack], s.Target.Tag)
		}
	}
	for _, st := range order {
		tags := append(stacks[st], img.tag)
		files := st.ConfigFiles()
		if len(files) == 0 {
			continue
		}
		key := keys[img.name]
		if key == "" {
			key = e.d.ConfigKeys[img.name]
		}
		matches, err := sysconfig.Find(files, img.name, tags, key)
		var amb *sysconfig.Ambiguous
		if errors.As(err, &amb) && usesVariable(users, st) {
			continue // the variable the image is built from is edited: that is the version's entry
		} else if errors.As(err, &amb) {
			return &Error{Msg: err.Error()}
		} else if err != nil {
			return fail("%w", err)
		}
		if len(matches) == 0 {
			if !usesVariable(users, st) {
				e.p.Notes = append(e.p.Notes, fmt.Sprintf("no entry in %s holds the version of %s; only the compose files change", names(files, e.d), img.name))
			}
			continue
		}
		for _, m := range matches {
			newVal := img.tag
			if m.Kind == sysconfig.Reference {
				newVal = withTag(m.Entry.Value, img.tag)
			}
			if m.Entry.Value == newVal {
				continue
			}
			if !m.Entry.Editable {
				return fail("%s:%d: %s holds escapes or shell syntax; edit it by hand", e.d.Rel(m.File.Path), m.Entry.Line, m.Entry.Key)
			}
			cause := i18n.Msg("the version of %s in %s", img.name, filepath.Base(m.File.Path))
			if err := e.add(Edit{Edit: history.Edit{File: m.File.Path, Line: m.Entry.Line, Start: m.Entry.Start, End: m.Entry.End, Old: m.Entry.Value, New: newVal, Key: m.Entry.Key, Secret: sysconfig.Secret(m.Entry.Key)}}.because(cause)); err != nil {
				return err
			}
		}
	}
	return nil
}

func usesVariable(users []*deploy.Service, st *deploy.Stack) bool {
	for _, s := range users {
		if s.Stack == st && s.Target.Where == composefile.InVariable {
			return true
		}
	}
	return false
}

func names(files []*sysconfig.File, d *deploy.Deployment) string {
	var n []string
	for _, f := range files {
		n = append(n, d.Rel(f.Path))
	}
	return strings.Join(n, " and ")
}

// checkShared refuses an edit that would also change the image of a service that is
// not being updated: a shared anchor, or a variable other images use too.
func (e *editor) checkShared(updated []*deploy.Service) error {
	for _, ed := range e.p.Edits {
		if ed.Key != "" && !ed.Variable {
			continue
		}
		var affected []*deploy.Service
		for _, st := range e.d.Stacks {
			for _, s := range st.Services {
				if s.Target == nil {
					continue
				}
				if ed.Key != "" && slices.Contains(s.Target.Vars, ed.Key) && filepath.Dir(ed.File) == st.Dir {
					affected = append(affected, s)
				} else if ed.Key == "" && s.Image != nil && s.Image.File == ed.File && s.Image.Start <= ed.Start && ed.End <= s.Image.End {
					affected = append(affected, s)
				} else if ed.Key == "" && s.Target.File == ed.File && s.Target.Start <= ed.Start && ed.End <= s.Target.End {
					// A tag written elsewhere: a kustomization's newTag, a Helm value.
					affected = append(affected, s)
				}
			}
		}
		var others []string
		for _, s := range affected {
			if !slices.Contains(updated, s) {
				others = append(others, s.Stack.Name+"/"+s.Name+" ("+s.Target.Ref+")")
			}
		}
		if len(others) > 0 {
			what := "these bytes"
			if ed.Key != "" {
				what = "${" + ed.Key + "}"
			}
			return fail("changing %s at %s:%d would also change the image of %s, which %s not being updated; update them together (--service) or give each its own tag by hand",
				what, e.d.Rel(ed.File), ed.Line, strings.Join(others, ", "), map[bool]string{true: "is", false: "are"}[len(others) == 1])
		}
	}
	return nil
}

func touches(p *Plan, st *deploy.Stack) bool {
	for _, u := range p.Updates {
		if u.Stack == st.Name {
			return true
		}
	}
	return false
}
