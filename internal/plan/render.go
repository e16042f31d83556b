package plan

import (
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/encoo-tools/imgup/internal/i18n"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/sysconfig"
)

// String is the plan as `imgup plan` prints it and `imgup apply` shows it, in English.
func (p *Plan) String() string { return p.Text(i18n.EN) }

// Text is the plan in the printer's language.
func (p *Plan) Text(tr *i18n.Printer) string {
	var b strings.Builder
	rel := func(f string) string { return deploy.RelTo(p.Root, f) }
	tr.Fprintf(&b, "Deployment %s\n", p.Root)
	for _, s := range p.Stacks {
		project := s.Project
		if project == "" {
			project = tr.T("unknown")
		}
		why := s.ProjectWhy
		if s.whyMsg.Format != "" {
			why = s.whyMsg.In(tr)
		}
		if s.Swarm {
			tr.Fprintf(&b, "   stack %s: runs on Docker Swarm, %s\n", s.Name, why)
		} else if s.Kubernetes {
			tr.Fprintf(&b, "   stack %s: Kubernetes namespace %s, %s\n", s.Name, project, why)
		} else {
			tr.Fprintf(&b, "   stack %s: compose project %s, %s\n", s.Name, project, why)
		}
		from := s.FilesFrom
		if s.filesMsg.Format != "" {
			from = s.filesMsg.In(tr)
		}
		tr.Fprintf(&b, "      files %s (from %s)\n", strings.Join(s.Files, ", "), from)
	}
	for _, bd := range p.Bundles {
		p.renderBundle(&b, bd, tr)
	}
	if p.UpToDate() && len(p.Unused) > 0 {
		tr.Fprintf(&b, "\nNothing to do for the images services use, and %d image(s) of the archives are used by no service (see the notes): check that these are the archives you meant.\n", len(p.Unused))
		p.notes(&b, tr)
		return b.String()
	}
	if p.UpToDate() {
		b.WriteString(tr.T("\nAlready up to date: every image is loaded, every file names it, every container runs it.\n"))
		p.notes(&b, tr)
		return b.String()
	}
	b.WriteString(tr.T("\n1. Load images\n"))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if len(p.Loads) == 0 {
		tr.Fprintf(tw, "   nothing to load\n")
	}
	for _, l := range p.Loads {
		state := tr.Sprintf("load from %s", archive.Safe(filepath.Base(l.Archive)))
		if l.Present {
			state = tr.T("already loaded")
		}
		tr.Fprintf(tw, "   %s\t%s\t%s\n", l.Ref, engine.ShortID(l.ID), state)
	}
	tw.Flush()
	p.renderNodes(&b, tr)
	b.WriteString(tr.T("\n2-3. Edit files (only the characters shown change)\n"))
	if len(p.Edits) == 0 {
		b.WriteString(tr.T("   nothing to edit\n"))
	}
	for _, e := range p.Edits {
		key := ""
		if e.Key != "" {
			key = e.Key + " "
		}
		old, nw := e.Shown()
		switch {
		case e.Start == e.End:
			tr.Fprintf(&b, "   %s:%d  %sadd line %q\n", rel(e.File), e.Line, key, strings.Trim(mask(e, e.New), "\r\n"))
		case e.New == "" && strings.HasSuffix(e.Old, "\n"):
			tr.Fprintf(&b, "   %s:%d  %sremove line %q\n", rel(e.File), e.Line, key, strings.Trim(mask(e, e.Old), "\r\n"))
		default:
			tr.Fprintf(&b, "   %s:%d  %s%q -> %q\n", rel(e.File), e.Line, key, old, nw)
		}
		for _, c := range e.CausesIn(tr) {
			tr.Fprintf(&b, "      for %s\n", c)
		}
	}
	b.WriteString(tr.T("\n4. Restart\n"))
	switch p.Restart {
	case RestartNone:
		if len(p.Updates) == 0 {
			b.WriteString(tr.T("   nothing to restart\n"))
		} else {
			b.WriteString(tr.T("   none (--restart none): the containers keep their images until the next restart\n"))
		}
	case RestartDeploy:
		p.renderDryRun(&b, tr)
	default:
		tr.Fprintf(&b, "   %s\n", p.RestartCommand)
		if p.NoScript {
			b.WriteString(tr.T("   There is no deploy.sh here, and imgup.yaml names no restart: command, so imgup restarts the updated services with compose itself; the vendor's step 4 has nothing to run.\n"))
		}
	}
	if len(p.Updates) > 0 {
		if p.Undo {
			b.WriteString(tr.T("\n5. Verify that these run their previous image again (and are healthy where they have a healthcheck)\n"))
		} else {
			b.WriteString(tr.T("\n5. Verify that these run the new image (and are healthy where they have a healthcheck)\n"))
		}
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, u := range p.Updates {
			if u.From == u.To {
				tr.Fprintf(tw, "   %s/%s\t%s (image unchanged)\t%s\n", u.Stack, u.Service, u.To, engine.ShortID(u.ID))
			} else {
				tr.Fprintf(tw, "   %s/%s\t%s -> %s\t%s\n", u.Stack, u.Service, u.From, u.To, engine.ShortID(u.ID))
			}
			for _, kv := range u.SetEnv {
				k, v, _ := strings.Cut(kv, "=")
				if sysconfig.Secret(k) {
					v = "***"
				}
				tr.Fprintf(tw, "   \t  environment %s=%s\t\n", k, v)
			}
			for _, k := range u.UnsetEnv {
				tr.Fprintf(tw, "   \t  environment without %s\t\n", k)
			}
		}
		tw.Flush()
	}
	for _, f := range p.Failures {
		tr.Fprintf(&b, "\nWARNING: %s/%s ran %s before, in update %s on %s, and it was rolled back: %s\n", f.Stack, f.Service, f.Ref, f.Update, f.Time.Local().Format("2006-01-02 15:04"), archive.Safe(f.Reason))
	}
	p.notes(&b, tr)
	return b.String()
}

