// Package event is the one stream every operation reports on: an Event is one thing
// that happened, for a front end to show as it happens. Reading progress, notes and
// warnings, loads, edits, restart lines, service states, downtime and verification all
// travel as events; the front end escapes and renders them where it writes.
package event

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
	// Stage is read, load, write, restart, verify or undo.
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
	// Warning marks a note the operator must not miss.
	Warning bool `json:"warning,omitempty"`
	// Verb, for reading progress (Stage "read" or "load"), says what the read is for:
	// reading, verifying, loading.
	Verb string `json:"verb,omitempty"`
	// Msg is Text to show in the reader's language, when it was made so.
	Msg i18n.Message `json:"-"`
}

// Said is e with the message m as its text: in English for records and JSON, in the
// reader's language for front ends.
func Said(e Event, m i18n.Message) Event {
	e.Text, e.Msg = m.String(), m
	return e
}

// Event kinds.
const (
	StageStarted  = "stage-started"  // Stage begins; Text says what it does
	StageFinished = "stage-finished" // Stage ended, OK or not
	Read          = "read"           // Bytes of Archive read, of Total (at most ten a second)
	Loaded        = "image-loaded"   // Ref (ID) is in the engine; Skipped when it was already
	Edited        = "file-edited"    // File was written (atomically)
	Output        = "output"         // a line Source printed while restarting
	Container     = "service-state"  // Stack/Service became ready or went down
	Verified      = "verified"       // Stack/Service runs ID, healthy
	Downtime      = "downtime"       // Stack/Service had no ready container for Downtime
	Note          = "note"           // a line for the operator
)

// Reader tells emit that an archive of size bytes is being read (a stage-started event
// with Stage, Verb, Archive and Total), and returns the byte counter the reading code
// calls, which emits read events at most every 100 ms, and what ends the stage. It is
// how every operation reports reading progress in its one event stream.
func Reader(emit func(Event), stage, verb, archive string, size int64) (count func(int64), done func(ok bool)) {
	if emit == nil {
		return func(int64) {}, func(bool) {}
	}
	var mu sync.Mutex
	var n int64
	var last time.Time
	emit(Event{Kind: StageStarted, Time: time.Now(), Stage: stage, Verb: verb, Archive: archive, Total: size})
	count = func(d int64) {
		mu.Lock()
		defer mu.Unlock()
		n += d
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond {
			last = now
			emit(Event{Kind: Read, Time: now, Stage: stage, Archive: archive, Bytes: n, Total: size})
		}
	}
	done = func(ok bool) {
		mu.Lock()
		defer mu.Unlock()
		emit(Event{Kind: Read, Time: time.Now(), Stage: stage, Archive: archive, Bytes: n, Total: size})
		emit(Event{Kind: StageFinished, Time: time.Now(), Stage: stage, Archive: archive, OK: ok})
	}
	return count, done
}

// In is the event's text in tr's language (its English Text when it was not made from
// a message).
func (e Event) In(tr *i18n.Printer) string {
	if e.Msg.Format != "" {
		return e.Msg.In(tr)
	}
	return e.Text
}

// Titled gives a reading-progress event that has no text (a stage-started event
// with a Verb) its line: "reading NAME", "verifying NAME" or "loading NAME", with the
// archive's file name.
func Titled(e Event, base string) Event {
	if e.Kind != StageStarted || e.Verb == "" || e.Text != "" {
		return e
	}
	switch e.Verb {
	case "verifying":
		return Said(e, i18n.Msg("verifying %s", base))
	case "loading":
		return Said(e, i18n.Msg("loading %s", base))
	}
	return Said(e, i18n.Msg("reading %s", base))
}
