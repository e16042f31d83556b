//go:build e2e

package nodestore

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"

	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/nodestore/nodestoretest"
)

// testImages builds, on the real engine, a base image (one layer of baseSize) and an
// app image on it (one more layer of appSize), and saves each with docker save (the
// classic layout of Engine 20.10). It returns the two archives and the app's refs.
func testImages(t *testing.T, baseSize, appSize int) (baseTar, appTar, appRef string, e *dockertest.Engine) {
	e = dockertest.New(t)
	base, app := e.Ref("nodestore-base", "1"), e.Ref("nodestore-app", "2")
	e.BuildOn(t, base, "scratch", baseSize)
	e.BuildOn(t, app, base, appSize)
	dir := t.TempDir()
	baseTar, appTar = filepath.Join(dir, "base.tar"), filepath.Join(dir, "app.tar")
	e.Save(t, baseTar, base)
	e.Save(t, appTar, app)
	return baseTar, appTar, app, e
}

// layerSizes reads a docker-save tar's layer.tar sizes, in manifest order.
func layerSizes(t *testing.T, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sizes := map[string]int64{}
	var m []struct{ Layers []string }
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes[h.Name] = h.Size
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out []int64
	for _, l := range m[0].Layers {
		out = append(out, sizes[l])
	}
	return out
}

func dial(t *testing.T, addr string) *Node {
	t.Helper()
	n, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func diffIDs(t *testing.T, ref string) []digest.Digest {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", ref).Output()
	if err != nil {
		t.Fatal(err)
	}
	var ids []digest.Digest
	if err := json.Unmarshal(out, &ids); err != nil {
		t.Fatal(err)
	}
	return ids
}

// Node A has the base, node B nothing: A is sent the app layer only, B both layers;
// the image is recorded, labelled, unpacked and seen by ctr; a second import writes
// nothing; Pin, Unpin and Remove work.
func TestImportPerNodeDelta(t *testing.T) {
	ctx := context.Background()
	baseTar, appTar, appRef, e := testImages(t, 3<<20, 1<<20)
	sizes := layerSizes(t, appTar)
	da, db := nodestoretest.Start(t), nodestoretest.Start(t)
	a, b := dial(t, da.Addr), dial(t, db.Addr)
	if !strings.HasPrefix(a.Version, "1.6") {
		t.Logf("containerd %s", a.Version)
	}
	opt := ImportOptions{Snapshotter: "native"}
	if _, err := Import(ctx, []*Node{a}, baseTar, opt); err != nil {
		t.Fatal(err)
	}
	res, err := Import(ctx, []*Node{a, b}, appTar, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("layers %v; A: %+v; B: %+v", sizes, res[0], res[1])
	base, app := sizes[0], sizes[1]
	ra, rb := res[0], res[1]
	if ra.Written > ra.Missing*11/10 || rb.Written > rb.Missing*11/10 {
		t.Errorf("written more than 1.1 x missing: A %d/%d, B %d/%d", ra.Written, ra.Missing, rb.Written, rb.Missing)
	}
	if ra.Written < app || ra.Written >= app+base/2 {
		t.Errorf("A (has the base) was written %d bytes; its app layer is %d, the base %d", ra.Written, app, base)
	}
	if rb.Written < app+base {
		t.Errorf("B (has nothing) was written %d bytes, less than both layers (%d)", rb.Written, app+base)
	}
	if ra.Skipped != 1 || rb.Skipped != 0 {
		t.Errorf("skipped: A %d (want 1: the base), B %d", ra.Skipped, rb.Skipped)
	}
	id := digest.Digest(e.ImageID(t, appRef))
	name := "docker.io/" + appRef
	ids := diffIDs(t, appRef)
	chain := identity.ChainID(ids).String()
	for i, n := range []*Node{a, b} {
		d := []*nodestoretest.Daemon{da, db}[i]
		if got := res[i].Images; len(got) != 1 || got[0].Name != name || got[0].ID != id {
			t.Errorf("%s: imported %+v, want %s %s", n, got, name, id)
		}
		imgs, err := Images(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if imgs[name] != id {
			t.Errorf("%s: Images %v, want %s -> %s", n, imgs, name, id)
		}
		have, err := Have(ctx, n, append(ids, id))
		if err != nil {
			t.Fatal(err)
		}
		for _, dg := range append(ids, id) {
			if !have[dg] {
				t.Errorf("%s lacks %s", n, dg)
			}
		}
		ls := d.Ctr(t, "images", "ls")
		line := grepLine(ls, name)
		if line == "" || !strings.Contains(line, res[i].Images[0].Manifest.String()) ||
			!strings.Contains(line, "io.cri-containerd.image=managed") || !strings.Contains(line, "io.cri-containerd.pinned=pinned") {
			t.Errorf("%s: ctr images ls:\n%s", n, ls)
		}
		// The manifest ctr shows names the config digest: the kubelet's image ID.
		if m := d.Ctr(t, "content", "get", res[i].Images[0].Manifest.String()); !strings.Contains(m, id.String()) {
			t.Errorf("%s: manifest %s does not name config %s", n, m, id)
		}
		if !strings.Contains(d.Ctr(t, "snapshots", "--snapshotter", "native", "ls"), chain) {
			t.Errorf("%s: no snapshot %s: not unpacked", n, chain)
		}
		if out := d.Ctr(t, "images", "check", "--snapshotter", "native"); !strings.Contains(grepLine(out, name), "complete") || !strings.HasSuffix(strings.TrimSpace(grepLine(out, name)), "true") {
			t.Errorf("%s: ctr images check:\n%s", n, out)
		}
	}
	again, err := Import(ctx, []*Node{a, b}, appTar, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Written != 0 {
			t.Errorf("second import wrote %d bytes to %s", r.Written, r.Node)
		}
	}
	if err := Unpin(ctx, b, name); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(grepLine(db.Ctr(t, "images", "ls"), name), "pinned") {
		t.Error("Unpin left the label")
	}
	if err := Pin(ctx, b, name); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(grepLine(db.Ctr(t, "images", "ls"), name), "io.cri-containerd.pinned=pinned") {
		t.Error("Pin set no label")
	}
	if err := Remove(ctx, b, name); err != nil {
		t.Fatal(err)
	}
	if imgs, _ := Images(ctx, b); len(imgs) != 0 {
		t.Errorf("after Remove: %v", imgs)
	}
	if err := Remove(ctx, b, name); err == nil || !strings.Contains(err.Error(), "node "+db.Addr) {
		t.Errorf("second Remove: %v", err)
	}
}

func grepLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