// maxNotRunShown bounds the commands not run that the plan's text lists.
const maxNotRunShown = 8

// renderDryRun shows what the restart command will run, from its dry run.
func (p *Plan) renderDryRun(b *strings.Builder, tr *i18n.Printer) {
	r := p.DryRun
	if r == nil {
		tr.Fprintf(b, "   %s\n", p.RestartCommand)
		return
	}
	if len(r.Calls) == 0 && len(r.Kube) == 0 {
		tr.Fprintf(b, "   %s: its dry run runs no compose or docker command\n", archive.Safe(p.RestartCommand))
	} else {
		tr.Fprintf(b, "   %s will run\n", archive.Safe(p.RestartCommand))
		for _, c := range r.Kube {
			line := "      " + archive.Safe(c.String())
			if c.Dir != "." && c.Dir != "" {
				line += "  " + tr.Sprintf("(in %s)", archive.Safe(c.Dir))
			}
			b.WriteString(line + "\n")
		}
		for _, c := range r.Calls {
			line := "      " + archive.Safe(c.String())
			if c.Dir != "." && c.Dir != "" {
				line += "  " + tr.Sprintf("(in %s)", archive.Safe(c.Dir))
			}
			if c.Unknown != "" {
				line += "  " + tr.Sprintf("(built from the output of %s, not run here)", archive.Safe(c.Unknown))
			}
			b.WriteString(line + "\n")
		}
	}
	p.renderStop(b, tr)
	for i, c := range r.NotRun {
		if i == maxNotRunShown {
			tr.Fprintf(b, "      ... and %d more commands not run by imgup's reading (--json lists them)\n", len(r.NotRun)-maxNotRunShown)
			break
		}
		tr.Fprintf(b, "      not run by imgup's reading: %s\n", archive.Safe(c.String()))
	}
	for _, n := range r.Notes {
		tr.Fprintf(b, "      note: %s\n", archive.Safe(n.String()))
	}
	for _, c := range p.Conflicts {
		tr.Fprintf(b, "   REFUSED: %s; apply refuses this restart: choose --restart services, or say the project with --project\n", archive.Safe(c))
	}
}

// mask hides a secret's value inside a whole line ("KEY=***").
func mask(e Edit, line string) string {
	if !e.Secret {
		return line
	}
	i := strings.Index(line, e.Key)
	if i < 0 {
		return "***"
	}
	j := strings.IndexAny(line[i+len(e.Key):], "=:")
	if j < 0 {
		return line[:i+len(e.Key)] + " ***"
	}
	k := i + len(e.Key) + j + 1
	for k < len(line) && line[k] == ' ' {
		k++
	}
	return line[:k] + "***"
}

