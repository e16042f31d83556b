//go:build e2e

// These tests prove, on the real engine, what the control script's dry run and the root
// rule guard: a folder above a running deployment is "not a deployment" and points at it;
// an archive none of whose images the deployment uses is refused with no change; a
// restart that would start a second copy of a running stack is refused by apply, with no
// change, and --restart services then updates it; a tag written as fixed text around a
// variable (${WEB_TAG:-1.0.0}-ubi8) is updated through the variable's default, on a
// deployment with no control script, whose plan says so; and rollback undoes each.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

func TestDryRunGuards(t *testing.T) {
	parallel(t)
	eng := dockertest.New(t)
	eng.Build(t, eng.Ref("acme/db", "1"), "ok", 0)
	oldWeb := eng.Build(t, eng.Ref("acme/web", "1.0.0"), "ok", 0)
	web := eng.Ref("acme/web", "1.0.1")
	newWeb := eng.Build(t, web, "ok", 0)
	other := eng.Ref("other/thing", "1")
	eng.Build(t, other, "ok", 0)
	archives, unused := t.TempDir(), t.TempDir()
	eng.Save(t, filepath.Join(archives, "web-1.0.1.tar"), web)
	eng.Save(t, filepath.Join(unused, "thing-1.tar"), other)
	eng.Remove(t, web, other)

	name := eng.Project("guard")
	base := t.TempDir()
	root := filepath.Join(base, "products", "console")
	if err := deploytest.Copy(filepath.Join("testdata", "styles", "02-default"), root, strings.NewReplacer("{NAME}", name, "{P}", eng.Prefix+"/")); err != nil {
		t.Fatal(err)
	}
	script(t, root, "deploy.sh", "start")
	t.Cleanup(func() {
		cmd := exec.Command("./deploy.sh", "stop")
		cmd.Dir = root
		cmd.Run()
	})
	before := waitStyle(t, name, 2)
	files := snapshotFiles(t, root)
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := imgup(t, args...)
		if code != want {
			t.Fatalf("imgup %s: exit %d, want %d\n%s\n%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}

	// The folder above is not a deployment, and says where one is.
	out := run(1, "plan", "-C", base, archives)
	if want := "not a deployment: " + base + " (found one at products/console: imgup -C " + root + ")"; !strings.Contains(out, want) {
		t.Errorf("want %q in\n%s", want, out)
	}
	run(1, "apply", "--yes", "-C", base, archives)

	// An archive nothing uses: exit 1, nothing changed.
	out = run(1, "apply", "--yes", "-C", root, unused)
	if !strings.Contains(out, "nothing in these archives is used by this deployment") {
		t.Errorf("no refusal of the unused archive:\n%s", out)
	}

	// A restart that would start another project beside the running one.
	b, _ := os.ReadFile(filepath.Join(root, "deploy.sh"))
	copyScript := strings.Replace(string(b), "APP_NAME=${APP_NAME:-"+name+"}", "APP_NAME=${APP_NAME:-"+name+"x}", 1)
	os.WriteFile(filepath.Join(root, "deploy.sh"), []byte(copyScript), 0o755)
	files["deploy.sh"] = copyScript
	out = run(0, "plan", "-C", root, archives)
	if !strings.Contains(out, "would start compose project "+name+"x") || !strings.Contains(out, "REFUSED") || !strings.Contains(out, "docker-compose -p "+name+"x up -d") {
		t.Errorf("the plan does not name the second copy:\n%s", out)
	}
	out = run(1, "apply", "--yes", "-C", root, archives)
	if !strings.Contains(out, "second copy of the stack") || !strings.Contains(out, "nothing was changed") {
		t.Errorf("apply did not refuse the second copy:\n%s", out)
	}
	expectSame(t, root, files)
	for svc, c := range waitStyle(t, name, 2) {
		if c.ID != before[svc].ID {
			t.Errorf("%s was recreated by a refused apply", svc)
		}
	}
	run(0, "apply", "--yes", "--restart", "services", "--timeout", "90s", "-C", root, archives)
	if now := waitStyle(t, name, 2); now["web"].Image != newWeb || now["db"].ID != before["db"].ID {
		t.Errorf("after --restart services: web runs %s (want %s), db %s (want %s)", short(now["web"].Image), short(newWeb), short(now["db"].ID), short(before["db"].ID))
	}
	run(0, "rollback", "--yes", "--timeout", "90s", "-C", root)
	if now := waitStyle(t, name, 2); now["web"].Image != oldWeb {
		t.Errorf("after rollback web runs %s, want %s", short(now["web"].Image), short(oldWeb))
	}
	expectSame(t, root, files)
}

func TestFixedTextAroundVariable(t *testing.T) {
	parallel(t)
	eng := dockertest.New(t)
	oldRef, newRef := eng.Ref("acme/mongo", "8.2-ubi8"), eng.Ref("acme/mongo", "8.3-ubi8")
	oldID := eng.Build(t, oldRef, "ok", 0)
	newID := eng.Build(t, newRef, "ok", 0)
	archives := t.TempDir()
	eng.Save(t, filepath.Join(archives, "mongo-8.3.tar"), newRef)
	eng.Remove(t, newRef)

	name := eng.Project("fixed")
	root := filepath.Join(t.TempDir(), name)
	os.MkdirAll(root, 0o755)
	compose := "services:\n" +
		"  mongodb:\n" +
		"    image: " + eng.Prefix + "/acme/mongo:${MONGODB_VERSION:-8.2}-ubi8  # as Rocket.Chat writes it\n" +
		"    restart: unless-stopped\n" +
		"    healthcheck:\n      test: [\"CMD\", \"/testapp\", \"health\"]\n      interval: 1s\n      timeout: 2s\n      retries: 3\n      start_period: 2s\n"
	os.WriteFile(filepath.Join(root, "compose.yml"), []byte(compose), 0o644)
	up := exec.Command("docker-compose", "up", "-d")
	up.Dir = root
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		down := exec.Command("docker-compose", "down")
		down.Dir = root
		down.Run()
	})
	if c := waitStyle(t, name, 1); c["mongodb"].Image != oldID {
		t.Fatalf("mongodb runs %s", c["mongodb"].Image)
	}
	files := snapshotFiles(t, root)
	out, errOut, code := imgup(t, "apply", "--yes", "--timeout", "90s", "-C", root, archives)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out+errOut, "There is no deploy.sh here") {
		t.Errorf("the plan does not say there is no control script:\n%s", out)
	}
	b, _ := os.ReadFile(filepath.Join(root, "compose.yml"))
	if want := strings.Replace(compose, "${MONGODB_VERSION:-8.2}", "${MONGODB_VERSION:-8.3}", 1); string(b) != want {
		t.Errorf("compose.yml:\n%s\nwant:\n%s", b, want)
	}
	if c := waitStyle(t, name, 1); c["mongodb"].Image != newID || c["mongodb"].Health != "healthy" {
		t.Errorf("mongodb runs %s (%s), want %s healthy", short(c["mongodb"].Image), c["mongodb"].Health, short(newID))
	}
	if _, errOut, code := imgup(t, "rollback", "--yes", "--timeout", "90s", "-C", root); code != 0 {
		t.Fatalf("rollback: exit %d\n%s", code, errOut)
	}
	if c := waitStyle(t, name, 1); c["mongodb"].Image != oldID {
		t.Errorf("after rollback mongodb runs %s", short(c["mongodb"].Image))
	}
	expectSame(t, root, files)
}
