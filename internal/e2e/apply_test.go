//go:build e2e

// These tests prove the whole runbook (steps 1-5) on the real engine with real
// compose: after imgup apply, the updated services' containers run the new image ID
// and are healthy, every other container still runs, and the files differ from before
// in the tag characters only. A failing image is rolled back by itself.
package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/history"
)

func TestApplyUpdatesTheSampleDeployment(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "a", deploytest.Options{})
	before := s.containers(t)
	p := s.prefix
	// The vendor ships three fixes, in three forms.
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	rpa := eng.Ref("encoo/rpa-service", "4.1.76383")
	vic := eng.Ref("encoo/vicode-service", "2.0.200")
	webID, rpaID, vicID := eng.Build(t, web, "ok", 0), eng.Build(t, rpa, "ok", 0), eng.Build(t, vic, "ok", 0)
	// Two more, in the forms that need imgup's own decompression: the docker.io/-prefixed
	// foundation image as zstd, and vicode-apps-web (its tag is ${VICODE_APPS_WEB_VERSION}) as xz.
	fnd := eng.Ref("encoo/digi4th-foundation-service", "4.1.76383")
	apps := eng.Ref("encoo/vicode-apps-web", "2.0.200")
	fndID, appsID := eng.Build(t, fnd, "ok", 0), eng.Build(t, apps, "ok", 0)
	up := filepath.Join(s.dir, "image")
	inner := filepath.Join(t.TempDir(), "console-web-v4-pvt-4.1.76383.tar")
	eng.Save(t, inner, web)
	innerBytes, _ := os.ReadFile(inner)
	os.WriteFile(filepath.Join(up, "console-web-v4-pvt-4.1.76383.tar.gz"), archivetest.Compress(t, "gzip", archivetest.Bundle(t, archivetest.File{Name: "console-web-v4-pvt-4.1.76383.tar", Data: innerBytes})), 0o644)
	eng.Save(t, filepath.Join(up, "rpa.tar"), rpa)
	rpaBytes, _ := os.ReadFile(filepath.Join(up, "rpa.tar"))
	os.Remove(filepath.Join(up, "rpa.tar"))
	os.WriteFile(filepath.Join(up, "rpa-service.tgz"), archivetest.Compress(t, "gzip", rpaBytes), 0o644)
	eng.Save(t, filepath.Join(up, "vicode-service.tar"), vic)
	for ref, form := range map[string]string{fnd: "zstd", apps: "xz"} {
		tmp := filepath.Join(t.TempDir(), "x.tar")
		eng.Save(t, tmp, ref)
		b, _ := os.ReadFile(tmp)
		os.WriteFile(filepath.Join(up, strings.Split(ref, "/")[2]+".tar."+form), archivetest.Compress(t, form, b), 0o644)
	}
	eng.Remove(t, web, rpa, vic, fnd, apps)

	out, errOut, code := imgup(t, "apply", "--yes", "-C", s.dir, "--timeout", "90s", up)
	if code != 0 {
		t.Fatalf("apply exited %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"load from console-web-v4-pvt-4.1.76383.tar.gz", "./deploy.sh restart", "SERVICE", "updated"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	after := s.waitHealthy(t, 30*time.Second)
	project, vproject := eng.Project("a"), eng.Project("a")+"-vicode"
	wantNew := map[string]string{project + "/console-web": webID, project + "/rpa": rpaID, project + "/rpa-scheduler": rpaID, vproject + "/vicode-service": vicID,
		project + "/foundation": fndID, vproject + "/vicode-apps-web": appsID}
	for key, c := range after {
		if id, ok := wantNew[key]; ok {
			if c.Image != id {
				t.Errorf("%s runs %s, want the new image %s", key, c.Image, id)
			}
		} else if c.Image != before[key].Image {
			t.Errorf("%s changed image from %s to %s", key, before[key].Image, c.Image)
		}
	}
	s.expectFiles(t, map[string][][2]string{
		".systemconfig": {{"console-web-v4-pvt:4.1.70000", "console-web-v4-pvt:4.1.76383"}, {"RPA_SERVICE_VERSION=4.1.70002", "RPA_SERVICE_VERSION=4.1.76383"},
			{"FOUNDATION_SERVICE_VERSION=4.1.70001", "FOUNDATION_SERVICE_VERSION=4.1.76383"}},
		"docker-compose.service.yml": {{p + `encoo/console-web-v4-pvt:4.1.70000"`, p + `encoo/console-web-v4-pvt:4.1.76383"`}, {"rpa-service:4.1.70002\n    command: [\"serve\"]", "rpa-service:4.1.76383\n    command: [\"serve\"]"}, {"rpa-service:4.1.70002\n    command: [\"schedule\"]", "rpa-service:4.1.76383\n    command: [\"schedule\"]"},
			{"docker.io/" + p + "encoo/digi4th-foundation-service:4.1.70001", "docker.io/" + p + "encoo/digi4th-foundation-service:4.1.76383"}},
		"vicode/.systemconfig": {{"vicode-service:2.0.100", "vicode-service:2.0.200"}, {"VICODE_APPS_WEB_VERSION=2.0.100", "VICODE_APPS_WEB_VERSION=2.0.200"}},
	})
	recs, _ := history.List(s.dir)
	if len(recs) != 1 || recs[0].State != history.Verified || len(recs[0].Files) != 3 || len(recs[0].Archives) != 5 || recs[0].Archives[0].SHA256 == "" {
		t.Fatalf("history: %+v", recs)
	}

	// Again: nothing to do, nothing recorded.
	out, _, code = imgup(t, "apply", "--yes", "-C", s.dir, up)
	if code != 0 || !strings.Contains(out, "Already up to date") {
		t.Errorf("second apply: exit %d\n%s", code, out)
	}
	if recs, _ := history.List(s.dir); len(recs) != 1 {
		t.Errorf("second apply recorded an update")
	}

	// A later restart by hand keeps the update: files and containers agree.
	s.deploySh(t, "restart")
	for key, id := range wantNew {
		if c := s.waitHealthy(t, 60*time.Second)[key]; c.Image != id {
			t.Errorf("after deploy.sh restart, %s runs %s, want %s", key, c.Image, id)
		}
	}
	if out, errOut, code := imgup(t, "status", "-C", s.dir); code != 0 || !strings.Contains(out, "No drift") || !strings.Contains(out, recs[0].ID) {
		t.Errorf("status after apply: exit %d\n%s%s", code, out, errOut)
	}

	// Hand edits make drift, and status names each kind.
	compose := filepath.Join(s.dir, "docker-compose.service.yml")
	b, _ := os.ReadFile(compose)
	os.WriteFile(compose, []byte(strings.Replace(string(b), "rpa-rdp-service:4.1.70002", "rpa-rdp-service:4.1.99999", 1)), 0o644)
	now := s.containers(t)
	dockertest.Docker(t, "stop", "-t", "1", now[project+"/mysql"].ID)
	dockertest.Docker(t, "rm", "-f", now[vproject+"/vicode-apps-web"].ID)
	out, _, code = imgup(t, "status", "-C", s.dir)
	for _, want := range []string{"[config-drift] console/rpa-rdp:", "[not-loaded] console/rpa-rdp:", "[not-running] console/mysql:", "[no-container] vicode/vicode-apps-web:"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("status after hand edits: exit %d, want 1 and %q:\n%s", code, want, out)
		}
	}
	// A container running another image than the file says.
	os.WriteFile(compose, b, 0o644)
	dockertest.Docker(t, "tag", s.ids[p+"encoo/rpa-rdp-service:4.1.70002"], p+"encoo/rpa-rdp-web-service:4.1.70002")
	out, _, code = imgup(t, "status", "-C", s.dir)
	if code != 1 || !strings.Contains(out, "[running-drift] console/rpa-rdp-web:") {
		t.Errorf("status after retagging: exit %d:\n%s", code, out)
	}
}

