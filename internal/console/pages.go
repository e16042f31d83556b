package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/update"
)

// page is what every page template gets besides its own data.
type page struct {
	tr    *i18n.Printer
	Lang  string
	Title string
	Nav   string
	CSRF  string
	Root  string
	Error string
	Next  string
	// Busy is an apply or rollback at work: this console's job, or another imgup's.
	Busy *busy
	Data any
}

type busy struct {
	Job    *job
	Holder *update.Holder
	Record *update.Record
}

// Printer is the page's printer (for data that renders itself in a language).
func (p page) Printer() *i18n.Printer { return p.tr }

// BusyText says who is at work, in the reader's language.
func (p page) BusyText() string {
	b := p.Busy
	if b == nil {
		return ""
	}
	if b.Job != nil {
		return p.tr.Sprintf("%s is running in this console", b.Job.title(p.tr))
	}
	t := p.tr.Sprintf("%s (pid %d, started %s) is changing this deployment", b.Holder.Command, b.Holder.PID, b.Holder.Started.Local().Format("15:04:05"))
	if b.Record != nil {
		t += p.tr.Sprintf("; its record %s says: %s", b.Record.ID, b.Record.State)
	}
	return t
}

// jsText are the texts console.js shows, in the reader's language.
var jsText = []string{"starting…", "resuming at %s", "the connection broke: %s", "the connection broke at %s of %s: %s",
	"image/%s is already on the server", "%s of %s · %s/s · %s left", "✔ received in %s · sha256 ", "Plan with %s →",
	"Resume", " (or drop the same file again)", "loaded: %s", "already loaded: %s", "wrote %s", "%s was down %s",
	"✔ %s runs %s", "finished", "failed: %s", "done · %s", "%s: %s", "%s of %s · %s/s", "restart", "verify", "write", "undo", "record"}

// JSText is the translations of jsText as JSON, for console.js.
func (p page) JSText() template.JS {
	m := map[string]string{}
	for _, s := range jsText {
		m[s] = p.tr.T(s)
	}
	b, _ := json.Marshal(m)
	return template.JS(b)
}

var funcs = template.FuncMap{
	"short": update.ShortID,
	"human": update.Human,
	"when":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"since": func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(filepath.Base(n), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, err
		}
		out[base] = t
	}
	return out, nil
}

func withSession(r *http.Request, ss *session) context.Context {
	return context.WithValue(r.Context(), ctxKey{}, ss)
}

func csrfOf(r *http.Request) string {
	if ss, ok := r.Context().Value(ctxKey{}).(*session); ok {
		return ss.csrf
	}
	return ""
}

// T translates a text of a page into the reader's language.
func (p page) T(text string) string { return p.tr.T(text) }

// Tf formats a text of a page in the reader's language.
func (p page) Tf(format string, args ...any) string { return p.tr.Sprintf(format, args...) }

// Err is an error in the reader's language.
func (p page) Err(err error) string { return i18n.Localize(p.tr, err) }

// langOf is the reader's language: ?lang= (remembered in a cookie), else the cookie,
// else the browser's Accept-Language.
func langOf(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == i18n.Chinese || l == i18n.English {
		http.SetCookie(w, &http.Cookie{Name: "imgup_lang", Value: l, Path: "/", SameSite: http.SameSiteStrictMode, MaxAge: 365 * 24 * 3600})
		return l
	}
	if c, err := r.Cookie("imgup_lang"); err == nil && (c.Value == i18n.Chinese || c.Value == i18n.English) {
		return c.Value
	}
	return i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// render writes a page; everything in it is escaped by html/template.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, data any, p page) {
	p.CSRF, p.Root, p.Data = csrfOf(r), s.o.Root, data
	p.Lang = langOf(w, r)
	p.tr = i18n.New(p.Lang)
	p.Title = p.tr.T(p.Title)
	if p.Error != "" {
		p.Error = p.tr.T(p.Error)
	}
	if p.Nav == "" {
		p.Nav = name
	}
	if name != "login" && p.Busy == nil {
		p.Busy = s.busy()
	}
	var b bytes.Buffer
	if err := s.pages[name].Execute(&b, p); err != nil {
		s.o.Log.Error("console: rendering a page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// fail shows an error page: one line naming the problem, and what to do.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, nav string, err error) {
	s.render(w, r, code, "error", nil, page{Title: "Error", Nav: nav, Error: update.Safe(i18n.Localize(i18n.New(langOf(w, r)), err))})
}

// busy says whether an apply or rollback is at work on the deployment: this console's
// job, or another imgup (a shell) holding the lock, with its record's state.
func (s *Server) busy() *busy {
	if j := s.jobs.current(); j != nil {
		return &busy{Job: j}
	}
	h, held := update.Busy(s.o.Root)
	if !held {
		return nil
	}
	b := &busy{Holder: h}
	if recs, err := update.Records(s.o.Root); err == nil {
		for _, r := range recs {
			if r.Unfinished() {
				b.Record = r
				break
			}
		}
	}
	return b
}

// overview is the status table, its findings and their fixes.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	snap, err := s.o.Service.Observe(r.Context(), s.o.Target, true)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "overview", err)
		return
	}
	defer snap.Close()
	rep, err := snap.Status()
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "overview", err)
		return
	}
	s.render(w, r, http.StatusOK, "overview", struct {
		Report   *update.Report
		Warnings []string
	}{rep, snap.Warnings()}, page{Title: "Overview"})
}

