//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/e2e/swarmrig"
)

// The set-up the swarm tests and benchmarks share.

// testHealth is a compose service's healthcheck of the test image (a service's
// indentation).
const testHealth = `    healthcheck:
      test: ["CMD", "/testapp", "health"]
      interval: 1s
      timeout: 2s
      retries: 3
      start_period: 2s
`

// startRig builds a 3-node swarm, removed when tb ends.
func startRig(tb testing.TB) *swarmrig.Rig {
	tb.Helper()
	rig, err := swarmrig.Start(3)
	if err != nil {
		tb.Fatalf("building a 3-node swarm: %v", err)
	}
	tb.Cleanup(func() { rig.Close() })
	return rig
}

// seedRig builds the test image under each reference and loads them all onto every
// node, as by hand.
func seedRig(tb testing.TB, rig *swarmrig.Rig, eng *dockertest.Engine, refs ...string) {
	tb.Helper()
	for _, ref := range refs {
		eng.Build(tb, ref, "ok", 0)
	}
	tar := filepath.Join(tb.TempDir(), "old.tar")
	eng.Save(tb, tar, refs...)
	if err := rig.Load(tar); err != nil {
		tb.Fatal(err)
	}
}

// nodesYAML is imgup.yaml's nodes: how imgup reaches each worker's engine.
func nodesYAML(rig *swarmrig.Rig) string {
	var b strings.Builder
	b.WriteString("nodes:\n")
	for _, n := range rig.Nodes[1:] {
		fmt.Fprintf(&b, "  %s: %s\n", n.Name, n.Host)
	}
	return b.String()
}

// stackDeploy runs docker stack deploy of dir's docker-compose.yml as stack on the
// manager, with env added to the environment.
func stackDeploy(tb testing.TB, rig *swarmrig.Rig, dir, stack string, env ...string) {
	tb.Helper()
	cmd := exec.Command("docker", "-H", rig.Manager().Host, "stack", "deploy", "--resolve-image", "never", "-c", "docker-compose.yml", stack)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("docker stack deploy: %v\n%s", err, out)
	}
}

// benchRounds is IMGUP_BENCH_ROUNDS, or def.
func benchRounds(def int) int {
	if n, err := strconv.Atoi(os.Getenv("IMGUP_BENCH_ROUNDS")); err == nil && n > 0 {
		return n
	}
	return def
}
