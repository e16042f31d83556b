//go:build e2e

// These tests run imgup on real public products' compose deployments, laid out as
// their installers leave them (testdata/public/README.md): versions in .env, in a
// release file .env links to, in a ${VAR-default} default, whole references in .env,
// files not named docker-compose.yml. Images are made under the products' real names
// (with a tag of the run's own); plan, apply --restart none and rollback must change
// exactly the version's characters, and put them back.
package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

type public struct {
	dir string
	// refs are the new images; @RUN@ becomes the run's own tag suffix.
	refs []string
	// edits are the expected changes: file -> [old, new].
	edits map[string][2]string
	// updated are services the plan must list.
	updated []string
}

func TestPublicDeployments(t *testing.T) {
	parallel(t)
	eng := dockertest.New(t)
	for _, p := range []public{
		{dir: "jitsi", refs: []string{"ghcr.io/jitsi/web:stable-9999-@RUN@", "ghcr.io/jitsi/prosody:stable-9999-@RUN@", "ghcr.io/jitsi/jicofo:stable-9999-@RUN@", "ghcr.io/jitsi/jvb:stable-9999-@RUN@"},
			edits:   map[string][2]string{".env": {"\nJITSI_IMAGE_VERSION=stable-9955\n", "\nJITSI_IMAGE_VERSION=stable-9999-@RUN@\n"}},
			updated: []string{"console/web", "console/prosody", "console/jicofo", "console/jvb"}},
		{dir: "otel-demo", refs: []string{"ghcr.io/open-feature/flagd:v0.16.1-@RUN@"},
			edits:   map[string][2]string{".env": {"FLAGD_IMAGE=ghcr.io/open-feature/flagd:v0.16.0\n", "FLAGD_IMAGE=ghcr.io/open-feature/flagd:v0.16.1-@RUN@\n"}},
			updated: []string{"console/flagd"}},
		{dir: "superset", refs: []string{"apachesuperset.docker.scarf.sh/apache/superset:4.1.2-@RUN@"},
			edits:   map[string][2]string{"docker/release.env": {"TAG=4.1.1\n", "TAG=4.1.2-@RUN@\n"}},
			updated: []string{"console/superset", "console/superset-init", "console/superset-worker", "console/superset-worker-beat"}},
		{dir: "dolphinscheduler", refs: []string{"ghcr.io/apache/dolphinscheduler/dolphinscheduler-tools:3.2.3-@RUN@", "ghcr.io/apache/dolphinscheduler/dolphinscheduler-api:3.2.3-@RUN@",
			"ghcr.io/apache/dolphinscheduler/dolphinscheduler-alert-server:3.2.3-@RUN@", "ghcr.io/apache/dolphinscheduler/dolphinscheduler-master:3.2.3-@RUN@", "ghcr.io/apache/dolphinscheduler/dolphinscheduler-worker:3.2.3-@RUN@"},
			edits:   map[string][2]string{".env": {"\nTAG=3.2.2\n", "\nTAG=3.2.3-@RUN@\n"}},
			updated: []string{"console/dolphinscheduler-api", "console/dolphinscheduler-worker"}},
		{dir: "nacos", refs: []string{"nacos/nacos-server:v3.2.4-@RUN@"},
			edits:   map[string][2]string{".env": {"NACOS_VERSION=v3.2.3", "NACOS_VERSION=v3.2.4-@RUN@"}},
			updated: []string{"console/nacos"}},
		{dir: "netbox-docker", refs: []string{"netboxcommunity/netbox:v4.1-3.0.3-@RUN@"},
			edits:   map[string][2]string{"docker-compose.yml": {"${VERSION-v4.1-3.0.2}", "${VERSION-v4.1-3.0.3-@RUN@}"}},
			updated: []string{"console/netbox", "console/netbox-worker", "console/netbox-housekeeping"}},
	} {
		t.Run(p.dir, func(t *testing.T) {
			tag := "t" + eng.Run
			root := filepath.Join(t.TempDir(), p.dir)
			if err := deploytest.Copy(filepath.Join("testdata", "public", p.dir), root, nil); err != nil {
				t.Fatal(err)
			}
			orig := snapshotFiles(t, root)
			var refs []string
			for _, r := range p.refs {
				r = strings.ReplaceAll(r, "@RUN@", tag)
				eng.Build(t, r, "ok", 0)
				refs = append(refs, r)
			}
			archive := filepath.Join(t.TempDir(), p.dir+"-update.tar.gz")
			dockertest.Docker(t, append([]string{"save", "-o", archive}, refs...)...)
			eng.Remove(t, refs...)

			out, errOut, code := imgup(t, "plan", "-C", root, archive)
			if code != 0 {
				t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
			}
			for _, u := range p.updated {
				if !strings.Contains(out, "\n   "+u+" ") {
					t.Errorf("the plan does not update %s:\n%s", u, out)
				}
			}
			out, errOut, code = imgup(t, "apply", "--yes", "--restart", "none", "-C", root, archive)
			if code != 0 {
				t.Fatalf("apply --restart none: exit %d\n%s\n%s", code, out, errOut)
			}
			want := map[string]string{}
			for f, b := range orig {
				want[f] = b
			}
			for f, e := range p.edits {
				if strings.Count(want[f], e[0]) != 1 {
					t.Fatalf("test bug: %q is not once in %s", e[0], f)
				}
				want[f] = strings.Replace(want[f], e[0], strings.ReplaceAll(e[1], "@RUN@", tag), 1)
			}
			expectSame(t, root, want)
			// Applying it again is a no-op: already up to date, no record, no change.
			if out, errOut, code = imgup(t, "apply", "--yes", "--restart", "none", "-C", root, archive); code != 0 || !strings.Contains(out+errOut, "Already up to date") {
				t.Errorf("apply again: exit %d, want 0 and already up to date\n%s\n%s", code, out, errOut)
			}
			expectSame(t, root, want)
			if fi, err := os.Lstat(filepath.Join(root, ".env")); err == nil && p.dir == "superset" && fi.Mode()&os.ModeSymlink == 0 {
				t.Error("superset's .env is no longer a symlink")
			}
			for _, r := range refs {
				if eng.ImageID(t, r) == "" {
					t.Errorf("%s was not loaded", r)
				}
			}
			if out, errOut, code = imgup(t, "rollback", "--yes", "-C", root); code != 0 {
				t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
			}
			expectSame(t, root, orig)
		})
	}
}
