//go:build e2e

// These tests prove that nothing is ever lost: a failed update left in place is undone
// by imgup rollback, a second apply waits for the first and refuses, an update killed
// at any step is reported and undone, and Ctrl-C undoes what was changed.
package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/history"
)

func TestNoRollbackThenRollback(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "c", deploytest.Options{})
	before := s.containers(t)
	bad := eng.Ref("encoo/digi4th-foundation-service", "4.1.88888")
	eng.Build(t, bad, "unhealthy", 0) // runs, never healthy
	arch := filepath.Join(t.TempDir(), "foundation.tar")
	eng.Save(t, arch, bad)

	_, errOut, code := imgup(t, "apply", "--yes", "--no-rollback", "-C", s.dir, "--timeout", "10s", arch)
	if code != 4 || !strings.Contains(errOut, "unhealthy") || !strings.Contains(errOut, "imgup rollback --dir "+s.dir) {
		t.Fatalf("apply --no-rollback: exit %d, want 4 and the rollback command:\n%s", code, errOut)
	}
	if !strings.Contains(s.file(t, "docker-compose.service.yml"), "4.1.88888") {
		t.Fatal("--no-rollback must leave the failed state in place")
	}
	out, errOut, code := imgup(t, "history", "-C", s.dir)
	if code != 0 || !strings.Contains(out, "failed") {
		t.Errorf("history: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = imgup(t, "rollback", "--yes", "-C", s.dir, "--timeout", "60s")
	if code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, `"4.1.88888" -> "4.1.70001"`) {
		t.Errorf("the rollback plan must show the tag edited back:\n%s", out)
	}
	s.expectFiles(t, nil)
	after := s.waitHealthy(t, 60*time.Second)
	for key, c := range after {
		if c.Image != before[key].Image {
			t.Errorf("%s runs %s after rollback, want %s", key, c.Image, before[key].Image)
		}
	}
	recs, _ := history.List(s.dir)
	if len(recs) != 2 || recs[0].Kind != "rollback" || recs[1].RolledBackBy != recs[0].ID {
		t.Errorf("history after rollback: %+v", recs)
	}
	if _, errOut, code := imgup(t, "rollback", "--yes", "-C", s.dir); code != 1 || !strings.Contains(errOut, "nothing to roll back") {
		t.Errorf("second rollback: exit %d %s", code, errOut)
	}
}

