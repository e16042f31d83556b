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

// parallel runs a test beside the other parallel ones (go test -parallel N, set by
// scripts/test.sh). A test is parallel when it owns its name prefix, its images and its
// deployment, and asserts nothing about layers another test may load at the same time:
// the load, delta and bundle tests, which count the layers the engine has, and the
// package test, which installs /usr/bin/imgup, run alone before them.
func parallel(t *testing.T) { t.Parallel() }
