// These tests lock down the plan for the sample Encoo deployment: which files change,
// which bytes, why, and the exact text `imgup plan` prints.
package plan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/google/go-cmp/cmp"
)

func sample(t *testing.T, o deploytest.Options) *deploy.Deployment {
	t.Helper()
	dir := t.TempDir()
	if err := deploytest.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	d, err := deploy.Discover(context.Background(), dir, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func arch(path string, refs ...string) *archive.Archive {
	a := &archive.Archive{Path: "/upload/" + path, Compression: archive.Gzip, Parts: []archive.Part{{}}}
	for i, r := range refs {
		a.Parts[0].Images = append(a.Parts[0].Images, archive.Image{Refs: []string{r}, ID: "sha256:" + strings.Repeat(string(rune('a'+i)), 64), Layers: 2, Size: 1000})
	}
	return a
}

func make1(t *testing.T, d *deploy.Deployment, in Input) string {
	t.Helper()
	in.Deployment = d
	in.FreeBytes = -1
	p, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(p.String(), d.Root, "ROOT")
}

func TestPlanNewLayout(t *testing.T) {
	d := sample(t, deploytest.Options{})
	got := make1(t, d, Input{Archives: []*archive.Archive{
		arch("console-web-v4-pvt-4.1.76383.tar.gz", "encoo/console-web-v4-pvt:4.1.76383"),
		arch("rpa.tar.gz", "encoo/rpa-service:4.1.76383", "encoo/vicode-service:2.0.200"),
	}, Images: map[string]string{"encoo/vicode-service:2.0.200": "sha256:" + strings.Repeat("b", 64)}})
	want := `Deployment ROOT
   stack console: compose project encoo, from deploy.sh line 8 (-p encoo), as compose resolves it
      files docker-compose.yml, docker-compose.service.yml (from deploy.sh line 8, in compose's order)
   stack vicode: compose project encoo-vicode, from deploy.sh line 9 (-p encoo-vicode), as compose resolves it
      files vicode/docker-compose.yml (from deploy.sh line 9, in compose's order)

1. Load images
   encoo/console-web-v4-pvt:4.1.76383  aaaaaaaaaaaa  load from console-web-v4-pvt-4.1.76383.tar.gz
   encoo/rpa-service:4.1.76383         aaaaaaaaaaaa  load from rpa.tar.gz
   encoo/vicode-service:2.0.200        bbbbbbbbbbbb  already loaded

2-3. Edit files (only the characters shown change)
   .systemconfig:4  CONSOLE_WEB_IMAGE "encoo/console-web-v4-pvt:4.1.70000" -> "encoo/console-web-v4-pvt:4.1.76383"
      for the version of encoo/console-web-v4-pvt in .systemconfig
   .systemconfig:6  RPA_SERVICE_VERSION "4.1.70002" -> "4.1.76383"
      for the version of encoo/rpa-service in .systemconfig
   vicode/.systemconfig:1  VICODE_SERVICE_IMAGE "encoo/vicode-service:2.0.100" -> "encoo/vicode-service:2.0.200"
      for the version of encoo/vicode-service in .systemconfig
      for service vicode/vicode-service: encoo/vicode-service:2.0.100 -> encoo/vicode-service:2.0.200 (image: ${VICODE_SERVICE_IMAGE})
   docker-compose.service.yml:13  "4.1.70000" -> "4.1.76383"
      for service console/console-web: encoo/console-web-v4-pvt:4.1.70000 -> encoo/console-web-v4-pvt:4.1.76383
   docker-compose.service.yml:19  "4.1.70002" -> "4.1.76383"
      for service console/rpa: encoo/rpa-service:4.1.70002 -> encoo/rpa-service:4.1.76383
   docker-compose.service.yml:23  "4.1.70002" -> "4.1.76383"
      for service console/rpa-scheduler: encoo/rpa-service:4.1.70002 -> encoo/rpa-service:4.1.76383

4. Restart
   ./deploy.sh restart will run
      docker-compose -p encoo-vicode -f docker-compose.yml down  (in vicode)
      docker-compose -p encoo -f docker-compose.yml -f docker-compose.service.yml down
      docker-compose -p encoo -f docker-compose.yml -f docker-compose.service.yml up -d
      docker-compose -p encoo-vicode -f docker-compose.yml up -d  (in vicode)

5. Verify that these run the new image (and are healthy where they have a healthcheck)
   console/console-web    encoo/console-web-v4-pvt:4.1.70000 -> encoo/console-web-v4-pvt:4.1.76383  aaaaaaaaaaaa
   console/rpa            encoo/rpa-service:4.1.70002 -> encoo/rpa-service:4.1.76383                aaaaaaaaaaaa
   console/rpa-scheduler  encoo/rpa-service:4.1.70002 -> encoo/rpa-service:4.1.76383                aaaaaaaaaaaa
   vicode/vicode-service  encoo/vicode-service:2.0.100 -> encoo/vicode-service:2.0.200              bbbbbbbbbbbb
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s\ngot:\n%s", diff, got)
	}
}

func TestPlanOldLayoutOneService(t *testing.T) {
	d := sample(t, deploytest.Options{Old: true})
	got := make1(t, d, Input{Services: []string{"rpa-scheduler"}, Restart: RestartNone,
		Archives: []*archive.Archive{arch("rpa.tar", "encoo/rpa-service:4.1.76383")}})
	for _, want := range []string{
		"   docker-compose.yml:",
		"for service console/rpa-scheduler: encoo/rpa-service:4.1.70002 -> encoo/rpa-service:4.1.76383\n",
		"   none (--restart none): the containers keep their images until the next restart\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "console/rpa:") {
		t.Errorf("--service rpa-scheduler must leave rpa alone:\n%s", got)
	}
}

func TestPlanTagFromVariable(t *testing.T) {
	d := sample(t, deploytest.Options{})
	got := make1(t, d, Input{Archives: []*archive.Archive{arch("web.tar", "encoo/vicode-apps-web:2.0.200")}})
	if !strings.Contains(got, `vicode/.systemconfig:2  VICODE_APPS_WEB_VERSION "2.0.100" -> "2.0.200"`) || strings.Contains(got, "vicode/docker-compose.yml:") {
		t.Errorf("the variable, not the yml, must change:\n%s", got)
	}
}

func TestPlanRefuses(t *testing.T) {
	d := sample(t, deploytest.Options{})
	cases := []struct {
		name string
		in   Input
		want string
	}{
		{"ambiguous config key", Input{Archives: []*archive.Archive{arch("c.tar", "encoo/vicode-collectionexecutor:2.0.200")}},
			"cannot tell which config entry holds the version of encoo/vicode-collectionexecutor; candidates: "},
		{"unknown service", Input{Services: []string{"nope"}, Archives: []*archive.Archive{arch("c.tar", "encoo/rpa-service:2")}},
			`no service "nope" in the deployment; its services are: console/mysql, `},
		{"two tags", Input{Archives: []*archive.Archive{arch("a.tar", "encoo/rpa-service:1", "encoo/rpa-service:2")}},
			"the archives hold encoo/rpa-service under two tags, 1 and 2"},
		{"no deploy.sh", Input{Restart: "bogus", Archives: []*archive.Archive{arch("a.tar", "encoo/rpa-service:2")}},
			`--restart "bogus": use auto, deploy, services, stack, kubectl, helm or none`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.Deployment, c.in.FreeBytes = d, -1
			_, err := Make(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	// With the key named, the same update goes through.
	got := make1(t, d, Input{ConfigKeys: map[string]string{"encoo/vicode-collectionexecutor": "VICODE_COLLECTOR_VERSION"},
		Archives: []*archive.Archive{arch("c.tar", "encoo/vicode-collectionexecutor:2.0.200")}})
	if !strings.Contains(got, `vicode/.systemconfig:3  VICODE_COLLECTOR_VERSION "2.0.100" -> "2.0.200"`) {
		t.Errorf("--config-key not used:\n%s", got)
	}
}

func TestPlanUpToDateAndUnused(t *testing.T) {
	d := sample(t, deploytest.Options{})
	got := make1(t, d, Input{Archives: []*archive.Archive{arch("rpa.tar", "encoo/rpa-service:4.1.70002"), arch("x.tar", "other/thing:1")},
		Images: map[string]string{"encoo/rpa-service:4.1.70002": "sha256:" + strings.Repeat("a", 64)}})
	want := `Deployment ROOT
   stack console: compose project encoo, from deploy.sh line 8 (-p encoo), as compose resolves it
      files docker-compose.yml, docker-compose.service.yml (from deploy.sh line 8, in compose's order)
   stack vicode: compose project encoo-vicode, from deploy.sh line 9 (-p encoo-vicode), as compose resolves it
      files vicode/docker-compose.yml (from deploy.sh line 9, in compose's order)

Nothing to do for the images services use, and 1 image(s) of the archives are used by no service (see the notes): check that these are the archives you meant.

Notes
   other/thing:1 (from x.tar) is used by no service: nothing changes for it
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPlanRefusesSharedAnchor(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte("x-img: &img encoo/app:1\nservices:\n  a:\n    image: *img\n  b:\n    image: *img\n"), 0o644)
	d, err := deploy.Discover(context.Background(), dir, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Make(Input{Deployment: d, FreeBytes: -1, Services: []string{"a"}, Archives: []*archive.Archive{arch("a.tar", "encoo/app:2")}})
	if err == nil || !strings.Contains(err.Error(), "changing these bytes at docker-compose.yml:1 would also change the image of console/b (encoo/app:1), which is not being updated") {
		t.Errorf("got %v", err)
	}
	// Both together is fine: one edit, two causes.
	p, err := Make(Input{Deployment: d, FreeBytes: -1, Archives: []*archive.Archive{arch("a.tar", "encoo/app:2")}})
	if err != nil || len(p.Edits) != 1 || len(p.Edits[0].Cause) != 2 {
		t.Errorf("got %v %+v", err, p)
	}
}

func TestPlanRefusesWithoutSpace(t *testing.T) {
	d := sample(t, deploytest.Options{})
	_, err := Make(Input{Deployment: d, FreeBytes: 1500, Archives: []*archive.Archive{arch("rpa.tar", "encoo/rpa-service:4.1.76383")}})
	if err == nil || !strings.Contains(err.Error(), "not enough disk space where Docker keeps images: loading needs about 2.0 kB") || !strings.Contains(err.Error(), "1.5 kB is free") {
		t.Errorf("got %v", err)
	}
}

// The vicode compose file has CRLF line endings and no final newline; the image is
// single-quoted on the last line. Only the tag's bytes may change.
func TestPlanEditKeepsCRLFAndNoFinalNewline(t *testing.T) {
	d := sample(t, deploytest.Options{})
	p, err := Make(Input{Deployment: d, FreeBytes: -1, ConfigKeys: map[string]string{"encoo/vicode-collectionexecutor": "VICODE_COLLECTOR_VERSION"},
		Archives: []*archive.Archive{arch("c.tar", "encoo/vicode-collectionexecutor:2.0.200")}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(d.Root, "vicode", "docker-compose.yml")
	data, _ := os.ReadFile(file)
	out := string(data)
	for i := len(p.Edits) - 1; i >= 0; i-- {
		if e := p.Edits[i]; e.File == file {
			out = out[:e.Start] + e.New + out[e.End:]
		}
	}
	want := strings.Replace(string(data), "'encoo/vicode-collectionexecutor:2.0.100'", "'encoo/vicode-collectionexecutor:2.0.200'", 1)
	if out != want || !strings.HasSuffix(out, "2.0.200'") || strings.Count(out, "\r\n") != strings.Count(string(data), "\r\n") {
		t.Errorf("edited file:\n%q\nwant\n%q", out, want)
	}
}