// archiveFile is a file in <root>/image/ the operator can plan with.
type archiveFile struct {
	Name     string
	Size     int64
	Modified time.Time
	Bundle   bool
}

func (s *Server) archives() []archiveFile {
	ents, err := os.ReadDir(s.imageDir())
	if err != nil {
		return nil
	}
	var out []archiveFile
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, archiveFile{Name: e.Name(), Size: fi.Size(), Modified: fi.ModTime(), Bundle: strings.HasSuffix(e.Name(), ".bundle")})
	}
	slices.SortFunc(out, func(a, b archiveFile) int { return b.Modified.Compare(a.Modified) })
	return out
}

type partial struct {
	Name string
	Have int64
}

func (s *Server) uploadPage(w http.ResponseWriter, r *http.Request) {
	var parts []partial
	if ents, err := os.ReadDir(s.uploadDir()); err == nil {
		for _, e := range ents {
			if n, ok := strings.CutSuffix(e.Name(), ".part"); ok && e.Type().IsRegular() {
				if fi, err := e.Info(); err == nil {
					parts = append(parts, partial{n, fi.Size()})
				}
			}
		}
	}
	s.render(w, r, http.StatusOK, "upload", struct {
		Files     []archiveFile
		Partial   []partial
		MaxUpload int64
		MaxChunk  int64
	}{s.archives(), parts, s.o.MaxUpload, s.o.MaxChunk}, page{Title: "Upload"})
}

// request turns a plan or apply form into the service's request: files are names in
// <root>/image/, never paths.
func (s *Server) request(r *http.Request) (update.Request, []string, error) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return update.Request{}, nil, err
		}
		q = r.PostForm
	}
	var names, files []string
	for _, f := range q["file"] {
		name, err := cleanName(f)
		if err != nil {
			return update.Request{}, nil, err
		}
		p := filepath.Join(s.imageDir(), name)
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			return update.Request{}, nil, i18n.Errorf("image/%s is not a file on the server (upload it first)", name)
		}
		names, files = append(names, name), append(files, p)
	}
	if len(files) == 0 {
		return update.Request{}, nil, i18n.Errorf("pick at least one archive or bundle from image/")
	}
	restart := q.Get("restart")
	if restart == "" {
		restart = update.RestartAuto
	}
	if err := update.CheckRestart(restart); err != nil {
		return update.Request{}, nil, err
	}
	var services []string
	for _, sv := range q["service"] {
		if sv = strings.TrimSpace(sv); sv != "" {
			services = append(services, sv)
		}
	}
	return update.Request{Files: files, Services: services, Restart: restart, AllowUnsigned: q.Get("allow_unsigned") == "on"}, names, nil
}

// diffLine is one file edit as the plan page shows it: the whole line before and after,
// with the bytes that change marked.
type diffLine = update.DiffLine

// planView is the plan page's data.
type planView struct {
	Plan        *update.Plan
	Diff        []diffLine
	Fingerprint string
	Files       []string
	Notices     []update.Event
	Restart     string
	Services    []string
	Unsigned    bool
	Available   []archiveFile
}

// Picked says whether the plan was made with the file name.
func (v planView) Picked(name string) bool { return slices.Contains(v.Files, name) }