func TestSecondApplyWaitsThenRefuses(t *testing.T) {
	parallel(t)
	eng := dockertest.New(t)
	dir := t.TempDir()
	deploytest.Write(dir, deploytest.Options{Prefix: eng.Prefix + "/"})
	img := eng.Ref("encoo/rpa-service", "4.1.5")
	eng.Build(t, img, "ok", 0)
	arch := filepath.Join(t.TempDir(), "rpa.tar")
	eng.Save(t, arch, img)
	lock, err := history.Acquire(context.Background(), dir, "imgup apply (test holder)", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, errOut, code := imgup(t, "apply", "--yes", "--restart", "none", "-C", dir, arch)
	lock.Release()
	if code != 1 || !strings.Contains(errOut, "another imgup (imgup apply (test holder), pid ") || time.Since(start) < 4*time.Second {
		t.Errorf("exit %d after %s: %s", code, time.Since(start), errOut)
	}
	// Once free, the same apply goes through.
	if _, errOut, code := imgup(t, "apply", "--yes", "--restart", "none", "-C", dir, arch); code != 0 {
		t.Errorf("apply after release: exit %d %s", code, errOut)
	}
}

// run runs the imgup binary in its own process.
func run(t *testing.T, env []string, args ...string) (string, int) {
	cmd := exec.Command(imgupBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestCrashAtEveryStepIsUndone(t *testing.T) {
	parallel(t)
	eng := dockertest.New(t)
	img := eng.Ref("encoo/rpa-service", "4.1.6")
	eng.Build(t, img, "ok", 0)
	arch := filepath.Join(t.TempDir(), "rpa.tar")
	eng.Save(t, arch, img)
	for _, step := range []string{"begin", "load", "first-write", "write"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			deploytest.Write(dir, deploytest.Options{Prefix: eng.Prefix + "/"})
			orig := snapshot(t, dir)
			eng.Remove(t, img)
			out, code := run(t, []string{"IMGUP_TEST_CRASH_AFTER=" + step}, "apply", "--yes", "--restart", "none", "-C", dir, arch)
			if code != 137 {
				t.Fatalf("crash run: exit %d\n%s", code, out)
			}
			out, code = run(t, nil, "plan", "--restart", "none", "-C", dir, arch)
			if !strings.Contains(out, "was interrupted") {
				t.Errorf("plan does not report the interrupted update:\n%s", out)
			}
			out, code = run(t, nil, "apply", "--yes", "--restart", "none", "-C", dir, arch)
			if code != 1 || !strings.Contains(out, "imgup rollback -C "+dir) {
				t.Errorf("apply after a crash: exit %d, want 1 and the rollback command\n%s", code, out)
			}
			out, code = run(t, nil, "rollback", "--yes", "-C", dir)
			if code != 0 {
				t.Fatalf("rollback: exit %d\n%s", code, out)
			}
			if got := snapshot(t, dir); !equalFiles(got, orig) {
				t.Errorf("files after rollback differ from before the update")
			}
			if _, code := run(t, nil, "apply", "--yes", "--restart", "none", "-C", dir, arch); code != 0 {
				t.Errorf("apply after the rollback: exit %d", code)
			}
		})
	}
}

func TestCrashAfterRestartAndCtrlC(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "d", deploytest.Options{})
	before := s.containers(t)
	good := eng.Ref("encoo/rpa-rdp-web-service", "4.1.7")
	eng.Build(t, good, "ok", 0)
	arch := filepath.Join(t.TempDir(), "web.tar")
	eng.Save(t, arch, good)

	// kill -9 after the restart: the new container runs, files are new; rollback undoes both.
	out, code := run(t, []string{"IMGUP_TEST_CRASH_AFTER=restart"}, "apply", "--yes", "-C", s.dir, arch)
	if code != 137 {
		t.Fatalf("crash run: exit %d\n%s", code, out)
	}
	out, code = run(t, nil, "rollback", "--yes", "-C", s.dir, "--timeout", "60s")
	if code != 0 {
		t.Fatalf("rollback after crash: exit %d\n%s", code, out)
	}
	s.expectFiles(t, nil)
	for key, c := range s.waitHealthy(t, 60*time.Second) {
		if c.Image != before[key].Image {
			t.Errorf("%s runs %s, want %s", key, c.Image, before[key].Image)
		}
	}

	// Ctrl-C while verifying an image that never turns healthy: undo, exit 130.
	bad := eng.Ref("encoo/rpa-rdp-web-service", "4.1.8")
	eng.Build(t, bad, "unhealthy", 0)
	arch2 := filepath.Join(t.TempDir(), "bad.tar")
	eng.Save(t, arch2, bad)
	cmd := exec.Command(imgupBin, "apply", "--yes", "-C", s.dir, "--timeout", "120s", arch2)
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); !strings.Contains(stderr.String(), "verifying (up to"); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("apply never reached verification:\n%s", stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("after Ctrl-C: %v, want exit 130\n%s", err, stderr.String())
	}
	s.expectFiles(t, nil)
	for key, c := range s.waitHealthy(t, 60*time.Second) {
		if c.Image != before[key].Image {
			t.Errorf("after Ctrl-C, %s runs %s, want %s", key, c.Image, before[key].Image)
		}
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	m := map[string][]byte{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.IsDir() && rel == ".imgup" {
			return filepath.SkipDir
		}
		if !info.IsDir() {
			m[rel], _ = os.ReadFile(p)
		}
		return nil
	})
	return m
}

func equalFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// The record cannot be written at the very end (a full disk): the update is undone
// like any failure, and the next run does not call it interrupted.
func TestJournalWriteFailsAtTheEnd(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "j", deploytest.Options{})
	before := s.containers(t)
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	eng.Build(t, web, "ok", 0)
	arch := filepath.Join(t.TempDir(), "web.tar")
	eng.Save(t, arch, web)

	// A process of its own: the seam is read from the environment, which the other
	// tests running beside this one share.
	errOut, code := run(t, []string{"IMGUP_TEST_JOURNAL_FAIL=" + history.Verified}, "apply", "--yes", "--restart", "services", "-C", s.dir, "--timeout", "60s", arch)
	if code != 3 || !strings.Contains(errOut, "recording the update (verified): no space left on device") {
		t.Fatalf("apply: exit %d, want 3 and the record's error:\n%s", code, errOut)
	}
	s.expectFiles(t, nil)
	for key, c := range s.waitHealthy(t, 60*time.Second) {
		if c.Image != before[key].Image {
			t.Errorf("%s runs %s, want %s again", key, c.Image, before[key].Image)
		}
	}
	recs, _ := history.List(s.dir)
	if len(recs) != 1 || recs[0].State != history.RolledBack {
		t.Errorf("record: %+v", recs)
	}
	out, errOut, code := imgup(t, "plan", "-C", s.dir, arch)
	if code != 0 || strings.Contains(out+errOut, "interrupted") {
		t.Errorf("the next plan: exit %d\n%s%s", code, out, errOut)
	}
}
