package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/event"
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
	// Emit is the operation's one event stream: reading progress (a stage-started
	// event per archive, then read events), notes and warnings (note events), and,
	// when the plan is applied, everything Apply emits. nil shows nothing.
	Emit func(Event)
}

// note is a note (or, warn, a warning) event saying m.
func note(warn bool, m i18n.Message) Event {
	return event.Said(Event{Kind: EvNote, Warning: warn, Time: time.Now()}, m)
}

// plain is a note event of text that is not translated (a deployment's own words).
func plain(text string) Event { return Event{Kind: EvNote, Text: text, Time: time.Now()} }

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
	say := func(e Event) {
		if r.Emit != nil {
			r.Emit(e)
		}
	}
	if err := plan.CheckRestart(r.Restart); err != nil {
		return nil, err
	}
	// A mistyped archive is said before the engine is asked anything.
	files, skipped, err := archive.Sources(r.Files)
	if err != nil {
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
	for _, w := range s.d.Warnings {
		say(plain(w))
	}
	if rec, err := s.Interrupted(); err != nil {
		return fail(err)
	} else if rec != nil {
		msg := InterruptedMessage(s.d.Root, rec)
		if r.Load {
			return fail(i18n.Errorf("%s — then apply again", msg))
		}
		say(note(true, msg))
	}
	for _, f := range skipped {
		say(note(false, i18n.Msg("skipping %s: not an image archive", f)))
	}
	var have *archive.Inventory
	if r.Load {
		inv, n, err := apply.Inventory(ctx, s.eng)
		if err != nil {
			return fail(err)
		}
		if n != "" {
			say(plain(n))
		}
		have = inv
	}
	var trust *bundle.Trust
	for _, file := range files {
		var b *bundle.Bundle
		if bundle.IsBundle(file) {
			if trust == nil {
				if trust, err = bundle.LoadTrust(s.d.Root, r.Trust); err != nil {
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
		a, err := p.read(ctx, r, file, b, have)
		if err != nil {
			return fail(err)
		}
		p.Archives = append(p.Archives, a)
	}
	for _, n := range ArchiveNotices(p.Archives) {
		say(n)
	}
	sends := p.sends()
	if cl, ok := s.eng.(*engine.Cluster); ok && sends == nil {
		// No read streamed to the nodes (plan, the console's plan page, or apply's one
		// stream to all): what each is sent is worked out without streaming.
		if sends, err = planSends(ctx, cl, p.Archives, p.Bundles); err != nil {
			return fail(err)
		}
	}
	if p.Plan, err = s.Plan(ctx, PlanOptions{Archives: p.Archives, Bundles: p.Bundles, Have: have, Services: r.Services, ConfigKeys: r.ConfigKeys, Restart: r.Restart, Sends: sends}); err != nil {
		return fail(err)
	}
	return p, nil
}

// read reads one archive or bundle for the plan; for apply it also streams it to the
// engine, deferred.
func (p *Prepared) read(ctx context.Context, r Request, file string, b *bundle.Bundle, have *archive.Inventory) (*archive.Archive, error) {
	verb := "reading"
	if b != nil {
		verb = "verifying"
	}
	count, done := event.Reader(r.Emit, "read", verb, file, fileSize(file))
	var a *archive.Archive
	var err error
	switch {
	case r.Load:
		var l *apply.Loading
		l, err = apply.StartLoad(ctx, p.eng, file, apply.LoadOptions{Progress: count, Have: have, Bundle: b, Defer: true, Digest: true, Emit: r.Emit})
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
	// What each swarm node will be sent is a figure (the plan page's worked out, apply's
	// from its own streams), not part of what was confirmed.
	if len(p.Nodes) > 0 {
		c := *p
		c.Nodes = slices.Clone(p.Nodes)
		for i := range c.Nodes {
			c.Nodes[i].Send = nil
		}
		p = &c
	}
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Unsigned says, for a bundle accepted without a trusted signature, why the operator
// should worry.
func Unsigned(path string, b *bundle.Bundle) (Event, bool) {
	if b.Signature.Verified {
		return Event{}, false
	}
	if b.Signature.KeyID != "" {
		return note(true, i18n.Msg("%s: it is signed by key %s, which is NOT TRUSTED here; accepted only because of --allow-unsigned", path, b.Signature.KeyID)), true
	}
	return note(true, i18n.Msg("%s: it is NOT SIGNED; accepted only because of --allow-unsigned", path)), true
}

// ArchiveNotices are what an operator should know of the archives read, that is no
// error: images saved by ID, files ignored.
func ArchiveNotices(archives []*archive.Archive) []Event {
	var out []Event
	for _, a := range archives {
		for _, img := range a.Images() {
			if len(img.Refs) == 0 {
				out = append(out, note(true, i18n.Msg("%s: image %s has no name (it was saved by ID); after loading, name it with: docker tag %s NAME:TAG", a.Path, engine.ShortID(img.ID), engine.ShortID(img.ID))))
			}
		}
		if len(a.Ignored) > 0 {
			out = append(out, note(false, i18n.Msg("%s: ignored files that are not image archives: %s", a.Path, strings.Join(a.Ignored, ", "))))
		}
	}
	return out
}

// fileSize is a file's size, or 0 when it cannot be told.
func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// sends are what the started loads send each swarm node, summed over the archives
// (none off a swarm).
func (p *Prepared) sends() map[string]plan.Send {
	var out map[string]plan.Send
	for _, l := range p.started {
		for _, n := range l.Nodes() {
			if out == nil {
				out = map[string]plan.Send{}
			}
			s := out[n.Node]
			s.Bytes += n.Bytes
			s.Total += n.Total
			s.OmittedLayers += n.Omitted
			s.OmittedBytes += n.OmittedBytes
			s.Full = s.Full || n.Full
			out[n.Node] = s
		}
	}
	return out
}
