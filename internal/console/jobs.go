package console

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/update"
)

// maxEvents bounds a job's log: reading progress is folded into one event per archive,
// and past this many events restart output is dropped (with a note).
const maxEvents = 5000

// job is one apply or rollback the console runs. It runs under the server's context,
// not a request's, so it goes on when the browser that started it closes; every
// browser that opens its page replays its events and then follows it live.
type job struct {
	ID    string
	Kind  string // apply or rollback
	Title string
	// Subject is what the job works on: the files of an apply, the update a rollback undoes.
	Subject string
	Started time.Time

	mu      sync.Mutex
	events  []update.Event
	dropped int
	changed chan struct{} // closed and replaced at each new event
	done    bool
	// Result, once done: the record, the final table, and the error.
	Record string
	Rows   []update.Row
	Err    error
}

// Event kinds the console adds to apply's.
const (
	evJobDone = "job-done" // the job ended: OK, Text says how
	evTable   = "table"    // the final table is ready (the page reloads it)
)

func (j *job) emit(e update.Event) {
	e = update.Titled(e, filepath.Base(e.Archive))
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.events); e.Kind == update.EvRead && n > 0 && j.events[n-1].Kind == update.EvRead && j.events[n-1].Archive == e.Archive {
		j.events[n-1] = e
	} else if len(j.events) >= maxEvents && e.Kind == update.EvOutput {
		j.dropped++
		return
	} else {
		j.events = append(j.events, e)
	}
	close(j.changed)
	j.changed = make(chan struct{})
}

// clamp bounds an event index to the events there are.
func (j *job) clamp(i int) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return min(max(i, 0), len(j.events))
}

// since returns the events from index i, whether the job is done, and a channel closed
// at the next change.
func (j *job) since(i int) ([]update.Event, bool, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	i = min(max(i, 0), len(j.events)) // Last-Event-ID is the browser's word: clamp it both ways
	return append([]update.Event(nil), j.events[i:]...), j.done, j.changed
}

func (j *job) finish(record string, rows []update.Row, err error) {
	j.mu.Lock()
	j.Record, j.Rows, j.Err = record, rows, err
	if j.dropped > 0 {
		j.events = append(j.events, update.Said(update.Event{Kind: update.EvNote, Time: time.Now()}, i18n.Msg("%d more lines of restart output are in the record only", j.dropped)))
	}
	j.mu.Unlock()
	text := "done"
	if err != nil {
		text = err.Error()
	}
	j.emit(update.Event{Kind: evTable})
	// The last event and done together: a reader that sees done has every event.
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, update.Event{Kind: evJobDone, OK: err == nil, Text: text, Time: time.Now()})
	j.done = true
	close(j.changed)
	j.changed = make(chan struct{})
}

// state is a copy of the job's result fields.
func (j *job) state() (done bool, record string, rows []update.Row, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.done, j.Record, append([]update.Row(nil), j.Rows...), j.Err
}

// jobs are the console's jobs; one runs at a time (the deployment's lock keeps the CLI
// and the console from running two at once; this keeps the console from trying).
type jobs struct {
	mu      sync.Mutex
	all     map[string]*job
	order   []string
	running *job
	wg      sync.WaitGroup
}

func newJobs() *jobs { return &jobs{all: map[string]*job{}} }

// start runs fn as a new job unless one runs; it returns the job, or the running one
// and false.
func (js *jobs) start(ctx context.Context, kind, subject string, fn func(ctx context.Context, j *job) (string, []update.Row, error)) (*job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.running != nil {
		return js.running, false
	}
	j := &job{ID: randomHex(8), Kind: kind, Subject: subject, Started: time.Now(), changed: make(chan struct{})}
	js.all[j.ID] = j
	js.order = append(js.order, j.ID)
	if len(js.order) > 50 {
		delete(js.all, js.order[0])
		js.order = js.order[1:]
	}
	js.running = j
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		rec, rows, err := fn(ctx, j)
		j.finish(rec, rows, err)
		js.mu.Lock()
		js.running = nil
		js.mu.Unlock()
	}()
	return j, true
}

func (js *jobs) get(id string) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.all[id]
}

func (js *jobs) current() *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.running
}

func (js *jobs) wait() { js.wg.Wait() }

// title names the job in tr's language.
func (j *job) title(tr *i18n.Printer) string {
	if j.Kind == "rollback" {
		return tr.Sprintf("rollback of update %s", j.Subject)
	}
	return tr.Sprintf("apply of %s", j.Subject)
}
