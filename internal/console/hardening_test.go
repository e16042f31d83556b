// These tests lock down that the console cannot be stalled, cannot fill the disk and
// never writes outside the deployment: a stalled chunk holds no lock and ends after
// its idle time; uploads reserve their declared size together, above a floor of free
// space; .imgup/uploads as a symlink is refused; Last-Event-ID is clamped both ways;
// sessions are bounded; and a soak of 200 event streams and 20 stalled uploads leaves
// memory and goroutines where they were.
package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/update"
)

// stall starts a chunk whose body sends a few bytes and then nothing; it returns a
// function that ends it.
func (h *harness) stall(c *http.Client, csrf, name string, size int) (stop func()) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", h.ts.URL+fmt.Sprintf("/api/upload?name=%s&size=%d&offset=0", name, size), pr)
	req.Header.Set("X-CSRF-Token", csrf)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := c.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	pw.Write([]byte("abc"))
	return func() { pw.CloseWithError(io.ErrUnexpectedEOF); <-done }
}

func TestStalledChunkBlocksNothing(t *testing.T) {
	h := newHarness(t, Options{ChunkIdle: 500 * time.Millisecond})
	c, csrf := h.client()
	hdr := map[string]string{"X-CSRF-Token": csrf}
	stop := h.stall(c, csrf, "slow.tar", 1000)
	defer stop()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if resp, body := h.do(c, "PUT", "/api/upload?name=small.tar&size=5&offset=0", strings.NewReader("hello"), hdr); resp.StatusCode != 200 || !strings.Contains(body, `"done":true`) {
		t.Fatalf("another upload beside a stalled one: %d %s", resp.StatusCode, body)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("another upload waited %v for a stalled one", took)
	}
	// The same name while its chunk is stalled: told at once, not made to wait.
	if resp, body := h.do(c, "PUT", "/api/upload?name=slow.tar&size=1000&offset=0", strings.NewReader("abc"), hdr); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "being written") {
		t.Errorf("a second chunk of a busy upload: %d %s", resp.StatusCode, body)
	}
	// The stalled chunk ends after its idle time; what arrived stays, to resume from.
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body := h.do(c, "GET", "/api/upload?name=slow.tar", nil, nil)
		if resp.StatusCode == 200 && strings.Contains(body, `"offset":3`) {
			h.srv.uploads.Lock()
			busy := h.srv.active["slow.tar"] != nil && h.srv.active["slow.tar"].busy
			h.srv.uploads.Unlock()
			if !busy {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled chunk did not end: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, body := h.do(c, "PUT", "/api/upload?name=slow.tar&size=6&offset=3", strings.NewReader("def"), hdr); resp.StatusCode != 200 || !strings.Contains(body, `"done":true`) {
		t.Errorf("resuming after the stall: %d %s", resp.StatusCode, body)
	}
}

func TestUploadsReserveSpaceTogether(t *testing.T) {
	root := t.TempDir()
	free, _ := diskSpace(root)
	if free < 0 {
		t.Skip("no statfs here")
	}
	if free < 2e9 {
		t.Skipf("%d bytes free: the test leaves 1 GB above the floor", free)
	}
	// Leave 1 GB above the floor: two uploads of 600 MB cannot both start, while a
	// small one can, even if other tests write 400 MB meanwhile (nothing is written:
	// a reservation is bookkeeping).
	h := newHarness(t, Options{KeepFree: free - 1e9})
	c, csrf := h.client()
	stop := h.stall(c, csrf, "one.tar", 600e6)
	defer stop()
	time.Sleep(100 * time.Millisecond)
	resp, body := h.do(c, "PUT", "/api/upload?name=two.tar&size=600000000&offset=0", strings.NewReader("abc"), map[string]string{"X-CSRF-Token": csrf})
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(body, "uploads under way hold") {
		t.Errorf("a second upload past the reserve: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.do(c, "PUT", "/api/upload?name=three.tar&size=3&offset=0", strings.NewReader("abc"), map[string]string{"X-CSRF-Token": csrf}); resp.StatusCode != 200 {
		t.Errorf("a small upload that fits: %d %s", resp.StatusCode, body)
	}
}

func TestUploadsNeverThroughASymlink(t *testing.T) {
	h := newHarness(t, Options{})
	c, csrf := h.client()
	outside := t.TempDir()
	os.MkdirAll(history.Dir(h.root), 0o755)
	os.RemoveAll(filepath.Join(history.Dir(h.root), "uploads"))
	if err := os.Symlink(outside, filepath.Join(history.Dir(h.root), "uploads")); err != nil {
		t.Fatal(err)
	}
	resp, body := h.do(c, "PUT", "/api/upload?name=a.tar&size=3&offset=0", strings.NewReader("abc"), map[string]string{"X-CSRF-Token": csrf})
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "symlink") {
		t.Errorf("uploads as a symlink: %d %s", resp.StatusCode, body)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("wrote outside the root: %v", ents)
	}
	// image/ may point to another disk: the finished upload goes there.
	os.Remove(filepath.Join(history.Dir(h.root), "uploads"))
	os.RemoveAll(filepath.Join(h.root, "image"))
	os.Symlink(outside, filepath.Join(h.root, "image"))
	if resp, body := h.do(c, "PUT", "/api/upload?name=a.tar&size=3&offset=0", strings.NewReader("abc"), map[string]string{"X-CSRF-Token": csrf}); resp.StatusCode != 200 {
		t.Fatalf("image/ as a symlink: %d %s", resp.StatusCode, body)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "a.tar")); string(b) != "abc" {
		t.Errorf("image/ -> elsewhere: got %q", b)
	}
}

