package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
)

// Request is an update as a front end asks for it: the files, and how to plan it.
type Request struct {
	// Files are archives, bundles or folders of them.
	Files []string
	// Services narrows the update (NAME or STACK/NAME); none means every user of an image.
	Services []string
	// ConfigKeys maps an image name to its .systemconfig key (over imgup.yaml's).
	ConfigKeys map[string]string
	Restart    string
	// Trust are public key files to trust for bundles (none: <root>/.imgup/trusted);
	// AllowUnsigned accepts an unsigned or untrusted bundle, with a warning.
	Trust         []string
	AllowUnsigned bool
	// Load, for apply, streams each archive to the engine while it is read for the
	// plan, deferred: the engine loads it only when Apply runs, so it is read once.
	// An interrupted update is then refused instead of warned about.
	Load bool
	// Reading is told an archive is being read (verb, path, size) and returns what
	// counts the bytes read and what is told it ended; nil shows nothing.
	Reading func(verb, path string, total int64) (count func(int64), done func(ok bool))
	// Notice is told what the operator should know (nil: nothing).
	Notice func(Notice)
}

// Notice is a line for the operator: a note, or a warning. Text is the English; Msg,
// when set, says it in the operator's language.
type Notice struct {
	Warning bool
	Text    string
	Msg     i18n.Message
}

// In is the notice in tr's language.
func (n Notice) In(tr *i18n.Printer) string {
	if n.Msg.Format == "" {
		return n.Text
	}
	return archive.Safe(n.Msg.In(tr))
}

func notice(warn bool, m i18n.Message) Notice {
	return Notice{Warning: warn, Text: archive.Safe(m.String()), Msg: m}
}

// Prepared is a snapshot with the archives read and the plan made from them. The
// caller closes it; closing abandons the loads Apply did not finish.
type Prepared struct {
	*Snapshot
	Archives []*archive.Archive
	Bundles  []*bundle.Bundle
	Plan     *plan.Plan
	// started are the deferred loads by archive path.
	started map[string]*apply.Loading
}

// Close abandons the loads Apply did not finish and closes the snapshot.
func (p *Prepared) Close() error {
	for _, l := range p.started {
		l.Abort()
	}
	return p.Snapshot.Close()
}

// Apply runs the prepared plan, finishing the loads its read began.
func (p *Prepared) Apply(ctx context.Context, o apply.Options) (*apply.Outcome, error) {
	o.Started = p.started
	return p.Snapshot.Apply(ctx, p.Plan, o)
}

// Prepare observes the deployment and the engine, reads the request's archives and
// bundles (checking each bundle's signature), and makes the plan. Nothing changes.
func (svc *Service) Prepare(ctx context.Context, t Target, r Request) (*Prepared, error) {
	say := func(n Notice) {
		if r.Notice != nil {
			r.Notice(n)
		}
	}
	if err := plan.CheckRestart(r.Restart); err != nil {
		return nil, err
	}
	s, err := svc.Observe(ctx, t, false)
	if err != nil {
		return nil, err
	}
	p := &Prepared{Snapshot: s, started: map[string]*apply.Loading{}}
	fail := func(err error) (*Prepared, error) {
		p.Close()
		return nil, err
	}
	for _, w := range s.Deployment.Warnings {
		say(Notice{Text: archive.Safe(w)})
	}
	if rec, err := s.Interrupted(); err != nil {
		return fail(err)
	} else if rec != nil {
		msg := InterruptedMessage(s.Deployment.Root, rec)
		if r.Load {
			return fail(i18n.Errorf("%s — then apply again", msg))
		}
		say(notice(true, msg))
	}
	files, skipped, err := archive.Sources(r.Files)
	if err != nil {
		return fail(err)
	}
	for _, f := range skipped {
		say(notice(false, i18n.Msg("skipping %s: not an image archive", f)))
	}
	var have *archive.Inventory
	if r.Load {
		inv, note, err := apply.Inventory(ctx, s.Engine)
		if err != nil {
			return fail(err)
		}
		if note != "" {
			say(Notice{Text: archive.Safe(note)})
		}
		have = inv
	}
	var trust *bundle.Trust
	for _, file := range files {
		var b *bundle.Bundle
		if bundle.IsBundle(file) {
			if trust == nil {
				if trust, err = bundle.LoadTrust(s.Deployment.Root, r.Trust); err != nil {
					return fail(err)
				}
			}
			if b, err = bundle.Open(file, bundle.OpenOptions{Trust: trust, AllowUnsigned: r.AllowUnsigned}); err != nil {
				return fail(err)
			}
			if n, ok := Unsigned(file, b); ok {
				say(n)
			}
			p.Bundles = append(p.Bundles, b)
		}
		a, err := p.read(ctx, r, file, b, have, func(n string) { say(Notice{Text: archive.Safe(n)}) })
		if err != nil {
			return fail(err)
		}
		p.Archives = append(p.Archives, a)
	}
	for _, n := range ArchiveNotices(p.Archives) {
		say(n)
	}
	if p.Plan, err = s.Plan(ctx, PlanOptions{Archives: p.Archives, Bundles: p.Bundles, Have: have, Services: r.Services, ConfigKeys: r.ConfigKeys, Restart: r.Restart}); err != nil {
		return fail(err)
	}
	return p, nil
}