func TestApplyRollsBackAFailingImage(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "b", deploytest.Options{Old: true})
	before := s.containers(t)
	bad := eng.Ref("encoo/rpa-rdp-service", "4.1.99999")
	eng.Build(t, bad, "exit", 0) // exits at once: with restart: always it loops
	arch := filepath.Join(t.TempDir(), "rpa-rdp.tar")
	eng.Save(t, arch, bad)
	eng.Remove(t, bad)

	// The crash loop ends the wait: the undo starts within seconds of the restart, not
	// at the verify timeout (90 s here).
	start := time.Now()
	out, errOut, code := imgup(t, "apply", "--yes", "--json", "-C", s.dir, "--timeout", "90s", arch)
	took := time.Since(start)
	if code != 3 {
		t.Fatalf("apply exited %d, want 3 (rolled back)\n%s\n%s", code, out, errOut)
	}
	var restarted, undo time.Time
	for _, line := range strings.Split(errOut, "\n") {
		var e struct {
			Event, Stage string
			Time         time.Time
		}
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		if e.Event == "stage-started" && e.Stage == "verify" && restarted.IsZero() {
			restarted = e.Time // the restart is done when verification starts
		}
		if e.Event == "stage-started" && e.Stage == "undo" && undo.IsZero() {
			undo = e.Time
		}
	}
	t.Logf("crashing image: restart done to undo start %v; whole apply %v", undo.Sub(restarted).Round(10*time.Millisecond), took.Round(10*time.Millisecond))
	if restarted.IsZero() || undo.IsZero() || undo.Sub(restarted) > 10*time.Second {
		t.Errorf("the undo started %v after the restart, want within 10 s", undo.Sub(restarted))
	}
	for _, want := range []string{"rpa-rdp", "crashed: ", "every change was undone", "configured to fail"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	s.expectFiles(t, nil)
	after := s.waitHealthy(t, 60*time.Second)
	for key, c := range after {
		if c.Image != before[key].Image {
			t.Errorf("%s runs %s after the rollback, want the old %s", key, c.Image, before[key].Image)
		}
	}
	recs, _ := history.List(s.dir)
	if len(recs) != 1 || recs[0].State != history.RolledBack {
		t.Errorf("history: %+v", recs)
	}
	// The same archive again: the plan says, before any question, that it failed.
	if out, errOut, _ := imgup(t, "plan", "-C", s.dir, arch); !strings.Contains(out, "and it was rolled back: verification failed") || !strings.Contains(out, recs[0].ID) {
		t.Errorf("the plan does not remember the failure:\n%s%s", out, errOut)
	}
	// The final table showed what runs after the undo, marked restored, and the attempt.
	if !strings.Contains(out, `"failed_attempt"`) || !strings.Contains(out, `"restored": true`) {
		t.Errorf("the final table does not show the restored state:\n%s", out)
	}

	// A good image then goes through in the old layout: docker-compose.yml holds the image.
	good := eng.Ref("encoo/rpa-rdp-service", "4.1.76383")
	goodID := eng.Build(t, good, "ok", 0)
	eng.Save(t, arch, good)
	if out, errOut, code := imgup(t, "apply", "--yes", "-C", s.dir, "--timeout", "60s", arch); code != 0 {
		t.Fatalf("apply of a good image: exit %d\n%s\n%s", code, out, errOut)
	}
	s.expectFiles(t, map[string][][2]string{
		".systemconfig":      {{"RPA_RDP_SERVICE_VERSION=4.1.70002", "RPA_RDP_SERVICE_VERSION=4.1.76383"}},
		"docker-compose.yml": {{"rpa-rdp-service:4.1.70002", "rpa-rdp-service:4.1.76383"}},
	})
	if c := s.waitHealthy(t, 60*time.Second)[eng.Project("b")+"/rpa-rdp"]; c.Image != goodID {
		t.Errorf("rpa-rdp runs %s, want %s", c.Image, goodID)
	}
}