func (p *Plan) renderBundle(b *strings.Builder, bd BundleRef, tr *i18n.Printer) {
	tr.Fprintf(b, "\nBundle %s %s (%s)\n", archive.Safe(bd.Name), archive.Safe(bd.Version), archive.Safe(filepath.Base(bd.Path)))
	switch {
	case bd.Signature.Verified:
		tr.Fprintf(b, "   signed by key %s: verified against the trusted keys\n", bd.Signature.KeyID)
	case bd.Signature.KeyID != "":
		tr.Fprintf(b, "   WARNING: signed by key %s, which is NOT trusted here (--allow-unsigned)\n", bd.Signature.KeyID)
	default:
		b.WriteString(tr.T("   WARNING: NOT SIGNED (--allow-unsigned): nothing shows who made it\n"))
	}
	for _, r := range bd.Requires {
		tr.Fprintf(b, "   requires %s: met\n", archive.Safe(r))
	}
	if bd.Base != "" {
		tr.Fprintf(b, "   differential: builds on bundle %s; the engine has the %d layer(s) it leaves out\n", archive.Safe(bd.Base), bd.Lacking)
	}
	for _, lang := range []string{"en", "zh"} {
		if n := strings.TrimSpace(bd.Notes[lang]); n != "" {
			tr.Fprintf(b, "   notes (%s):\n", lang)
			for _, l := range strings.Split(n, "\n") {
				tr.Fprintf(b, "      %s\n", archive.Safe(l))
			}
		}
	}
}

func (p *Plan) notes(b *strings.Builder, tr *i18n.Printer) {
	if len(p.Notes) == 0 {
		return
	}
	b.WriteString(tr.T("\nNotes\n"))
	for _, n := range p.Notes {
		tr.Fprintf(b, "   %s\n", archive.Safe(n))
	}
}

// maxOutputShown bounds the script's last lines the plan's text shows.
const maxOutputShown = 8

// renderStop says where the restart would stop, and why, in the script's own words.
func (p *Plan) renderStop(b *strings.Builder, tr *i18n.Printer) {
	st := p.Stop
	if st == nil {
		return
	}
	if st.At != nil {
		tr.Fprintf(b, "   STOPS: the restart ends at %s line %d with exit status %d (%s)\n", archive.Safe(st.At.Script), st.At.Line, st.Exit, archive.Safe(st.At.String()))
	} else {
		tr.Fprintf(b, "   STOPS: the restart ends with exit status %d\n", st.Exit)
	}
	for _, q := range st.Prompts {
		tr.Fprintf(b, "      a prompt meets the end of input: %q at %s line %d; imgup runs the restart without a terminal, so it gets no answer\n", archive.Safe(q.Text), archive.Safe(q.Script), q.Line)
	}
	for _, o := range st.Offline {
		tr.Fprintf(b, "      %s at %s line %d needs the network; this machine has no registry, so it fails\n", archive.Safe(o.String()), archive.Safe(o.Script), o.Line)
	}
	switch {
	case st.Reaches != nil:
		tr.Fprintf(b, "      it still reaches %s at %s line %d before it stops\n", archive.Safe(st.Reaches.String()), archive.Safe(st.Reaches.Script), st.Reaches.Line)
	case len(st.Stopped) > 0:
		c := st.Stopped[len(st.Stopped)-1]
		tr.Fprintf(b, "      it never reaches its up, and it has run %s at %s line %d by then: the deployment would stay stopped\n", archive.Safe(c.String()), archive.Safe(c.Script), c.Line)
	default:
		b.WriteString(tr.T("      it stops before any compose call that starts containers\n"))
	}
	if len(st.Output) > 0 {
		b.WriteString(tr.T("      its last lines:\n"))
		out := st.Output
		if len(out) > maxOutputShown {
			out = out[len(out)-maxOutputShown:]
		}
		for _, l := range out {
			tr.Fprintf(b, "         %s\n", archive.Safe(l))
		}
	}
	b.WriteString(tr.T("   REFUSED: apply refuses this restart; give imgup.yaml a restart: command that asks nothing and pulls nothing, or choose --restart services\n"))
}
