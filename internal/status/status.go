// Package status compares what is configured, what is loaded and what runs, from one
// snapshot (the deployment's files, the engine's images and containers, imgup's
// history), and reports every disagreement as a finding with a one-line fix. It does
// no I/O.
package status

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"

	"github.com/encoo-tools/imgup/internal/table"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/sysconfig"
	"github.com/encoo-tools/imgup/internal/target"
)

// Schema names the JSON form of Report; it changes when a field changes meaning.
const Schema = "imgup.status/v1"

// Report is the whole view.
type Report struct {
	Schema   string    `json:"schema"`
	Root     string    `json:"root"`
	Services []Service `json:"services"`
	Findings []Finding `json:"findings"`
	// Nodes are a swarm's or a Kubernetes cluster's nodes (absent otherwise).
	Nodes []Node `json:"nodes,omitempty"`
	// Kubernetes: the deployment runs on Kubernetes (its images are the manifests',
	// the Helm values' or the kustomization's, not a compose file's).
	Kubernetes bool `json:"kubernetes,omitempty"`
}

// Service is one service's row.
type Service struct {
	Stack   string `json:"stack"`
	Service string `json:"service"`
	// Image is what the compose files say, and where.
	Image string `json:"image"`
	File  string `json:"file,omitempty"`
	Line  int    `json:"line,omitempty"`
	// Config is the .systemconfig (or .env) entry that holds the image's version.
	Config *Config `json:"config"`
	// Loaded says whether the engine has Image; ImageID is its ID then.
	Loaded  bool   `json:"loaded"`
	ImageID string `json:"image_id,omitempty"`
	// Container is the service's container, nil when there is none.
	Container  *Container `json:"container"`
	LastUpdate *Update    `json:"last_update"`
}

