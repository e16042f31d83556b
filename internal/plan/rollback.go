package plan

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/target"
)

// RollbackInput is the snapshot a rollback plan is made from.
type RollbackInput struct {
	Deployment *deploy.Deployment
	Record     *history.Record
	// Current and Backup hold each recorded file (relative path) as it is now and as
	// it was before the update.
	Current, Backup map[string][]byte
	// HasImage tells whether the engine still has an image ID.
	HasImage   map[string]bool
	Containers []engine.Container
	// Later are updates made after Record that are not undone and touch its files.
	Later []*history.Record
	// Force overwrites files changed since the update, and ignores later updates.
	Force bool
}

// Rollback plans to put every file of an update back as it was and to restart so the
// services run their previous images again. It edits only the bytes the update
// changed; with Force, a file changed since is restored whole.
func Rollback(in RollbackInput) (*Plan, error) {
	r := in.Record
	d := in.Deployment
	p := &Plan{Root: d.Root, Undo: true}
	if len(in.Later) > 0 && !in.Force {
		var ids []string
		for _, l := range in.Later {
			ids = append(ids, l.ID)
		}
		return nil, fail("later updates (%s) changed the same files; roll those back first, or use --force", strings.Join(ids, ", "))
	}
	for _, u := range r.Updates {
		if u.FromID != "" && !in.HasImage[u.FromID] {
			return nil, fail("the previous image of %s/%s (%s, %s) is no longer in the engine; load its archive again first, nothing was changed", u.Stack, u.Service, u.From, engine.ShortID(u.FromID))
		}
	}
	files := append([]string(nil), r.Files...)
	sort.Strings(files)
	for _, rel := range files {
		cur, bak := in.Current[rel], in.Backup[rel]
		if bytes.Equal(cur, bak) {
			continue
		}
		abs := filepath.Join(d.Root, rel)
		edits, ok := reverse(abs, r.Edits, rel, cur, bak)
		if !ok {
			if !in.Force {
				return nil, fail("%s changed since update %s, and not only by it; restore it by hand from %s, or use --force to overwrite it with that backup",
					rel, r.ID, filepath.Join(".imgup", "history", r.ID, "backup", rel))
			}
			edits = []Edit{wholeSpan(abs, cur, bak)}
		}
		for i := range edits {
			edits[i] = edits[i].because(i18n.Msg("undo update %s", r.ID))
		}
		p.Edits = append(p.Edits, edits...)
	}
	for _, u := range r.Updates {
		if u.FromID == "" {
			continue
		}
		if c := containerOf(d, in.Containers, u.Stack, u.Service); c != nil && c.ImageID == u.FromID && len(p.Edits) == 0 {
			continue // already runs its previous image
		}
		project := u.Project
		if st := d.Stack(u.Stack); st != nil && st.Project != "" {
			project = st.Project // what runs now says it; the record says what ran then
		}
		p.Updates = append(p.Updates, Update{Stack: u.Stack, Project: project, Service: u.Service, From: u.To, To: u.From, ID: u.FromID})
	}
	p.Restart = r.Restart
	t, ok := target.Get(r.Restart)
	if !ok {
		return nil, fail("update %s restarted with %q, which this imgup does not know; roll back with --restart none, then restart by hand", r.ID, r.Restart)
	}
	cmd, err := t.Command(d)
	switch {
	case err != nil && r.Restart == RestartDeploy:
		return nil, fail("update %s restarted with a control script, and %s has none now; roll back with --restart none, then restart by hand", r.ID, d.Root)
	case err != nil:
		return nil, fail("update %s restarted with %s, and %s cannot now (%v); roll back with --restart none, then restart by hand", r.ID, r.Restart, d.Root, err)
	}
	p.RestartCommand = cmd
	if len(p.Updates) == 0 {
		p.Restart, p.RestartCommand = RestartNone, ""
	}
	return p, nil
}

// reverse turns the update's edits of one file into edits of the file as it is now,
// when the file is exactly what the update wrote.
func reverse(abs string, all []history.Edit, rel string, cur, bak []byte) ([]Edit, bool) {
	var es []history.Edit
	for _, e := range all {
		if e.File == rel {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Start < es[j].Start })
	shift := 0
	var out []Edit
	for _, e := range es {
		start := e.Start + shift
		end := start + len(e.New)
		if end > len(cur) || string(cur[start:end]) != e.New {
			return nil, false
		}
		out = append(out, Edit{Edit: history.Edit{File: abs, Line: e.Line, Start: start, End: end, Old: e.New, New: e.Old}})
		shift += len(e.New) - len(e.Old)
	}
	// Applying them must give the backup exactly.
	got := append([]byte(nil), cur...)
	for i := len(out) - 1; i >= 0; i-- {
		got = append(got[:out[i].Start:out[i].Start], append([]byte(out[i].New), got[out[i].End:]...)...)
	}
	return out, len(out) > 0 && bytes.Equal(got, bak)
}

// wholeSpan is one edit from the first differing byte to the last.
func wholeSpan(abs string, cur, bak []byte) Edit {
	pre := 0
	for pre < len(cur) && pre < len(bak) && cur[pre] == bak[pre] {
		pre++
	}
	suf := 0
	for suf < len(cur)-pre && suf < len(bak)-pre && cur[len(cur)-1-suf] == bak[len(bak)-1-suf] {
		suf++
	}
	return Edit{Edit: history.Edit{File: abs, Line: 1 + bytes.Count(cur[:pre], []byte("\n")), Start: pre, End: len(cur) - suf,
		Old: string(cur[pre : len(cur)-suf]), New: string(bak[pre : len(bak)-suf])}}
}

// Describe says what a rollback plan undoes, for its first line.
func Describe(r *history.Record) string {
	return fmt.Sprintf("undo update %s (%s, %s)", r.ID, r.Time.Local().Format("2006-01-02 15:04:05"), r.State)
}

// containerOf is a recorded service's container, as the deployment binds its stack
// now; nil when the stack is gone.
func containerOf(d *deploy.Deployment, cs []engine.Container, stack, service string) *engine.Container {
	if st := d.Stack(stack); st != nil {
		return st.Container(cs, service)
	}
	return nil
}
