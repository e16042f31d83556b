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
	os.RemoveAll(dir)
	os.Exit(code)
}

// parallel runs a test beside the other parallel ones (go test -parallel 2, as
// scripts/test.sh runs them). A test is parallel when it owns its name prefix, its
// images and its deployment, asserts nothing about layers another test may load at the
// same time, and runs small stacks: the load, delta and bundle tests count the layers
// the engine has, the package test installs /usr/bin/imgup, and the tests on the
// 12-container sample deployment run alone, because two such restarts at once on two
// cores make compose v1's network removal race ("has active endpoints") in a way an
// operator's single deployment never does.
func parallel(t *testing.T) { t.Parallel() }
