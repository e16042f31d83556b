//go:build e2e

// These tests prove runbook step 1 on the real engine: archives in every form an
// operator receives are loaded by `imgup load`, and the engine then holds each
// reference at the archive's image ID; broken archives load nothing.
package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/cli"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

// imgup runs the real CLI in-process against the real engine.
func imgup(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = cli.Run(context.Background(), &cli.Env{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e}, args)
	return o.String(), e.String(), code
}

func TestLoadEveryForm(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	webLatest := eng.Ref("encoo/console-web-v4-pvt", "latest")
	rpa := eng.Ref("encoo/rpa-service", "4.1.76383")
	webID := eng.Build(t, web, "ok", 0)
	dockertest.Docker(t, "tag", web, webLatest)
	rpaID := eng.Build(t, rpa, "ok", 0)

	dir := t.TempDir()
	one := filepath.Join(dir, "console-web-v4-pvt-4.1.76383.tar")
	eng.Save(t, one, web, webLatest)
	both := filepath.Join(dir, "both.tar")
	eng.Save(t, both, web, webLatest, rpa)
	rpaTar := filepath.Join(dir, "rpa.tar")
	eng.Save(t, rpaTar, rpa)
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Images no docker save here can write: the OCI layouts of other tools and Docker 25+.
	oci := archivetest.Random(t, 2, eng.Ref("oci/pure", "1"))
	oci25 := archivetest.Random(t, 1, eng.Ref("oci/docker25", "1"))

	forms := []struct {
		name string
		data []byte
		want map[string]string
	}{
		{"plain.tar", read(one), map[string]string{web: webID, webLatest: webID}},
		{"save-gzip.tgz", archivetest.Compress(t, "gzip", read(both)), map[string]string{web: webID, rpa: rpaID}},
		{"vendor.tar.gz", archivetest.Compress(t, "gzip", archivetest.Bundle(t,
			archivetest.File{Name: "console-web-v4-pvt-4.1.76383.tar", Data: read(one)},
			archivetest.File{Name: "rpa.tar", Data: read(rpaTar)})), map[string]string{web: webID, webLatest: webID, rpa: rpaID}},
		{"save.tar.zst", archivetest.Compress(t, "zstd", read(both)), map[string]string{web: webID, rpa: rpaID}},
		{"save.tar.xz", archivetest.Compress(t, "xz", read(both)), map[string]string{web: webID, rpa: rpaID}},
		{"oci-pure.tar", archivetest.OCI(t, []archivetest.Image{oci}, false), map[string]string{eng.Ref("oci/pure", "1"): archivetest.ID(t, oci.Img)}},
		{"oci-docker25.tar.gz", archivetest.Compress(t, "gzip", archivetest.OCI(t, []archivetest.Image{oci25}, true)), map[string]string{eng.Ref("oci/docker25", "1"): archivetest.ID(t, oci25.Img)}},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			p := filepath.Join(dir, f.name)
			if err := os.WriteFile(p, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			for ref := range f.want {
				eng.Remove(t, ref)
			}
			out, errOut, code := imgup(t, "load", p)
			if code != 0 {
				t.Fatalf("imgup load: exit %d\n%s%s", code, out, errOut)
			}
			for ref, id := range f.want {
				if got := eng.ImageID(t, ref); got != id {
					t.Errorf("after load, %s is %q, want %s", ref, got, id)
				}
				if !strings.Contains(out, "Loaded image: "+ref) {
					t.Errorf("output does not say it loaded %s:\n%s", ref, out)
				}
			}
			out, _, code = imgup(t, "load", p)
			if code != 0 || strings.Contains(out, "Loaded image:") || !strings.Contains(out, "Already loaded") {
				t.Errorf("second load: exit %d, want every image skipped:\n%s", code, out)
			}
		})
	}
}

func TestLoadBrokenArchivesLoadNothing(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	ref := eng.Ref("encoo/vicode-service", "9.9.9")
	eng.Build(t, ref, "ok", 0)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar")
	eng.Save(t, good, ref)
	eng.Remove(t, ref)
	data, _ := os.ReadFile(good)
	gz := archivetest.Compress(t, "gzip", data)
	img := archivetest.Random(t, 2, eng.Ref("encoo/broken", "1"))
	cases := map[string][]byte{
		"truncated.tar.gz":     gz[:len(gz)*2/3],
		"missing-layer.tar":    archivetest.Classic(t, []archivetest.Image{img}, func(n string) bool { return strings.HasSuffix(n, "layer.tar") }),
		"random.tar.gz":        bytes.Repeat([]byte{0x1f, 0x8b, 8, 0, 1, 2, 3}, 300),
		"no-image-inside.tgz":  archivetest.Compress(t, "gzip", archivetest.Bundle(t, archivetest.File{Name: "notes.txt", Data: []byte("hello")})),
		"truncated-inside.tgz": archivetest.Compress(t, "gzip", archivetest.Bundle(t, archivetest.File{Name: "x.tar", Data: data[:len(data)/2]})),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			os.WriteFile(p, b, 0o644)
			out, errOut, code := imgup(t, "load", p)
			if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, p) {
				t.Errorf("exit %d, stderr %q: want exit 1 and one line naming the file", code, errOut)
			}
			_ = out
			for _, r := range []string{ref, eng.Ref("encoo/broken", "1")} {
				if id := eng.ImageID(t, r); id != "" {
					t.Errorf("%s was loaded from a broken archive", r)
				}
			}
		})
	}
}