// read reads one archive or bundle for the plan; for apply it also streams it to the
// engine, deferred.
func (p *Prepared) read(ctx context.Context, r Request, file string, b *bundle.Bundle, have *archive.Inventory, note func(string)) (*archive.Archive, error) {
	verb := "reading"
	if b != nil {
		verb = "verifying"
	}
	count, done := func(int64) {}, func(bool) {}
	if r.Reading != nil {
		var size int64
		if st, err := os.Stat(file); err == nil {
			size = st.Size()
		}
		count, done = r.Reading(verb, file, size)
	}
	var a *archive.Archive
	var err error
	switch {
	case r.Load:
		var l *apply.Loading
		l, err = apply.StartLoad(ctx, p.Engine, file, apply.LoadOptions{Progress: count, Have: have, Bundle: b, Defer: true, Digest: true, Note: note})
		if err == nil {
			p.started[file], a = l, l.Archive
		}
	case b != nil:
		a, err = b.Read(ctx, count)
	default:
		a, err = archive.Read(ctx, file, archive.Options{Progress: count, Digest: true})
	}
	done(err == nil)
	return a, err
}

// Fingerprint identifies a plan: the same deployment state, archives (by digest) and
// choices give the same fingerprint. A front end that shows a plan and applies it in
// a later request checks that what it applies is what the operator saw.
func Fingerprint(p *plan.Plan) string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Unsigned says, for a bundle accepted without a trusted signature, why the operator
// should worry.
func Unsigned(path string, b *bundle.Bundle) (Notice, bool) {
	if b.Signature.Verified {
		return Notice{}, false
	}
	if b.Signature.KeyID != "" {
		return notice(true, i18n.Msg("%s: it is signed by key %s, which is NOT TRUSTED here; accepted only because of --allow-unsigned", path, b.Signature.KeyID)), true
	}
	return notice(true, i18n.Msg("%s: it is NOT SIGNED; accepted only because of --allow-unsigned", path)), true
}

// ArchiveNotices are what an operator should know of the archives read, that is no
// error: images saved by ID, files ignored.
func ArchiveNotices(archives []*archive.Archive) []Notice {
	var out []Notice
	for _, a := range archives {
		for _, img := range a.Images() {
			if len(img.Refs) == 0 {
				out = append(out, notice(true, i18n.Msg("%s: image %s has no name (it was saved by ID); after loading, name it with: docker tag %s NAME:TAG", a.Path, engine.ShortID(img.ID), engine.ShortID(img.ID))))
			}
		}
		if len(a.Ignored) > 0 {
			out = append(out, notice(false, i18n.Msg("%s: ignored files that are not image archives: %s", a.Path, strings.Join(a.Ignored, ", "))))
		}
	}
	return out
}
