package cli

import (
	"encoding/json"
	"fmt"

	"github.com/encoo-tools/imgup/internal/update"
)

// eventRenderer shows an operation's one event stream as it happens, on stderr:
// progress bars (or before-and-after lines) while archives are read or loaded, a line
// for each step, note and warning, and each line the restart prints; with --json,
// every event as one JSON line. Results stay on stdout. Text from files, archives and
// the engine is escaped here, where it is written.
type eventRenderer struct {
	env    *Env
	asJSON bool
	bars   map[string]reading
	read   map[string]int64
}

func newEventRenderer(env *Env, asJSON bool) func(update.Event) {
	r := &eventRenderer{env: env, asJSON: asJSON, bars: map[string]reading{}, read: map[string]int64{}}
	return r.show
}

// show is called one event at a time (the service serialises them).
func (r *eventRenderer) show(e update.Event) {
	if r.asJSON {
		b, _ := json.Marshal(e)
		fmt.Fprintf(r.env.Stderr, "%s\n", b)
		return
	}
	key := e.Stage + "\x00" + e.Archive
	switch e.Kind {
	case update.EvStageStarted:
		if e.Verb != "" {
			r.bars[key] = startReading(r.env, e.Verb, e.Archive, e.Total)
			return
		}
		if e.Text != "" {
			fmt.Fprintf(r.env.Stderr, "%s\n", update.Safe(e.In(r.env.tr())))
		}
	case update.EvRead:
		if b, ok := r.bars[key]; ok {
			b.count(e.Bytes - r.read[key])
			r.read[key] = e.Bytes
		}
	case update.EvStageFinished:
		if b, ok := r.bars[key]; ok {
			b.done(e.OK)
			delete(r.bars, key)
			delete(r.read, key)
		}
	case update.EvNote:
		text := update.Safe(e.In(r.env.tr()))
		switch {
		case e.Warning:
			r.env.tr().Fprintf(r.env.Stderr, "imgup: warning: %s\n", text)
		case e.Stage == "":
			// A notice of the operation as a whole (reading the deployment, the archives).
			r.env.tr().Fprintf(r.env.Stderr, "imgup: note: %s\n", text)
		default:
			// A line of a step under way.
			fmt.Fprintf(r.env.Stderr, "%s\n", text)
		}
	case update.EvOutput:
		fmt.Fprintf(r.env.Stderr, "  %s| %s\n", update.Safe(e.Source), update.Safe(e.Text))
	}
	// Loaded images, edited files, service states, downtime and verified rows are in
	// the final table (and the JSON result); the text view does not repeat them.
}
