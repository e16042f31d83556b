//go:build e2e

// This test locks down what imgup prune removes: only old images of repositories imgup
// updated, never one a container uses or a recorded update could roll back to (unless
// asked), and always the newest --keep.
package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

func TestPrune(t *testing.T) {
	parallel(t)
	eng := dockertest.New(t)
	dir := t.TempDir()
	p := eng.Prefix + "/"
	deploytest.Write(dir, deploytest.Options{Prefix: p})
	old := eng.Ref("encoo/console-web-v4-pvt", deploytest.WebVersion)
	other := eng.Ref("encoo/rpa-service", "0.0.1") // a repository imgup never updated
	eng.Build(t, old, "ok", 0)
	eng.Build(t, other, "ok", 0)
	for _, tag := range []string{"4.1.76383", "4.1.76384"} {
		time.Sleep(1100 * time.Millisecond) // distinct creation times
		ref := eng.Ref("encoo/console-web-v4-pvt", tag)
		eng.Build(t, ref, "ok", 0)
		arch := filepath.Join(t.TempDir(), tag+".tar")
		eng.Save(t, arch, ref)
		if out, errOut, code := imgup(t, "apply", "--yes", "--restart", "none", "-C", dir, arch); code != 0 {
			t.Fatalf("apply %s: exit %d\n%s%s", tag, code, out, errOut)
		}
	}
	out, errOut, code := imgup(t, "prune", "--yes", "--keep", "1", "-C", dir)
	if code != 0 || !strings.Contains(out, "nothing to remove") || !strings.Contains(out, "rollback target of update") {
		t.Errorf("prune: exit %d, want rollback targets kept\n%s%s", code, out, errOut)
	}
	out, errOut, code = imgup(t, "prune", "--yes", "--keep", "1", "--include-rollback-images", "-C", dir)
	if code != 0 || !strings.Contains(out, "removed 2 image reference(s)") {
		t.Errorf("prune --include-rollback-images: exit %d\n%s%s", code, out, errOut)
	}
	for ref, want := range map[string]bool{old: false, eng.Ref("encoo/console-web-v4-pvt", "4.1.76383"): false,
		eng.Ref("encoo/console-web-v4-pvt", "4.1.76384"): true, other: true} {
		if got := eng.ImageID(t, ref) != ""; got != want {
			t.Errorf("%s present = %v, want %v", ref, got, want)
		}
	}
}
