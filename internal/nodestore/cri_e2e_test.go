//go:build e2e

package nodestore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/nodestore/nodestoretest"
)

// What the kubelet sees: the CRI plugin lists the imported image under its tag, with
// the config digest as its ID and no registry digest.
func TestImportSeenByCRI(t *testing.T) {
	ctx := context.Background()
	d := nodestoretest.StartCRI(t)
	n := dial(t, d.Addr)
	img, err := random.Image(512<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cri.tar")
	os.WriteFile(path, archivetest.Classic(t, []archivetest.Image{{Img: img, Tags: []string{"acme/cri:1"}}}, nil), 0o644)
	if _, err := Import(ctx, []*Node{n}, path, ImportOptions{Snapshotter: "native"}); err != nil {
		t.Fatal(err)
	}
	id := archivetest.ID(t, img)
	var seen []nodestoretest.CRIImage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		seen = d.CRIImages(t)
		for _, ci := range seen {
			if slices.Contains(ci.RepoTags, "docker.io/acme/cri:1") {
				t.Logf("CRI: %+v", ci)
				if ci.ID != id || len(ci.RepoDigests) != 0 {
					t.Errorf("CRI lists %+v; want ID %s and no repo digest", ci, id)
				}
				return
			}
		}
	}
	t.Fatalf("the CRI plugin does not list docker.io/acme/cri:1: %+v", seen)
}

// go-containerregistry's tarball form (crane pull --format=tarball): gzip layers named
// <digest>.tar.gz, config first. The layers are written as they are, typed gzip.
func TestImportGGCRTarball(t *testing.T) {
	ctx := context.Background()
	d := nodestoretest.Start(t)
	n := dial(t, d.Addr)
	img, err := random.Image(256<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ggcr.tar")
	os.WriteFile(path, archivetest.GGCR(t, []archivetest.Image{{Img: img, Tags: []string{"acme/ggcr:1"}}}), 0o644)
	res, err := Import(ctx, []*Node{n}, path, ImportOptions{Snapshotter: "native"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Images; len(got) != 1 || got[0].ID.String() != archivetest.ID(t, img) {
		t.Fatalf("%+v", res[0])
	}
	m := d.Ctr(t, "content", "get", res[0].Images[0].Manifest.String())
	if !strings.Contains(m, "application/vnd.docker.image.rootfs.diff.tar.gzip") {
		t.Errorf("manifest: %s", m)
	}
	if out := d.Ctr(t, "images", "check", "--snapshotter", "native"); !strings.HasSuffix(strings.TrimSpace(grepLine(out, "acme/ggcr:1")), "true") {
		t.Errorf("not unpacked: %s", out)
	}
}

// ImportTar takes a docker-save tar that is already streaming (an engine's load), and
// reads it to its end, padding included.
func TestImportTar(t *testing.T) {
	ctx := context.Background()
	d := nodestoretest.Start(t)
	n := dial(t, d.Addr)
	img, err := random.Image(256<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	b := archivetest.Classic(t, []archivetest.Image{{Img: img, Tags: []string{"acme/stream:1"}}}, nil)
	r := bytes.NewReader(append(b, make([]byte, 10240)...))
	res, err := ImportTar(ctx, []*Node{n}, r, ImportOptions{Snapshotter: "native"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res[0].Images; len(got) != 1 || got[0].Name != "docker.io/acme/stream:1" || got[0].ID.String() != archivetest.ID(t, img) || r.Len() != 0 {
		t.Fatalf("%+v, %d bytes unread", res[0], r.Len())
	}
}