// Config is a config entry.
type Config struct {
	File  string `json:"file"`
	Line  int    `json:"line"`
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Container is what runs.
type Container struct {
	Name    string `json:"name"`
	Image   string `json:"image"`
	ImageID string `json:"image_id"`
	State   string `json:"state"`
	Health  string `json:"health,omitempty"`
}

// Update is the last recorded update that touched a service.
type Update struct {
	ID    string    `json:"id"`
	Time  time.Time `json:"time"`
	State string    `json:"state"`
}

// Finding kinds.
const (
	ConfigDrift  = "config-drift"  // compose tag differs from .systemconfig
	RunningDrift = "running-drift" // the container runs another image than compose says
	NotLoaded    = "not-loaded"    // the compose image is not in the engine
	NoContainer  = "no-container"
	NotRunning   = "not-running" // exited, restarting, dead
	Unhealthy    = "unhealthy"
	Interrupted  = "interrupted-update"
	// Unresolved: the image is built from a variable nothing imgup reads sets, so
	// imgup cannot tell what compose will run.
	Unresolved = "unresolved-image"
	// NodeMissing: a swarm node that may run a service lacks its image; a task placed
	// there will not start on this offline swarm.
	NodeMissing = "node-missing-image"
)

// Finding is one disagreement and how to fix it.
type Finding struct {
	Kind    string `json:"kind"`
	Stack   string `json:"stack,omitempty"`
	Service string `json:"service,omitempty"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
	// msg and fix are Message and Fix to show in the reader's language.
	msg, fix i18n.Message
}

// Input is the snapshot.
type Input struct {
	Deployment *deploy.Deployment
	// Images maps every tag the engine has to its image ID.
	Images      map[string]string
	Containers  []engine.Container
	History     []*history.Record
	Interrupted []*history.Record
	// Nodes are a swarm's nodes, each with the tags it holds (none off a swarm).
	Nodes []Node
}

// Node is one swarm node in the report: its state, and why imgup cannot see it.
type Node struct {
	Name        string `json:"name"`
	State       string `json:"state"`
	Unreachable string `json:"unreachable,omitempty"`
	// ID and Manager tell placement constraints (node.id, node.role) about it.
	ID      string `json:"-"`
	Manager bool   `json:"-"`
	// Images maps the tags the node holds to their IDs (nil when not read).
	Images map[string]string `json:"-"`
	// Missing are the images the deployment's services use that the node lacks.
	Missing []string `json:"missing,omitempty"`
	// Runs are, on Kubernetes, the workloads whose pods may be placed there (nil:
	// every one).
	Runs []string `json:"runs,omitempty"`
}

// Make builds the report.
func Make(in Input) *Report {
	d := in.Deployment
	r := &Report{Schema: Schema, Root: d.Root, Services: []Service{}, Findings: []Finding{}}
	add := func(kind, stack, svc string, msg, fix i18n.Message) {
		r.Findings = append(r.Findings, Finding{Kind: kind, Stack: stack, Service: svc, Message: msg.String(), Fix: fix.String(), msg: msg, fix: fix})
	}
	for _, rec := range in.Interrupted {
		add(Interrupted, "", "", i18n.Msg("update %s was interrupted (it reached: %s)", rec.ID, rec.State),
			i18n.Msg("imgup rollback -C %s %s", d.Root, rec.ID))
	}
	for _, st := range d.Stacks {
		for _, svc := range st.Services {
			row := Service{Stack: st.Name, Service: svc.Name}
			name := svc.Stack.Name + "/" + svc.Name
			if svc.Image != nil {
				row.File, row.Line = d.Rel(svc.Image.File), svc.Image.Line
			}
			if t := svc.Target; t != nil && t.File != "" && svc.Image != nil {
				// The tag stands elsewhere (a kustomization's newTag, a Helm value).
				row.File = d.Rel(t.File)
				if svc.Image.File == t.File {
					row.Line = svc.Image.Line
				} else if f := fileIn(st, t.File); f != nil {
					row.Line = bytes.Count(f.Data[:min(t.Start, len(f.Data))], []byte("\n")) + 1
				}
			}
			var unset *composefile.Unset
			if errors.As(svc.Err, &unset) {
				row.Image = svc.Image.Raw
				add(Unresolved, st.Name, svc.Name, i18n.Msg("%s: %s", name, unset.Error()),
					i18n.Msg("set the variable in the stack's .systemconfig or .env, or name the file that sets it in env-files: of imgup.yaml"))
				if c := st.Container(in.Containers, svc.Name); c != nil {
					row.Container = &Container{Name: c.Name, Image: c.Image, ImageID: c.ImageID, State: c.State, Health: c.Health}
				}
				r.Services = append(r.Services, row)
				continue
			}
			if svc.Target == nil {
				if svc.Image != nil {
					row.Image = svc.Image.Raw
				}
				r.Services = append(r.Services, row)
				continue // a build-only service, or an image imgup cannot read
			}
			row.Image = svc.Target.Ref
			row.ImageID, row.Loaded = lookupImage(in.Images, svc.Target.Ref)
			if ms := sysconfig.ForImage(st.ConfigFiles(), svc.Target.Name, d.ConfigKeys[svc.Target.Name]); len(ms) == 1 {
				m := ms[0]
				row.Config = &Config{File: d.Rel(m.File.Path), Line: m.Entry.Line, Key: m.Entry.Key, Value: sysconfig.Shown(m.Entry)}
				version := m.Entry.Value
				if m.Kind == sysconfig.Reference {
					version = tagOf(m.Entry.Value)
				}
				if version != svc.Target.Tag {
					add(ConfigDrift, st.Name, svc.Name,
						i18n.Msg("%s: the compose file (%s:%d) says %s, but %s:%d has %s=%s: the next restart or re-generation may revert the update", name, row.File, row.Line, svc.Target.Tag, row.Config.File, m.Entry.Line, m.Entry.Key, sysconfig.Shown(m.Entry)),
						i18n.Msg("make them agree: edit %s:%d, or run imgup apply with the archive of the version you want", row.Config.File, m.Entry.Line))
				}
			}
			if !row.Loaded {
				add(NotLoaded, st.Name, svc.Name, i18n.Msg("%s: image %s is not loaded: the next restart will fail on this offline server", name, svc.Target.Ref),
					i18n.Msg("load its archive: imgup load ARCHIVE (or docker load -i ARCHIVE)"))
			}
			if c := st.Container(in.Containers, svc.Name); c == nil {
				add(NoContainer, st.Name, svc.Name, i18n.Msg("%s: has no container", name), i18n.Msg("start the deployment: %s", startHint(d)))
			} else {
				row.Container = &Container{Name: c.Name, Image: c.Image, ImageID: c.ImageID, State: c.State, Health: c.Health}
				switch {
				case c.State != "running":
					logs := "docker logs " + c.Name
					if st.Swarm {
						logs = "docker service logs " + st.Project + "_" + svc.Name
					}
					add(NotRunning, st.Name, svc.Name, i18n.Msg("%s: container %s is %s (exit code %d)", name, c.Name, c.State, c.ExitCode), i18n.Msg("see %s; then %s", logs, target.Hint(d, "")))
				case c.Health == "unhealthy":
					add(Unhealthy, st.Name, svc.Name, i18n.Msg("%s: container %s is unhealthy", name, c.Name), i18n.Msg("see docker inspect --format '{{json .State.Health}}' %s", c.Name))
				}
				if row.Loaded && c.ImageID != row.ImageID {
					add(RunningDrift, st.Name, svc.Name, i18n.Msg("%s: the container runs %s (%s), but the compose file says %s (%s): edited without a restart, or restarted without an edit", name, c.Image, engine.ShortID(c.ImageID), svc.Target.Ref, engine.ShortID(row.ImageID)),
						i18n.Msg("restart to run what the files say (%s), or imgup rollback to go back", target.Hint(d, "")))
				}
			}
			row.LastUpdate = lastUpdate(in.History, st.Name, svc.Name)
			r.Services = append(r.Services, row)
		}
	}
	r.Kubernetes = d.IsKube()
	r.nodes(in, add)
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Kind == Interrupted && r.Findings[j].Kind != Interrupted })
	return r
}

// nodes checks that every reachable swarm node holds the images the swarm stacks'
// services use.
func (r *Report) nodes(in Input, add func(kind, stack, svc string, msg, fix i18n.Message)) {
	for _, n := range in.Nodes {
		if n.Images != nil {
			for _, st := range in.Deployment.Stacks {
				if !st.Swarm && st.Kube == nil {
					continue
				}
				for _, svc := range st.Services {
					if svc.Target == nil || !placeable(st, svc.Name, n) {
						continue
					}
					if _, ok := lookupImage(n.Images, svc.Target.Ref); !ok {
						n.Missing = append(n.Missing, svc.Target.Ref)
						msg := i18n.Msg("%s/%s: node %s lacks image %s: a task placed there will not start", st.Name, svc.Name, n.Name, svc.Target.Ref)
						if st.Kube != nil {
							msg = i18n.Msg("%s/%s: node %s lacks image %s: a pod placed there will not start (ErrImageNeverPull, or a pull with no registry)", st.Name, svc.Name, n.Name, svc.Target.Ref)
						}
						add(NodeMissing, st.Name, svc.Name, msg, i18n.Msg("load its archive on every node: imgup load -C %s ARCHIVE", in.Deployment.Root))
					}
				}
			}
		}
		r.Nodes = append(r.Nodes, n)
	}
}

// placeable says whether the swarm may place a task of the stack's service on n: a
// node its placement constraints keep it off needs none of its images.
func placeable(st *deploy.Stack, service string, n Node) bool {
	if st.Kube != nil {
		return n.Runs == nil || slices.Contains(n.Runs, service)
	}
	for _, s := range st.SwarmServices {
		if s.Name == st.Project+"_"+service {
			return engine.Allows(s.Constraints, n.Name, n.ID, n.Manager)
		}
	}
	return true
}

func lookupImage(images map[string]string, ref string) (string, bool) {
	if id, ok := images[ref]; ok {
		return id, true
	}
	// The engine names docker.io images without the prefix.
	for _, p := range []string{"docker.io/library/", "docker.io/"} {
		if id, ok := images[strings.TrimPrefix(ref, p)]; ok && strings.HasPrefix(ref, p) {
			return id, true
		}
	}
	return "", false
}

func lastUpdate(recs []*history.Record, stack, service string) *Update {
	for _, r := range recs { // newest first
		for _, u := range r.Updates {
			if u.Stack == stack && u.Service == service {
				return &Update{ID: r.ID, Time: r.Time, State: r.State}
			}
		}
	}
	return nil
}

func tagOf(ref string) string {
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref[i+1:]
	}
	return "latest"
}

// Table renders the services like docker ps, then the findings.
func (r *Report) String() string { return r.Text(0, true, i18n.EN) }

// Text renders the report in tr's language for a terminal width cells wide (0: no
// limit). Unless wide, the file:line and config columns go when the table would not fit.
func (r *Report) Text(width int, wide bool, tr *i18n.Printer) string {
	var b strings.Builder
	tr.Fprintf(&b, "Deployment %s\n\n", r.Root)
	imageHead := tr.T("COMPOSE IMAGE")
	if r.Kubernetes {
		imageHead = tr.T("IMAGE IN FILES")
	}
	t := &table.Table{Header: []string{tr.T("SERVICE"), imageHead, tr.T("FILE"), tr.T("CONFIG"), tr.T("LOADED"), tr.T("RUNNING"), tr.T("STATE"), tr.T("LAST UPDATE")},
		Optional: []bool{false, false, !wide, !wide}}
	for _, s := range r.Services {
		cfg, loaded, running, state, last := tr.T("none"), tr.T("no"), "-", tr.T("no container"), "-"
		if s.Config != nil {
			cfg = s.Config.Key + "=" + s.Config.Value
		}
		if s.Loaded {
			loaded = engine.ShortID(s.ImageID)
		}
		if c := s.Container; c != nil {
			running, state = engine.ShortID(c.ImageID), c.State
			if c.Health != "" {
				state += " (" + c.Health + ")"
			}
		}
		if s.LastUpdate != nil {
			last = s.LastUpdate.ID
		}
		t.Rows = append(t.Rows, []string{s.Stack + "/" + s.Service, s.Image, fmt.Sprintf("%s:%d", filepath.ToSlash(s.File), s.Line), cfg, loaded, running, state, last})
	}
	out, dropped := t.Render(width)
	b.WriteString(out)
	if dropped {
		b.WriteString(tr.T("(file:line and config entry left out to fit the terminal: imgup status --wide shows them, --json has everything)\n"))
	}
	if len(r.Nodes) > 0 && r.Kubernetes {
		b.WriteString(tr.T("\nKubernetes nodes\n"))
	} else if len(r.Nodes) > 0 {
		b.WriteString(tr.T("\nSwarm nodes\n"))
	}
	if len(r.Nodes) > 0 {
		for _, n := range r.Nodes {
			switch {
			case n.Unreachable != "":
				tr.Fprintf(&b, "  %s  %s  not reached: %s\n", n.Name, n.State, n.Unreachable)
			case len(n.Missing) > 0:
				tr.Fprintf(&b, "  %s  %s  lacks %d image(s)\n", n.Name, n.State, len(n.Missing))
			default:
				tr.Fprintf(&b, "  %s  %s  holds every image\n", n.Name, n.State)
			}
			if n.Runs != nil {
				tr.Fprintf(&b, "      may run: %s\n", strings.Join(n.Runs, ", "))
			}
		}
	}
	if len(r.Findings) == 0 {
		b.WriteString(tr.T("\nNo drift: files, engine and containers agree.\n"))
		return b.String()
	}
	tr.Fprintf(&b, "\n%d finding(s):\n", len(r.Findings))
	for _, f := range r.Findings {
		tr.Fprintf(&b, "  [%s] %s\n      fix: %s\n", f.Kind, f.MessageIn(tr), f.FixIn(tr))
	}
	return b.String()
}

// startHint is the command that starts the deployment by hand.
func startHint(d *deploy.Deployment) string {
	if d.DeployScript != "" {
		return "./" + filepath.Base(d.DeployScript) + " start"
	}
	return target.Hint(d, "")
}

// MessageIn is the finding's message in tr's language.
func (f Finding) MessageIn(tr *i18n.Printer) string {
	if f.msg.Format == "" {
		return f.Message
	}
	return f.msg.In(tr)
}

// FixIn is the finding's fix in tr's language.
func (f Finding) FixIn(tr *i18n.Printer) string {
	if f.fix.Format == "" {
		return f.Fix
	}
	return f.fix.In(tr)
}

func fileIn(st *deploy.Stack, path string) *composefile.File {
	for _, f := range st.Files {
		if f.Path == path {
			return f
		}
	}
	return nil
}
