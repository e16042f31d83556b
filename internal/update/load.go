package update

import (
	"context"
	"strings"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Inspect reads archives (files, or folders of them) without loading anything. Files
// that are not archives, and what the operator should know of those read, are note
// events; reading progress is on emit too.
func Inspect(ctx context.Context, args []string, emit func(Event)) ([]*Archive, error) {
	files, err := sources(args, emit)
	if err != nil {
		return nil, err
	}
	var out []*Archive
	for _, f := range files {
		count, done := event.Reader(emit, "read", "reading", f, fileSize(f))
		a, err := archive.Read(ctx, f, archive.Options{Progress: count, Digest: true})
		done(err == nil)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	tell(emit, ArchiveNotices(out)...)
	return out, nil
}

// sources expands archive arguments (files, folders), telling which files it skips.
func sources(args []string, emit func(Event)) ([]string, error) {
	files, skipped, err := archive.Sources(args)
	if err != nil {
		return nil, err
	}
	for _, f := range skipped {
		tell(emit, note(false, i18n.Msg("skipping %s: not an image archive", f)))
	}
	return files, nil
}

func tell(emit func(Event), evs ...Event) {
	if emit == nil {
		return
	}
	for _, e := range evs {
		emit(e)
	}
}

// LoadRequest is runbook step 1 alone: archives (or bundles, checked against Trust)
// into the engine.
type LoadRequest struct {
	Files []string
	Trust Trust
	// AllLayers sends every layer, even those the engine has (no delta load).
	AllLayers bool
}

// LoadResult is one archive loaded.
type LoadResult struct {
	Archive string   `json:"archive"`
	Form    string   `json:"form"`
	Images  []Loaded `json:"images"`
	// Sent is the bytes of tar sent to the engine (less than the archive's tar when a
	// delta load left out layers the engine has); Saved says it in a line.
	Sent  int64  `json:"sent_bytes"`
	Saved string `json:"-"`
	// Nodes, on a swarm, are what each node was sent (its own delta).
	Nodes []apply.NodeSend `json:"nodes,omitempty"`
	// Form in the reader's language is FormIn; the archive itself for notices.
	read *archive.Archive
}

// FormIn is the archive's form in tr's language.
func (r LoadResult) FormIn(tr *i18n.Printer) string { return r.read.FormIn(tr) }

// Load streams each archive into the engine, one after another, sending only the
// layers the engine lacks; images already there under their names are skipped. When a
// later archive is refused the earlier ones stay loaded (loading only adds images).
// Progress and notes are on emit.
func (svc *Service) Load(ctx context.Context, r LoadRequest, emit func(Event)) ([]LoadResult, error) {
	files, err := sources(r.Files, emit)
	if err != nil {
		return nil, err
	}
	eng, err := svc.dial(ctx)
	if err != nil {
		return nil, err
	}
	// On a swarm manager, the images go to every node imgup.yaml lets it reach.
	root := r.Trust.Root
	if root == "" {
		root = "."
	}
	if eng, _, _, err = svc.swarm(ctx, eng, root); err != nil {
		eng.Close()
		return nil, err
	}
	defer eng.Close()
	var have *archive.Inventory
	if !r.AllLayers {
		inv, n, err := apply.Inventory(ctx, eng)
		if err != nil {
			return nil, err
		}
		if n != "" {
			tell(emit, plain(n))
		}
		have = inv
	}
	var results []LoadResult
	var archives []*archive.Archive
	for _, f := range files {
		lo := apply.LoadOptions{Have: have, Emit: emit}
		if bundle.IsBundle(f) {
			if lo.Bundle, err = openBundle(r.Trust, f, emit); err != nil {
				return results, err
			}
		}
		count, done := event.Reader(emit, "load", "loading", f, fileSize(f))
		lo.Progress = count
		a, loaded, nodes, err := apply.LoadNodes(ctx, eng, f, lo)
		done(err == nil)
		if err != nil {
			return results, err
		}
		archives = append(archives, a)
		var sent int64
		for _, p := range a.Parts {
			sent += p.Sent
		}
		saved := apply.Sent(a)
		if len(nodes) > 0 {
			// A swarm: each node got its own stream; Sent is their sum.
			sent = 0
			var lines []string
			for _, n := range nodes {
				sent += n.Bytes
				lines = append(lines, apply.SentTo(a, n))
			}
			saved = strings.Join(lines, "\n")
		}
		results = append(results, LoadResult{Archive: f, Form: a.Form(), Images: loaded, Sent: sent, Saved: saved, Nodes: nodes, read: a})
	}
	tell(emit, ArchiveNotices(archives)...)
	return results, nil
}