// Methods are the restart methods to choose from: the registry's.
func (v planView) Methods() []update.RestartChoice { return update.RestartChoices() }

func (s *Server) planPage(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()["file"]) == 0 {
		s.render(w, r, http.StatusOK, "plan", planView{Available: s.archives()}, page{Title: "Plan"})
		return
	}
	req, names, err := s.request(r)
	if err != nil {
		s.render(w, r, http.StatusBadRequest, "plan", planView{Available: s.archives()}, page{Title: "Plan", Error: i18n.Localize(i18n.New(langOf(w, r)), err)})
		return
	}
	var notices []update.Event
	req.Emit = func(e update.Event) {
		if e.Kind == update.EvNote {
			notices = append(notices, e)
		}
	}
	pr, err := s.o.Service.Prepare(r.Context(), s.o.Target, req)
	if err != nil {
		s.render(w, r, http.StatusUnprocessableEntity, "plan", planView{Available: s.archives(), Files: names}, page{Title: "Plan", Error: update.Safe(i18n.Localize(i18n.New(langOf(w, r)), err))})
		return
	}
	defer pr.Close()
	s.render(w, r, http.StatusOK, "plan", planView{Plan: pr.Plan, Diff: update.Diff(pr.Plan), Fingerprint: update.Fingerprint(pr.Plan), Files: names,
		Notices: notices, Restart: req.Restart, Services: req.Services, Unsigned: req.AllowUnsigned, Available: s.archives()}, page{Title: "Plan"})
}

// startApply starts the apply job for the plan the operator saw: it reads the
// archives again, streaming them to the engine, and stops before any change when the
// plan is not the one confirmed (fingerprint).
func (s *Server) startApply(w http.ResponseWriter, r *http.Request) {
	req, names, err := s.request(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "plan", err)
		return
	}
	want := r.PostFormValue("fingerprint")
	req.Load = true
	j, ok := s.jobs.start(s.base, "apply", strings.Join(names, ", "), func(ctx context.Context, j *job) (string, []update.Row, error) {
		req.Emit = j.emit
		pr, err := s.o.Service.Prepare(ctx, s.o.Target, req)
		if err != nil {
			return "", nil, err
		}
		defer pr.Close()
		if got := update.Fingerprint(pr.Plan); got != want {
			return "", nil, i18n.Errorf("the plan is not the one you confirmed: the archives or the deployment changed since; nothing was changed. Open the plan again, read it, and apply that")
		}
		if pr.Plan.UpToDate() {
			j.emit(update.Said(update.Event{Kind: update.EvNote}, i18n.Msg("already up to date: nothing to do")))
			return "", nil, nil
		}
		out, err := pr.Apply(ctx, update.ApplyOptions{Timeout: 3 * time.Minute, Command: s.o.Command, Events: j.emit})
		return s.outcome(ctx, pr.Snapshot, pr.Plan, out, err)
	})
	if !ok {
		s.render(w, r, http.StatusConflict, "error", nil, page{Title: "Busy", Nav: "plan", Error: i18n.New(langOf(w, r)).Sprintf("%s is running; wait for it to end", j.title(i18n.New(langOf(w, r))))})
		return
	}
	s.o.Log.Info("console: apply started", "job", j.ID, "files", names)
	http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
}

// outcome is an apply's or rollback's result as a job keeps it: the record and the
// final table.
func (s *Server) outcome(ctx context.Context, snap *update.Snapshot, p *update.Plan, out *update.Outcome, err error) (string, []update.Row, error) {
	rows := snap.Final(ctx, p, out)
	if out != nil && out.Restored {
		for _, r := range out.Failed {
			r.Problem = "the failed attempt, undone: the rows above show what runs now"
			rows = append(rows, r)
		}
	}
	id := ""
	if out != nil && out.Record != nil {
		id = out.Record.ID
	}
	return id, rows, err
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		s.fail(w, r, http.StatusNotFound, "history", i18n.Errorf("no such job in this console (it keeps the last 50 since it started); see the history"))
		return
	}
	done, rec, rows, jerr := j.state()
	errText := i18n.Localize(i18n.New(langOf(w, r)), jerr)
	s.render(w, r, http.StatusOK, "job", struct {
		Job    *job
		Done   bool
		Record string
		Rows   []update.Row
		Err    string
	}{j, done, rec, rows, errText}, page{Title: j.title(i18n.New(langOf(w, r))), Nav: "job"})
}

