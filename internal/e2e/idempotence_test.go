//go:build e2e

// These tests prove that applying the same thing twice is a no-op, on the real engine:
// apply X; apply X again (exit 0, "already up to date", no container restarted, no
// record); rollback: the files are byte for byte as before the first apply and the old
// images run. X is an archive, and a bundle with a configuration and an environment
// change; the public deployments are checked the same way in TestPublicDeployments.
package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/history"
)

func TestApplyTwiceIsANoOp(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "twice", deploytest.Options{})
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	eng.Build(t, web, "ok", 0)
	dir := t.TempDir()
	archive := filepath.Join(dir, "web.tar")
	eng.Save(t, archive, web)
	v := newVendor(t)
	fix := v.create(t, "fix.bundle", "--version", "4.1.76383",
		"--service", s.prefix+"encoo/console-web-v4-pvt=console/console-web",
		"--set", ".systemconfig:CONSOLE_WEB_REPLICAS=2", "--set-env", "console/console-web:SSO_ENABLED=true", web)
	eng.Remove(t, web)
	s.trust(v)

	for _, x := range []struct{ name, path string }{{"archive", archive}, {"bundle", fix}} {
		t.Run(x.name, func(t *testing.T) {
			before := s.waitHealthy(t, 60*time.Second)
			if out, errOut, code := imgup(t, "apply", "--yes", "-C", s.dir, "--timeout", "90s", x.path); code != 0 {
				t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
			}
			applied := s.waitHealthy(t, 60*time.Second)
			recs, _ := history.List(s.dir)
			out, errOut, code := imgup(t, "apply", "--yes", "-C", s.dir, "--timeout", "90s", x.path)
			if code != 0 || !strings.Contains(out+errOut, "Already up to date") {
				t.Fatalf("apply again: exit %d, want 0 and already up to date\n%s\n%s", code, out, errOut)
			}
			for key, c := range s.waitHealthy(t, 60*time.Second) {
				if c.ID != applied[key].ID {
					t.Errorf("the second apply restarted %s", key)
				}
			}
			if again, _ := history.List(s.dir); len(again) != len(recs) {
				t.Errorf("the second apply made a record: %d -> %d", len(recs), len(again))
			}
			if out, errOut, code := imgup(t, "rollback", "--yes", "-C", s.dir, "--timeout", "90s"); code != 0 {
				t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
			}
			for key, c := range s.waitHealthy(t, 60*time.Second) {
				if c.Image != before[key].Image {
					t.Errorf("after rollback %s runs %s, want %s", key, c.Image, before[key].Image)
				}
			}
			s.expectFiles(t, nil)
		})
	}
}
