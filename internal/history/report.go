package history

import (
	"fmt"
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// Masked returns a copy of the record whose secret values read ***: what a report
// sent to the vendor may show.
func (r *Record) Masked() *Record {
	c := *r
	c.Edits = make([]Edit, len(r.Edits))
	for i, e := range r.Edits {
		e.Old, e.New = e.Shown()
		c.Edits[i] = e
	}
	return &c
}

// Markdown is the update's report for the vendor: the bundle and its signer, the host,
// what changed (images and keys, from -> to), the verification table, downtime per
// service and how long each stage took. It replaces screenshots of docker ps -a.
func (r *Record) Markdown() string { return r.MarkdownIn(i18n.EN) }

// MarkdownIn is the report in tr's language (the record itself stays English).
func (r *Record) MarkdownIn(tr *i18n.Printer) string {
	var b strings.Builder
	md := func(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s) }
	tr.Fprintf(&b, "# imgup %s %s\n\n", r.Kind, r.ID)
	b.WriteString("| | |\n|---|---|\n")
	tr.Fprintf(&b, "| host | %s |\n| user | %s |\n| started | %s |\n", md(r.Host), md(r.User), r.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	if !r.Ended.IsZero() {
		tr.Fprintf(&b, "| ended | %s (%s) |\n", r.Ended.UTC().Format("2006-01-02 15:04:05 UTC"), r.Ended.Sub(r.Time).Round(100_000_000))
	}
	state := r.State
	if r.RolledBackBy != "" {
		state = tr.Sprintf("%s, undone by %s", state, r.RolledBackBy)
	}
	tr.Fprintf(&b, "| state | %s |\n| restart | %s |\n", md(state), md(r.Restart))
	if r.Error != "" {
		tr.Fprintf(&b, "| error | %s |\n", md(r.Error))
	}
	if len(r.Bundles) > 0 {
		b.WriteString(tr.T("\n## Bundles\n\n| bundle | version | signer | verified | bundle.json |\n|---|---|---|---|---|\n"))
		for _, x := range r.Bundles {
			fmt.Fprintf(&b, "| %s | %s | %s | %v | `%s` |\n", md(x.Name), md(x.Version), md(x.KeyID), x.Verified, x.Manifest)
		}
	}
	if len(r.Updates) > 0 {
		b.WriteString(tr.T("\n## Images\n\n| service | from | to | downtime |\n|---|---|---|---|\n"))
		for _, u := range r.Updates {
			dt := u.Downtime
			if dt == "" {
				dt = "-"
			}
			fmt.Fprintf(&b, "| %s/%s | %s | %s | %s |\n", md(u.Stack), md(u.Service), md(u.From), md(u.To), dt)
		}
	}
	if len(r.Edits) > 0 {
		b.WriteString(tr.T("\n## Files and keys\n\n| file:line | key | from | to |\n|---|---|---|---|\n"))
		for _, e := range r.Edits {
			old, nw := e.Shown()
			if e.Meaning != "" {
				// An environment entry: what it means, not the YAML bytes around it.
				fmt.Fprintf(&b, "| %s:%d | %s | - | `%s` |\n", md(e.File), e.Line, md(e.Key), md(e.Meaning))
				continue
			}
			fmt.Fprintf(&b, "| %s:%d | %s | `%s` | `%s` |\n", md(e.File), e.Line, md(e.Key), md(strings.TrimRight(old, "\r\n")), md(strings.TrimRight(nw, "\r\n")))
		}
	}
	if len(r.Nodes) > 0 {
		tr.Fprintf(&b, "\nThe images went to every node of the swarm: %s.\n", strings.Join(r.Nodes, ", "))
	}
	if len(r.Table) > 0 {
		b.WriteString(tr.T("\n## Containers after the update\n\n| service | container | image | image id | state | updated | downtime |\n|---|---|---|---|---|---|---|\n"))
		for _, row := range r.Table {
			st := row.State
			if row.Health != "" {
				st += " (" + row.Health + ")"
			}
			up, dt := "-", row.Downtime
			switch {
			case row.Updated:
				up = tr.T("updated")
			case row.Restored:
				up = tr.T("restored")
			}
			if dt == "" {
				dt = "-"
			}
			id := strings.TrimPrefix(row.ImageID, "sha256:")
			if len(id) > 12 {
				id = id[:12]
			}
			ctr := row.Container
			if row.Node != "" {
				ctr += " @ " + row.Node
			}
			fmt.Fprintf(&b, "| %s/%s | %s | %s | %s | %s | %s | %s |\n", md(row.Stack), md(row.Service), md(ctr), md(row.Image), id, md(st), up, dt)
		}
	}
	if len(r.Verify) > 0 {
		b.WriteString(tr.T("\n## Verified\n\n"))
		for _, v := range r.Verify {
			fmt.Fprintf(&b, "- %s\n", md(v))
		}
	}
	if len(r.Stages) > 0 {
		b.WriteString(tr.T("\n## Stages\n\n| stage | seconds |\n|---|---|\n"))
		for _, s := range r.Stages {
			fmt.Fprintf(&b, "| %s | %.1f |\n", md(s.Name), s.Seconds)
		}
	}
	return b.String()
}