// jobEvents streams a job's events as server-sent events, from the start (or from
// Last-Event-ID after a reconnect), until the job ends or the browser goes.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		http.Error(w, "no such job", http.StatusNotFound)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	next := 0
	fmt.Sscan(r.Header.Get("Last-Event-ID"), &next)
	next = j.clamp(next) // the browser's word: never before the first event or past the last
	tr := i18n.New(langOf(w, r))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		evs, done, changed := j.since(next)
		for _, e := range evs {
			next++
			if e.Msg.Format != "" {
				e.Text = e.Msg.In(tr)
			}
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", next, b)
		}
		fl.Flush()
		if done {
			return // since gave every event there will be
		}
		select {
		case <-changed:
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) historyPage(w http.ResponseWriter, r *http.Request) {
	recs, err := update.Records(s.o.Root)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, "history", err)
		return
	}
	s.render(w, r, http.StatusOK, "history", recs, page{Title: "History"})
}

func (s *Server) record(id string) (*update.Record, error) {
	recs, err := update.Records(s.o.Root)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if rec.ID == id {
			return rec, nil
		}
	}
	return nil, i18n.Errorf("no update %s in %s", id, filepath.Join(update.StateDir(s.o.Root), "history"))
}

// report downloads an update's report: markdown for the vendor, or the masked record.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	rec, err := s.record(r.PathValue("id"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if strings.HasSuffix(r.URL.Path, ".json") {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="imgup-%s.json"`, rec.ID))
		writeJSON(w, http.StatusOK, rec.Masked())
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="imgup-%s.md"`, rec.ID))
	fmt.Fprint(w, rec.MarkdownIn(i18n.New(langOf(w, r))))
}

// rollbackPage shows what undoing an update would do, to confirm.
func (s *Server) rollbackPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	snap, err := s.o.Service.Observe(r.Context(), s.o.Target, false)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "history", err)
		return
	}
	defer snap.Close()
	rb, err := snap.PlanRollback(r.Context(), update.RollbackOptions{ID: id})
	if err != nil {
		s.fail(w, r, http.StatusUnprocessableEntity, "history", err)
		return
	}
	s.render(w, r, http.StatusOK, "rollback", struct {
		Of          *update.Record
		Describe    string
		Plan        *update.Plan
		Diff        []diffLine
		Fingerprint string
	}{rb.Of, update.Describe(rb.Of), rb.Plan, update.Diff(rb.Plan), update.Fingerprint(rb.Plan)}, page{Title: "Roll back", Nav: "history"})
}

func (s *Server) startRollback(w http.ResponseWriter, r *http.Request) {
	id, want := r.PostFormValue("id"), r.PostFormValue("fingerprint")
	j, ok := s.jobs.start(s.base, "rollback", id, func(ctx context.Context, j *job) (string, []update.Row, error) {
		snap, err := s.o.Service.Observe(ctx, s.o.Target, false)
		if err != nil {
			return "", nil, err
		}
		defer snap.Close()
		rb, err := snap.PlanRollback(ctx, update.RollbackOptions{ID: id})
		if err != nil {
			return "", nil, err
		}
		if update.Fingerprint(rb.Plan) != want {
			return "", nil, i18n.Errorf("the rollback plan is not the one you confirmed: the deployment changed since; nothing was changed. Open the rollback again")
		}
		j.emit(update.Event{Kind: update.EvNote, Text: update.Describe(rb.Of)})
		out, err := snap.Rollback(ctx, rb, update.ApplyOptions{Timeout: 3 * time.Minute, Command: s.o.Command + " (rollback)", Events: j.emit})
		if out == nil && err == nil {
			j.emit(update.Said(update.Event{Kind: update.EvNote}, i18n.Msg("nothing to undo: the files and containers are as before the update; it is marked undone")))
			return "", nil, nil
		}
		return s.outcome(ctx, snap, rb.Plan, out, err)
	})
	if !ok {
		s.render(w, r, http.StatusConflict, "error", nil, page{Title: "Busy", Nav: "history", Error: i18n.New(langOf(w, r)).Sprintf("%s is running; wait for it to end", j.title(i18n.New(langOf(w, r))))})
		return
	}
	s.o.Log.Info("console: rollback started", "job", j.ID, "update", id)
	http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
}
