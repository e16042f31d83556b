//go:build e2e

// These tests prove the delta load on the real engine: an image whose base the engine
// has loads from every archive form with only its new layers sent, and runs; without
// the base it loads in full; two images on one base load from one archive; a stale
// inventory (a base removed after it was read) is caught by the engine and the load
// is retried with every layer; and the inventory of a 200-image engine is quick.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/engine"
)

// runs proves an image's file system works: its program starts (MODE=exit prints and
// exits at once).
func runs(t *testing.T, ref string) {
	t.Helper()
	out, _ := execOut("docker", "run", "--rm", "-e", "MODE=exit", ref)
	if !strings.Contains(out, "starting") {
		t.Fatalf("a container of %s does not run: %s", ref, out)
	}
}

func TestDeltaLoadEveryForm(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	base := eng.Ref("encoo/console-base", "1")
	app := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	eng.Build(t, base, "ok", 8) // testapp and 8 MB: two layers
	appID := eng.BuildOn(t, app, base, 1<<20)
	dir := t.TempDir()
	plain := filepath.Join(dir, "app.tar")
	eng.Save(t, plain, app)
	raw, _ := os.ReadFile(plain)
	forms := map[string][]byte{"app.tar": raw}
	for c, ext := range map[string]string{"gzip": "gz", "zstd": "zst", "xz": "xz"} {
		forms["app.tar."+ext] = archivetest.Compress(t, c, raw)
	}
	forms["vendor.tar.gz"] = archivetest.Compress(t, "gzip", archivetest.Bundle(t, archivetest.File{Name: "console-web-v4-pvt-4.1.76383.tar", Data: raw}))
	for name, b := range forms {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	v := newVendor(t)
	forms["app.bundle"] = nil
	v.create(t, "app.bundle", "--version", "1", app)
	os.Rename(filepath.Join(v.dir, "app.bundle"), filepath.Join(dir, "app.bundle"))

	for name := range forms {
		eng.Remove(t, app)
		out, errOut, code := imgup(t, "load", "--trust", v.pub, filepath.Join(dir, name))
		if code != 0 {
			t.Fatalf("%s: load exit %d\n%s%s", name, code, out, errOut)
		}
		if !strings.Contains(out, "2 layer(s) already present") {
			t.Errorf("%s: the base was sent again:\n%s%s", name, out, errOut)
		}
		if id := eng.ImageID(t, app); id != appID {
			t.Fatalf("%s: loaded %s, want %s", name, id, appID)
		}
		runs(t, app)
	}

	// Without the base, everything that is missing goes; the image runs.
	eng.Remove(t, app, base)
	out, errOut, code := imgup(t, "load", filepath.Join(dir, "app.tar.gz"))
	if code != 0 || strings.Contains(out, "2 layer(s) already present") || strings.Contains(out, "3 layer(s)") {
		t.Fatalf("base absent: exit %d\n%s%s", code, out, errOut)
	}
	if eng.ImageID(t, app) != appID {
		t.Fatal("base absent: wrong image")
	}
	runs(t, app)
}

func TestDeltaTwoImagesOneBase(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	base := eng.Ref("encoo/console-base", "2")
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76390")
	rpa := eng.Ref("encoo/rpa-service", "4.1.76390")
	eng.Build(t, base, "ok", 4)
	webID, rpaID := eng.BuildOn(t, web, base, 1<<20), eng.BuildOn(t, rpa, base, 1<<20)
	p := filepath.Join(t.TempDir(), "both.tar")
	eng.Save(t, p, web, rpa)
	gz := p + ".gz"
	raw, _ := os.ReadFile(p)
	os.WriteFile(gz, archivetest.Compress(t, "gzip", raw), 0o644)
	eng.Remove(t, web, rpa)
	out, errOut, code := imgup(t, "load", gz)
	if code != 0 || !strings.Contains(out, "2 layer(s) already present") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if eng.ImageID(t, web) != webID || eng.ImageID(t, rpa) != rpaID {
		t.Fatal("wrong images")
	}
	runs(t, web)
	runs(t, rpa)
}

// A base removed after the inventory was read: the engine refuses the stream that
// leaves it out, and imgup loads again with every layer.
func TestDeltaStaleInventory(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	base := eng.Ref("encoo/console-base", "3")
	app := eng.Ref("encoo/console-web-v4-pvt", "4.1.76391")
	eng.Build(t, base, "ok", 4)
	appID := eng.BuildOn(t, app, base, 1<<20)
	p := filepath.Join(t.TempDir(), "app.tar")
	eng.Save(t, p, app)
	ctx := context.Background()
	c, err := engine.Dial(ctx, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stale, _, err := apply.Inventory(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	eng.Remove(t, app, base)
	var notes []string
	_, loaded, err := apply.LoadArchive(ctx, c, p, apply.LoadOptions{Have: stale, Emit: func(e apply.Event) { notes = append(notes, e.Text) }})
	if err != nil {
		t.Fatalf("load with a stale inventory: %v", err)
	}
	if len(loaded) != 1 || loaded[0].ID != appID || len(notes) != 1 || !strings.Contains(notes[0], "loading again with every layer") {
		t.Fatalf("loaded %+v, notes %q", loaded, notes)
	}
	runs(t, app)
}

// The inventory of an engine with 200 more images stays well under a second.
func TestInventoryOf200Images(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	var imgs []archivetest.Image
	for i := range 200 {
		imgs = append(imgs, archivetest.Random(t, 2, eng.Ref("encoo/many", fmt.Sprint(i))))
	}
	p := filepath.Join(t.TempDir(), "many.tar")
	os.WriteFile(p, archivetest.Classic(t, imgs, nil), 0o644)
	dockertest.Docker(t, "load", "-i", p)
	ctx := context.Background()
	c, err := engine.Dial(ctx, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var best time.Duration
	for range 3 {
		start := time.Now()
		inv, _, err := apply.Inventory(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
		if len(inv.Chains) < 400 {
			t.Fatalf("the inventory has %d chains, want at least 400", len(inv.Chains))
		}
	}
	t.Logf("inventory of %d+ images: %s (best of 3)", len(imgs), best)
	if best > 800*time.Millisecond {
		t.Errorf("the inventory of 200 images took %s", best)
	}
}

// execOut runs a command and returns its combined output.
func execOut(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
