// This test locks down imgup under hostile deployment files: every file it reads besides
// archives (compose files, .env, .systemconfig, the control script and what it
// sources, imgup.yaml) in every bad form (a FIFO, a link to /dev/zero, a sparse 1 GiB
// file, a folder, a link out of the root), and scripts that loop or grow without
// end. Each ends in under 2 s with peak RSS under the ceiling: a file imgup must read
// is refused in one line naming it (exit 1); a file only the control script's dry run
// reads (the script, what it sources) is a note, and status answers as before.
package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
)

// testBinary is this test binary under the name that makes it run imgup (TestMain).
func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "imgup-bin")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestHostileDeploymentFiles(t *testing.T) {
	bin := testBinary(t)
	outside := filepath.Join(t.TempDir(), "outside.env")
	os.WriteFile(outside, []byte("A=1\n"), 0o644)
	forms := map[string]func(p string) error{
		"fifo":    func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"devzero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"sparse": func(p string) error {
			f, err := os.Create(p)
			if err == nil {
				err = f.Truncate(1 << 30)
				f.Close()
			}
			return err
		},
		"folder":  func(p string) error { return os.Mkdir(p, 0o755) },
		"outside": func(p string) error { return os.Symlink(outside, p) },
	}
	// strict: imgup needs the file and refuses it; else only the dry run reads it.
	files := []struct {
		name   string
		strict bool
	}{
		{"docker-compose.service.yml", true}, {".systemconfig", true}, {"vicode/.systemconfig", true}, {".env", true}, {"imgup.yaml", true},
		{"deploy.sh", false}, {"extra.env", false},
	}
	type run struct {
		name, file string
		strict     bool
		setup      func(root string) error
	}
	var runs []run
	for _, f := range files {
		for form, mk := range forms {
			f, mk := f, mk
			runs = append(runs, run{name: f.name + "-" + form, file: f.name, strict: f.strict, setup: func(root string) error {
				p := filepath.Join(root, f.name)
				os.Remove(p)
				return mk(p)
			}})
		}
	}
	for name, script := range map[string]string{
		"doubling":     "#!/bin/sh\nA=x\nfor i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do A=$A$A; done\ndocker-compose -p \"$A\" up -d\n",
		"endless":      "#!/bin/sh\nwhile :; do :; done\n",
		"wait-forever": "#!/bin/sh\nuntil [ \"$(docker inspect -f x web)\" = healthy ]; do sleep 1; done\n",
		"for-loop":     "#!/bin/bash\nfor stack in . vicode; do\n  [ -d \"$stack\" ] || continue\n  ( cd \"$stack\" && set -a && . ./.systemconfig && set +a\n    docker-compose --project-name=\"encoo-$(basename \"$(pwd)\")\" \"$@\" )\ndone\n",
	} {
		script := script
		runs = append(runs, run{name: "script-" + name, file: "deploy.sh", setup: func(root string) error {
			return os.WriteFile(filepath.Join(root, "deploy.sh"), []byte(script), 0o755)
		}})
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			root := t.TempDir()
			if err := deploytest.Write(root, deploytest.Options{}); err != nil {
				t.Fatal(err)
			}
			// deploy.sh sources extra.env, so the dry run reads it.
			b, _ := os.ReadFile(filepath.Join(root, "deploy.sh"))
			os.WriteFile(filepath.Join(root, "deploy.sh"), bytes.Replace(b, []byte("\n"), []byte("\n[ -e ./extra.env ] && . ./extra.env\n"), 1), 0o755)
			os.WriteFile(filepath.Join(root, "extra.env"), []byte("X=1\n"), 0o644)
			if err := r.setup(root); err != nil {
				t.Fatal(err)
			}
			engineFile := filepath.Join(t.TempDir(), "engine.json")
			os.WriteFile(engineFile, []byte(`{"Images":{},"Containers":[]}`), 0o644)
			hwm := filepath.Join(t.TempDir(), "hwm")
			cmd := exec.Command(bin, "status", "-C", root)
			cmd.Env = append(os.Environ(), "IMGUP_FAKE_ENGINE="+engineFile, "IMGUP_TEST_HWM="+hwm, "DOCKER_HOST=unix:///nonexistent.sock")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// SIGTERM ends imgup wherever it is; a hang would show here.
			timer := time.AfterFunc(5*time.Second, func() { cmd.Process.Signal(syscall.SIGTERM) })
			kill := time.AfterFunc(8*time.Second, func() { cmd.Process.Kill() })
			cmd.Wait()
			timer.Stop()
			kill.Stop()
			took := time.Since(start)
			kb, _ := os.ReadFile(hwm)
			rss, _ := strconv.ParseInt(string(kb), 10, 64)
			rss <<= 10
			code := cmd.ProcessState.ExitCode()
			t.Logf("%v, peak RSS %d MiB, exit %d: %s", took.Round(time.Millisecond), rss>>20, code, strings.TrimSpace(errb.String()))
			// A file is refused at once; a script that never ends is ended by the dry
			// run's own 2 s budget, so it gets that plus start-up (CI runs packages side
			// by side on 2 cores).
			limit := 2 * time.Second
			if strings.HasPrefix(r.name, "script-") {
				limit = 4 * time.Second
			}
			if took > limit {
				t.Errorf("took %v, want under %v", took, limit)
			}
			if rss > memCeiling {
				t.Errorf("peak RSS %d MiB, over the %d MiB ceiling", rss>>20, memCeiling>>20)
			}
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			if r.strict {
				if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], filepath.Base(r.file)) {
					t.Errorf("want exit 1 and one line naming %s; got exit %d:\n%s", r.file, code, errb.String())
				}
				return
			}
			if strings.Contains(errb.String(), "imgup: ") && strings.Contains(errb.String(), r.file) {
				t.Errorf("a file only the dry run reads ended the command:\n%s", errb.String())
			}
			if code != 0 && code != 1 {
				t.Errorf("exit %d\n%s%s", code, out.String(), errb.String())
			}
		})
	}
}

// An archive, a trust key or a bundle path that is a FIFO or a device is refused in
// one line at once; SIGTERM is never needed.
func TestHostileArchivePaths(t *testing.T) {
	bin, dir := testBinary(t), t.TempDir()
	fifo := filepath.Join(dir, "update.tar.gz")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.bundle")
	os.Symlink("/dev/zero", zero)
	keyFifo := filepath.Join(dir, "vendor.pub")
	syscall.Mkfifo(keyFifo, 0o644)
	for _, args := range [][]string{
		{"inspect", fifo}, {"inspect", zero}, {"bundle", "verify", zero}, {"bundle", "verify", "--trust", keyFifo, zero},
	} {
		t.Run(strings.Join(args[:len(args)-1], "-")+"-"+filepath.Base(args[len(args)-1]), func(t *testing.T) {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent.sock")
			var errb bytes.Buffer
			cmd.Stderr = &errb
			start := time.Now()
			cmd.Start()
			kill := time.AfterFunc(5*time.Second, func() { cmd.Process.Kill() })
			cmd.Wait()
			kill.Stop()
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			if took := time.Since(start); took > 2*time.Second || cmd.ProcessState.ExitCode() == 0 || len(lines) != 1 {
				t.Errorf("%v: exit %d in %v:\n%s", args, cmd.ProcessState.ExitCode(), took, errb.String())
			}
		})
	}
}
