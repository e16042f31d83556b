package cli

import (
	"encoding/json"
	"fmt"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
)

// eventRenderer shows an update's events as they happen, on stderr: progress bars
// (or before-and-after lines) while archives load, and a line for each step and each
// line the restart prints; with --json, every event as one JSON line. Results stay on
// stdout.
type eventRenderer struct {
	env    *Env
	asJSON bool
	bars   map[string]reading
	read   map[string]int64
}

func newEventRenderer(env *Env, asJSON bool) func(apply.Event) {
	r := &eventRenderer{env: env, asJSON: asJSON, bars: map[string]reading{}, read: map[string]int64{}}
	return r.show
}

// text is the event's line in the operator's language.
func (r *eventRenderer) text(e apply.Event) string {
	if e.Msg.Format != "" {
		return e.Msg.In(r.env.tr())
	}
	return e.Text
}

// show is called one event at a time (apply serialises them).
func (r *eventRenderer) show(e apply.Event) {
	if r.asJSON {
		b, _ := json.Marshal(e)
		fmt.Fprintf(r.env.Stderr, "%s\n", b)
		return
	}
	switch e.Kind {
	case apply.EvStageStarted:
		if e.Stage == "load" {
			r.bars[e.Archive] = startReading(r.env, "loading", e.Archive, e.Total)
		}
		if e.Text != "" {
			fmt.Fprintf(r.env.Stderr, "%s\n", archive.Safe(r.text(e)))
		}
	case apply.EvRead:
		if b, ok := r.bars[e.Archive]; ok {
			b.count(e.Bytes - r.read[e.Archive])
			r.read[e.Archive] = e.Bytes
		}
	case apply.EvStageFinished:
		if b, ok := r.bars[e.Archive]; ok && e.Stage == "load" {
			b.done(e.OK)
			delete(r.bars, e.Archive)
		}
	case apply.EvNote:
		fmt.Fprintf(r.env.Stderr, "%s\n", archive.Safe(r.text(e)))
	case apply.EvOutput:
		fmt.Fprintf(r.env.Stderr, "  %s| %s\n", e.Source, archive.Safe(e.Text))
	}
	// Loaded images, edited files, service states, downtime and verified rows are in
	// the final table (and the JSON result); the text view does not repeat them.
}
