//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// imgupBin is the imgup binary, built once, for tests that need a process of its own
// (crashes, signals).
var imgupBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imguptest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	imgupBin = filepath.Join(dir, "imgup")
	// Tagged imguptest: the crash and journal seams exist only in such a build.
	cmd := exec.Command("go", "build", "-tags", "imguptest", "-o", imgupBin, "../../cmd/imgup")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building imgup: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	shared.eng.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// How the real-engine tests share the machine (2 cores). Every test runs in parallel
// (go test -parallel 64: a test waiting for its turn holds no CPU), and three kinds
// bound what runs at once:
//
//   - parallel: a small stack (a few containers) that owns its prefix; at most two
//     at a time (lightSlots);
//   - heavy: the 12-container sample deployment, the browser, the package install,
//     the Kubernetes cluster; one at a time (heavySlot), beside at most two small ones. Two sample restarts
//     at once on two cores make compose v1's network removal race ("has active
//     endpoints") in a way an operator's single deployment never does;
//   - besides: the swarm tests, whose engines are their own rig's and which mostly
//     wait on swarm's timers, run beside all the others, in no turn.
//
// The load, delta and inventory tests (which read the layers the engine has) take
// the heavy turn: one at a time, and beside only small-stack tests, whose images share
// no layer with theirs but the test program's, which every test image holds.
//
// A test's turn ends with the test (t.Cleanup).
var (
	lightSlots = make(chan struct{}, 2)
	heavySlot  = make(chan struct{}, 1)
)

// parallel runs a small-stack test beside others.
func parallel(t *testing.T) {
	t.Parallel()
	lightSlots <- struct{}{}
	t.Cleanup(func() { <-lightSlots })
}

// heavy runs a test on the sample deployment (or as costly) one at a time, beside
// small-stack tests.
func heavy(t *testing.T) {
	t.Parallel()
	heavySlot <- struct{}{}
	t.Cleanup(func() { <-heavySlot })
}

// besides runs a test beside all the others.
func besides(t *testing.T) { t.Parallel() }
