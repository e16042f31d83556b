// The scripts in testdata/script lock down what an operator sees: imgup's output,
// its one-line errors and its exit codes, for archives the scripts make themselves.
package cli_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/cli"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"imgup-bin": func() { os.Exit(cli.Main()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// No script may reach the machine's engine by accident.
			env.Setenv("DOCKER_HOST", "unix://"+env.WorkDir+"/no-engine.sock")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"imgup":     runImgup,
			"exit":      checkExit,
			"mkarchive": mkarchive,
			"truncate":  truncate,
		},
	})
}

// runImgup runs the imgup binary and remembers its exit code for "exit".
func runImgup(ts *testscript.TestScript, neg bool, args []string) {
	err := ts.Exec("imgup-bin", args...)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("imgup: %v", err)
	}
	ts.Setenv("IMGUP_EXIT", strconv.Itoa(code))
	if neg != (code != 0) {
		ts.Fatalf("imgup exited %d", code)
	}
}

// checkExit: exit N asserts the exit code of the last imgup.
func checkExit(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: exit CODE")
	}
	if got := ts.Getenv("IMGUP_EXIT"); got != args[0] {
		ts.Fatalf("imgup exited %s, want %s", got, args[0])
	}
}

// mkarchive FORM[.gzip|.zstd|.xz] FILE REF... writes an archive of random images, one per
// REF (REF=a,b gives one image two tags; "-" gives an image saved by ID). FORM is
// classic, oci, oci25, ggcr, or bundle (then the args are FILE INNER...).
func mkarchive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: mkarchive FORM FILE REF...")
	}
	t := tb{ts: ts}
	form, comp, _ := strings.Cut(args[0], ".")
	var data []byte
	if form == "bundle" {
		var files []archivetest.File
		for _, in := range args[2:] {
			b, err := os.ReadFile(ts.MkAbs(in))
			ts.Check(err)
			files = append(files, archivetest.File{Name: in, Data: b})
		}
		data = archivetest.Bundle(t, files...)
	} else {
		var imgs []archivetest.Image
		for _, r := range args[2:] {
			var tags []string
			if r != "-" {
				tags = strings.Split(r, ",")
			}
			imgs = append(imgs, archivetest.Random(t, 2, tags...))
		}
		switch form {
		case "classic":
			data = archivetest.Classic(t, imgs, nil)
		case "nolayer":
			data = archivetest.Classic(t, imgs, func(n string) bool { return strings.HasSuffix(n, "layer.tar") })
		case "oci":
			data = archivetest.OCI(t, imgs, false)
		case "oci25":
			data = archivetest.OCI(t, imgs, true)
		case "ggcr":
			data = archivetest.GGCR(t, imgs)
		default:
			ts.Fatalf("unknown form %q", form)
		}
	}
	if comp != "" {
		data = archivetest.Compress(t, comp, data)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o644))
}

// truncate FILE N keeps the first N bytes (or N% when it ends in %).
func truncate(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	n, pct := strings.CutSuffix(args[1], "%")
	k, err := strconv.Atoi(n)
	ts.Check(err)
	if pct {
		k = len(b) * k / 100
	}
	ts.Check(os.WriteFile(p, b[:k], 0o644))
}

// tb lets archivetest report through the script.
type tb struct {
	testing.TB
	ts *testscript.TestScript
}

func (t tb) Helper()                           {}
func (t tb) Fatal(args ...any)                 { t.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (t tb) Fatalf(format string, args ...any) { t.ts.Fatalf(format, args...) }