// testJob starts a job that runs until release is called.
func testJob(h *harness) (*job, func()) {
	ch := make(chan struct{})
	j, _ := h.srv.jobs.start(context.Background(), "apply", "test", func(context.Context, *job) (string, []history.Row, error) {
		<-ch
		return "", nil, nil
	})
	return j, func() { close(ch) }
}

func TestLastEventIDClamped(t *testing.T) {
	h := newHarness(t, Options{})
	c, _ := h.client()
	j, release := testJob(h)
	j.emit(update.Event{Kind: update.EvNote, Text: "one"})
	release()
	h.srv.jobs.wait()
	for _, id := range []string{"-1", "-999999999", "999999999", "x"} {
		req, _ := http.NewRequest("GET", h.ts.URL+"/jobs/"+j.ID+"/events", nil)
		req.Header.Set("Last-Event-ID", id)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("Last-Event-ID %s: %d %s", id, resp.StatusCode, b)
		}
	}
}

func TestSessionsBounded(t *testing.T) {
	h := newHarness(t, Options{})
	for i := 0; i < maxSessions+20; i++ {
		h.client()
	}
	h.srv.mu.Lock()
	n := len(h.srv.sessions)
	h.srv.mu.Unlock()
	if n > maxSessions {
		t.Errorf("%d sessions kept, at most %d", n, maxSessions)
	}
}

// TestSoak: 200 event streams and 20 stalled uploads at once, on loopback, bounded in
// time; afterwards memory and goroutines are back near where they were.
func TestSoak(t *testing.T) {
	h := newHarness(t, Options{ChunkIdle: time.Second})
	c, csrf := h.client()
	j, release := testJob(h)
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get(h.ts.URL + "/jobs/" + j.ID + "/events")
			if err != nil {
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if strings.Contains(string(b), "soaked") {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	var stops []func()
	for i := 0; i < 20; i++ {
		stops = append(stops, h.stall(c, csrf, fmt.Sprintf("stall-%d.tar", i), 1000))
	}
	time.Sleep(300 * time.Millisecond)
	j.emit(update.Event{Kind: update.EvNote, Text: "soaked"})
	release()
	wg.Wait()
	for _, stop := range stops {
		stop()
	}
	took := time.Since(start)
	c.CloseIdleConnections()
	h.ts.CloseClientConnections()
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	g1 := runtime.NumGoroutine()
	t.Logf("200 streams and 20 stalled uploads: %v; heap %d -> %d KiB; goroutines %d -> %d", took.Round(time.Millisecond), m0.HeapAlloc>>10, m1.HeapAlloc>>10, g0, g1)
	if got != 200 {
		t.Errorf("%d of 200 streams saw the event", got)
	}
	if took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	if g1 > g0+10 {
		t.Errorf("goroutines %d -> %d", g0, g1)
	}
	if m1.HeapAlloc > m0.HeapAlloc+16<<20 {
		t.Errorf("heap %d -> %d KiB", m0.HeapAlloc>>10, m1.HeapAlloc>>10)
	}
}
