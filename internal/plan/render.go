package plan

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
)

// String is the plan as `imgup plan` prints it and `imgup apply` shows it.
func (p *Plan) String() string {
	var b strings.Builder
	rel := func(f string) string { return deploy.RelTo(p.Root, f) }
	fmt.Fprintf(&b, "Deployment %s\n", p.Root)
	for _, s := range p.Stacks {
		project := s.Project
		if project == "" {
			project = "unknown"
		}
		fmt.Fprintf(&b, "   stack %s: compose project %s, %s\n", s.Name, project, s.ProjectWhy)
		fmt.Fprintf(&b, "      files %s (from %s)\n", strings.Join(s.Files, ", "), s.FilesFrom)
	}
	if p.UpToDate() {
		b.WriteString("\nAlready up to date: every image is loaded, every file names it, every container runs it.\n")
		p.notes(&b)
		return b.String()
	}
	b.WriteString("\n1. Load images\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(p.Loads) == 0 {
		fmt.Fprintln(tw, "   nothing to load")
	}
	for _, l := range p.Loads {
		state := "load from " + archive.Safe(filepath.Base(l.Archive))
		if l.Present {
			state = "already loaded"
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\n", l.Ref, engine.ShortID(l.ID), state)
	}
	tw.Flush()
	b.WriteString("\n2-3. Edit files (only the characters shown change)\n")
	if len(p.Edits) == 0 {
		b.WriteString("   nothing to edit\n")
	}
	for _, e := range p.Edits {
		key := ""
		if e.Key != "" {
			key = e.Key + " "
		}
		fmt.Fprintf(&b, "   %s:%d  %s%q -> %q\n", rel(e.File), e.Line, key, e.Old, e.New)
		for _, c := range e.Cause {
			fmt.Fprintf(&b, "      for %s\n", c)
		}
	}
	b.WriteString("\n4. Restart\n")
	switch p.Restart {
	case RestartNone:
		if len(p.Updates) == 0 {
			b.WriteString("   nothing to restart\n")
		} else {
			b.WriteString("   none (--restart none): the containers keep their images until the next restart\n")
		}
	default:
		fmt.Fprintf(&b, "   %s\n", p.RestartCommand)
	}
	if len(p.Updates) > 0 {
		b.WriteString("\n5. Verify that these run the new image (and are healthy where they have a healthcheck)\n")
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, u := range p.Updates {
			fmt.Fprintf(tw, "   %s/%s\t%s -> %s\t%s\n", u.Stack, u.Service, u.From, u.To, engine.ShortID(u.ID))
		}
		tw.Flush()
	}
	p.notes(&b)
	return b.String()
}

func (p *Plan) notes(b *strings.Builder) {
	if len(p.Notes) == 0 {
		return
	}
	b.WriteString("\nNotes\n")
	for _, n := range p.Notes {
		fmt.Fprintf(b, "   %s\n", archive.Safe(n))
	}
}
