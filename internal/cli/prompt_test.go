// This test locks down that imgup asks only on a terminal: with standard input from
// /dev/null (ssh host imgup apply, cron), a pipe or a file, apply and rollback refuse
// with exit 2, "no terminal to ask on; add --yes", and change nothing.
package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
)

func TestNoTerminalNoPrompt(t *testing.T) {
	bin, dir := testBinary(t), t.TempDir()
	root := filepath.Join(dir, "root")
	if err := deploytest.Write(root, deploytest.Options{}); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "web.tar")
	os.WriteFile(archive, archivetest.Classic(t, []archivetest.Image{archivetest.Random(t, 1, "encoo/console-web-v4-pvt:4.1.76383")}, nil), 0o644)
	engineFile := filepath.Join(dir, "engine.json")
	os.WriteFile(engineFile, []byte(`{"Images":{},"Containers":[]}`), 0o644)
	before, _ := os.ReadFile(filepath.Join(root, ".systemconfig"))
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	for name, stdin := range map[string]func() *os.File{
		"/dev/null": func() *os.File { return devnull },
		"a file":    func() *os.File { f, _ := os.Open(engineFile); return f },
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(bin, "apply", "-C", root, "--restart", "none", archive)
			cmd.Env = append(os.Environ(), "IMGUP_FAKE_ENGINE="+engineFile, "DOCKER_HOST=unix:///nonexistent.sock")
			cmd.Stdin = stdin()
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(errb.String(), "no terminal to ask on; add --yes") {
				t.Errorf("exit %d, want 2 and the hint\n%s%s", code, out.String(), errb.String())
			}
			if after, _ := os.ReadFile(filepath.Join(root, ".systemconfig")); !bytes.Equal(after, before) {
				t.Error(".systemconfig changed")
			}
		})
	}
}
