//go:build e2e

package nodestore

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/nodestore/nodestoretest"
)

// Docker 25's OCI layout (and the pure OCI layout, to which the archive reader adds a
// manifest.json): blobs go as they are, named by digest, and the nodes get the
// archive's own manifest.
func TestImportOCILayout(t *testing.T) {
	ctx := context.Background()
	must := func(img v1.Image, err error) v1.Image {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	layer := func(size int64) v1.Layer {
		l, err := random.Layer(size, types.OCIUncompressedLayer)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return static.NewLayer(b, types.OCIUncompressedLayer) // Docker 25 stores layers uncompressed
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	base = must(mutate.ConfigFile(base, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}}))
	base = must(mutate.AppendLayers(base, layer(2<<20)))
	app := must(mutate.AppendLayers(base, layer(512<<10)))
	dir := t.TempDir()
	for _, withManifest := range []bool{true, false} {
		baseTar, appTar := filepath.Join(dir, "base.tar"), filepath.Join(dir, "app.tar")
		os.WriteFile(baseTar, archivetest.OCI(t, []archivetest.Image{{Img: base, Tags: []string{"acme/base:1"}}}, withManifest), 0o644)
		os.WriteFile(appTar, archivetest.OCI(t, []archivetest.Image{{Img: app, Tags: []string{"acme/app:2"}}}, withManifest), 0o644)
		da, db := nodestoretest.Start(t), nodestoretest.Start(t)
		a, b := dial(t, da.Addr), dial(t, db.Addr)
		opt := ImportOptions{Snapshotter: "native"}
		if _, err := Import(ctx, []*Node{a}, baseTar, opt); err != nil {
			t.Fatal(err)
		}
		res, err := Import(ctx, []*Node{a, b}, appTar, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("manifest.json %v: A %+v, B %+v", withManifest, res[0], res[1])
		ls, _ := app.Layers()
		baseSize, _ := ls[0].Size()
		appSize, _ := ls[1].Size()
		if w := res[0].Written; w < appSize || w >= appSize+baseSize/2 || w > res[0].Missing*11/10 {
			t.Errorf("A (has the base) written %d, lacked %d; app layer %d", w, res[0].Missing, appSize)
		}
		if w := res[1].Written; w < appSize+baseSize || w > res[1].Missing*11/10 {
			t.Errorf("B (has nothing) written %d, lacked %d", w, res[1].Missing)
		}
		id, _ := app.ConfigName()
		md, _ := app.Digest()
		for i, n := range []*Node{a, b} {
			got := res[i].Images
			if len(got) != 1 || got[0].Name != "docker.io/acme/app:2" || got[0].ID.String() != id.String() || got[0].Manifest != digest.Digest(md.String()) {
				t.Errorf("%s: %+v, want config %s, manifest %s", n, got, id, md)
			}
			d := []*nodestoretest.Daemon{da, db}[i]
			if out := d.Ctr(t, "images", "check", "--snapshotter", "native"); grepLine(out, "acme/app:2") == "" || grepLine(out, "complete") == "" {
				t.Errorf("%s: %s", n, out)
			}
		}
	}
}

// An archive that ends early fails the import, named, and leaves no image record and
// no lease on either node: what was written is garbage for containerd's GC.
func TestImportTruncatedLeavesNothing(t *testing.T) {
	ctx := context.Background()
	img, err := random.Image(1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	b := archivetest.Classic(t, []archivetest.Image{{Img: img, Tags: []string{"acme/cut:1"}}}, nil)
	path := filepath.Join(t.TempDir(), "cut.tar")
	os.WriteFile(path, b[:len(b)*3/4], 0o644)
	da, db := nodestoretest.Start(t), nodestoretest.Start(t)
	a, bn := dial(t, da.Addr), dial(t, db.Addr)
	_, err = Import(ctx, []*Node{a, bn}, path, ImportOptions{Snapshotter: "native"})
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("import of a truncated archive: %v", err)
	}
	for _, d := range []*nodestoretest.Daemon{da, db} {
		if out := d.Ctr(t, "images", "ls", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("%s: images after a failed import: %s", d.Addr, out)
		}
		if out := d.Ctr(t, "leases", "ls", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("%s: leases after a failed import: %s", d.Addr, out)
		}
	}
}
