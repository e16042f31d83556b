//go:build e2e

// These tests prove --restart services with compose v1 and v2: only the updated
// services' containers are recreated, with the project, files and folder their
// containers were made with; every other container keeps its ID; a ${VAR} image in
// vicode/ is updated through .systemconfig; a rollback uses the same method.
package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/history"
)

func TestRestartServices(t *testing.T) {
	heavy(t)
	for _, c := range []struct{ name, compose, version string }{
		{"v1", "docker-compose", "compose 1."},
		{"v2", "docker compose", "compose "},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "v2" && exec.Command("docker", "compose", "version").Run() != nil {
				t.Fatal("compose v2 (docker compose) is not installed: ./scripts/test.sh builds it")
			}
			eng := dockertest.New(t)
			s := startSample(t, eng, "s"+c.name, deploytest.Options{Compose: c.compose})
			before := s.containers(t)
			web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
			vic := eng.Ref("encoo/vicode-service", "2.0.200")
			webID, vicID := eng.Build(t, web, "ok", 0), eng.Build(t, vic, "ok", 0)
			dir := t.TempDir()
			eng.Save(t, filepath.Join(dir, "web.tar"), web)
			eng.Save(t, filepath.Join(dir, "vicode.tar"), vic)
			eng.Remove(t, web, vic)

			out, errOut, code := imgup(t, "apply", "--yes", "--restart", "services", "-C", s.dir, "--timeout", "60s", dir)
			if code != 0 {
				t.Fatalf("apply --restart services: exit %d\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, "as the running containers were made: project "+eng.Project("s"+c.name)) || !strings.Contains(errOut, c.version) {
				t.Errorf("compose was not run as the containers were made:\n%s", errOut)
			}
			if !strings.Contains(out, "DOWNTIME") {
				t.Errorf("no downtime in the final table:\n%s", out)
			}
			project, vproject := eng.Project("s"+c.name), eng.Project("s"+c.name)+"-vicode"
			updated := map[string]string{project + "/console-web": webID, vproject + "/vicode-service": vicID}
			after := s.waitHealthy(t, 30e9)
			for key, ct := range after {
				if id, ok := updated[key]; ok {
					if ct.Image != id || ct.ID == before[key].ID {
						t.Errorf("%s: image %s container %s, want the new image in a new container", key, ct.Image, ct.ID[:12])
					}
				} else if ct.ID != before[key].ID {
					t.Errorf("%s was recreated (container %s -> %s); only updated services may be", key, before[key].ID[:12], ct.ID[:12])
				}
			}
			if !strings.Contains(s.file(t, "vicode/.systemconfig"), "vicode-service:2.0.200") {
				t.Errorf("vicode/.systemconfig not updated:\n%s", s.file(t, "vicode/.systemconfig"))
			}
			recs, _ := history.List(s.dir)
			if len(recs) != 1 || recs[0].Restart != "services" || recs[0].Updates[0].Downtime == "" {
				t.Errorf("record: %+v", recs)
			}

			// Rollback recreates the same services the same way.
			out, errOut, code = imgup(t, "rollback", "--yes", "-C", s.dir, "--timeout", "60s")
			if code != 0 {
				t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
			}
			for key, ct := range s.waitHealthy(t, 30e9) {
				if _, ok := updated[key]; ok {
					if ct.Image != before[key].Image {
						t.Errorf("after rollback %s runs %s, want %s", key, ct.Image, before[key].Image)
					}
				} else if ct.ID != before[key].ID {
					t.Errorf("rollback recreated %s", key)
				}
			}
			s.expectFiles(t, nil)
		})
	}
}
