package ctlscript

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// errBudget ends the interpreter when the budget is spent.
var errBudget = errors.New("the dry run's budget is spent")

// budget is the context the interpreter runs under. The interpreter asks Err before
// every statement and command, so Err counts the steps and checks the time and the
// heap: any script ends within the budget, loops and growing variables alike.
type budget struct {
	context.Context
	cancel   context.CancelFunc
	steps    atomic.Int64
	max      int64
	start    time.Time
	limit    time.Duration
	heapBase uint64
	heapMax  uint64
	// recheck is the heap size (live and garbage) past which Err collects garbage
	// and measures what lives.
	recheck uint64
	mu      sync.Mutex
	reason  string
	sample  []metrics.Sample
}

func newBudget(ctx context.Context, o Options) *budget {
	inner, cancel := context.WithCancel(ctx)
	b := &budget{Context: inner, cancel: cancel, max: o.Steps, start: time.Now(), limit: o.Time, heapMax: o.Memory,
		sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}}
	objects, live := b.heap()
	b.heapBase = min(objects, live)
	if b.heapBase == 0 {
		b.heapBase = objects
	}
	b.recheck = objects + b.heapMax
	return b
}

// heap is the heap's objects, live and garbage, and what lived at the last collection.
func (b *budget) heap() (objects, live uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	metrics.Read(b.sample)
	if b.sample[0].Value.Kind() == metrics.KindUint64 {
		objects = b.sample[0].Value.Uint64()
	}
	if b.sample[1].Value.Kind() == metrics.KindUint64 {
		live = b.sample[1].Value.Uint64()
	}
	return objects, live
}

// grown reports whether what the script keeps has grown past the budget. It
// collects garbage only when the heap has grown by the budget since it last did, so
// a loop's garbage costs nothing and a growing variable is caught early.
func (b *budget) grown() bool {
	objects, _ := b.heap()
	b.mu.Lock()
	recheck := b.recheck
	b.mu.Unlock()
	if objects < recheck {
		return false
	}
	runtime.GC()
	objects, live := b.heap()
	b.mu.Lock()
	b.recheck = objects + b.heapMax
	b.mu.Unlock()
	return live > b.heapBase+b.heapMax
}

// stop spends the budget, saying why.
func (b *budget) stop(why string) {
	b.mu.Lock()
	if b.reason == "" {
		b.reason = why
	}
	b.mu.Unlock()
	b.cancel()
}

func (b *budget) why() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reason
}

func (b *budget) Err() error {
	if b.why() != "" {
		return errBudget
	}
	if err := b.Context.Err(); err != nil {
		return err
	}
	n := b.steps.Add(1)
	switch {
	case n > b.max:
		b.stop(fmt.Sprintf("it ran %d steps (a loop that waits for something, or one that never ends)", b.max))
	case n%16 == 0 && time.Since(b.start) > b.limit:
		b.stop(fmt.Sprintf("it ran for %s (a loop that waits for something, or one that never ends)", b.limit))
	case b.grown():
		b.stop(fmt.Sprintf("its variables grew past %d MiB", b.heapMax>>20))
	default:
		return nil
	}
	return errBudget
}
