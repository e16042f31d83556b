package apply

import (
	"context"
	"sync"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/event"
)

// watch measures, for each service, how long it had no ready container (running, and
// healthy where it has a healthcheck) while a restart and its verification ran.
type watch struct {
	mu     sync.Mutex
	keys   map[string]bool // stack/service
	d      *deploy.Deployment
	em     *emitter
	since  map[string]time.Time
	total  map[string]time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

const watchEvery = 250 * time.Millisecond

func startWatch(ctx context.Context, eng engine.Client, d *deploy.Deployment, keys map[string]bool, em *emitter) *watch {
	ctx, cancel := context.WithCancel(ctx)
	w := &watch{keys: keys, d: d, em: em, since: map[string]time.Time{}, total: map[string]time.Duration{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(watchEvery)
		defer t.Stop()
		for {
			if cs, err := eng.ContainerStates(ctx); err == nil {
				w.observe(cs, time.Now())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *watch) observe(cs []engine.Container, now time.Time) {
	ready := map[string]bool{}
	for _, st := range w.d.Stacks {
		for _, c := range st.Containers(cs, "") {
			if c.State == "running" && (c.Health == "" || c.Health == "healthy") {
				ready[st.Name+"/"+c.Service()] = true
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for k := range w.keys {
		s, down := w.since[k]
		switch {
		case !ready[k] && !down:
			w.since[k] = now
			stack, svc := splitKey(k)
			w.em.emit(Event{Kind: event.Container, Stage: "restart", Stack: stack, Service: svc, State: "down"})
		case ready[k] && down:
			w.total[k] += now.Sub(s)
			delete(w.since, k)
			stack, svc := splitKey(k)
			w.em.emit(Event{Kind: event.Container, Stage: "restart", Stack: stack, Service: svc, State: "ready"})
		}
	}
}

// stop ends the watch and returns each service's time without a ready container.
func (w *watch) stop() map[string]time.Duration {
	if w == nil {
		return nil
	}
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	for k, s := range w.since {
		w.total[k] += now.Sub(s)
	}
	out := map[string]time.Duration{}
	for k := range w.keys {
		out[k] = w.total[k]
	}
	return out
}
