package apply

import (
	"sync"
	"time"

	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Event is one thing that happened; see package event.
type Event = event.Event

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
func (e *emitter) note(stage, text string) { e.emit(Event{Kind: event.Note, Stage: stage, Text: text}) }

// reader returns a progress counter for an archive of size bytes that emits read
// events at most every 100 ms, and the last one always.
func (e *emitter) reader(archive string, size int64) (count func(int64), done func(ok bool)) {
	return event.Reader(e.emit, "load", "loading", archive, size)
}

func said(e Event, m i18n.Message) Event { return event.Said(e, m) }
