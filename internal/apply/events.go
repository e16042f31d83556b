package apply

import (
	"sync"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// Event is one thing that happened while an update or a rollback ran, for a front end
// to show as it happens: the CLI renders progress bars and lines (or, with --json,
// writes each event as a JSON line); a web console renders live rows. Events are only
// news: the Outcome and the record hold the result.
type Event struct {
	Kind string    `json:"event"`
	Time time.Time `json:"time"`
	// Stage is load, write, restart, verify or undo.
	Stage string `json:"stage,omitempty"`
	// Text is the line an operator reads for this event.
	Text string `json:"text,omitempty"`
	// Archive, Bytes and Total: an archive being loaded, how much of it is read.
	Archive string `json:"archive,omitempty"`
	Bytes   int64  `json:"bytes,omitempty"`
	Total   int64  `json:"total,omitempty"`
	// Ref and ID: an image loaded, or already there (Skipped).
	Ref     string `json:"ref,omitempty"`
	ID      string `json:"id,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
	// File: a file edited (relative to the root).
	File string `json:"file,omitempty"`
	// Source: the program a line of output came from (deploy.sh, docker-compose).
	Source string `json:"source,omitempty"`
	// Stack and Service, with State (ready, down), Downtime, or a verified row.
	Stack    string `json:"stack,omitempty"`
	Service  string `json:"service,omitempty"`
	State    string `json:"state,omitempty"`
	Downtime string `json:"downtime,omitempty"`
	// OK says how a stage ended.
	OK bool `json:"ok,omitempty"`
	// Msg is Text to show in the reader's language, when it was made so.
	Msg i18n.Message `json:"-"`
}

// said is an event whose Text is m (English in JSON, the reader's language on screen).
// Said is e with the message m as its text: in English for records and JSON, in the
// reader's language for front ends.
func Said(e Event, m i18n.Message) Event { return said(e, m) }

func said(e Event, m i18n.Message) Event {
	e.Text, e.Msg = m.String(), m
	return e
}

// Event kinds.
const (
	EvStageStarted  = "stage-started"  // Stage begins; Text says what it does
	EvStageFinished = "stage-finished" // Stage ended, OK or not
	EvRead          = "read"           // Bytes of Archive read, of Total (at most ten a second)
	EvLoaded        = "image-loaded"   // Ref (ID) is in the engine; Skipped when it was already
	EvEdited        = "file-edited"    // File was written (atomically)
	EvOutput        = "output"         // a line Source printed while restarting
	EvContainer     = "service-state"  // Stack/Service became ready or went down
	EvVerified      = "verified"       // Stack/Service runs ID, healthy
	EvDowntime      = "downtime"       // Stack/Service had no ready container for Downtime
	EvNote          = "note"           // a line for the operator
)

// emitter sends events to the front end's function, one at a time (the downtime
// watcher runs beside the main steps), stamped with the time.
type emitter struct {
	mu sync.Mutex
	fn func(Event)
}

func (e *emitter) emit(ev Event) {
	if e == nil || e.fn == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ev.Time = time.Now()
	e.fn(ev)
}

// note emits a line for the operator.
func (e *emitter) note(stage, text string) { e.emit(Event{Kind: EvNote, Stage: stage, Text: text}) }

// reader returns a progress counter for an archive of size bytes that emits read
// events at most every 100 ms, and the last one always.
func (e *emitter) reader(archive string, size int64) (count func(int64), done func(ok bool)) {
	var n int64
	var last time.Time
	count = func(d int64) {
		n += d
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond {
			last = now
			e.emit(Event{Kind: EvRead, Stage: "load", Archive: archive, Bytes: n, Total: size})
		}
	}
	done = func(ok bool) {
		e.emit(Event{Kind: EvRead, Stage: "load", Archive: archive, Bytes: n, Total: size})
		e.emit(Event{Kind: EvStageFinished, Stage: "load", Archive: archive, OK: ok})
	}
	return count, done
}
