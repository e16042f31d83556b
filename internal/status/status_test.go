package status

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// sample is the sample deployment read as running: every service has a healthy
// container of the image its compose file names, made by compose v1 from its folder.
func sample(t *testing.T) (root string, images map[string]string, cs []engine.Container) {
	t.Helper()
	root = t.TempDir()
	if err := deploytest.Write(root, deploytest.Options{Project: "encoo"}); err != nil {
		t.Fatal(err)
	}
	d, err := deploy.Discover(context.Background(), root, deploy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	images = map[string]string{}
	for i, ref := range deploytest.Images("") {
		images[ref] = "sha256:" + strings.Repeat(string(rune('a'+i)), 64)
	}
	for _, st := range d.Stacks {
		project, files := "encoo", "docker-compose.yml,docker-compose.service.yml"
		if st.Name == "vicode" {
			project, files = "encoo-vicode", "docker-compose.yml"
		}
		for _, svc := range st.Services {
			ref := strings.TrimPrefix(svc.Target.Ref, "docker.io/")
			cs = append(cs, engine.Container{ID: project + svc.Name, Name: project + "_" + svc.Name + "_1", Image: ref, ImageID: images[ref],
				State: "running", Health: "healthy", Labels: map[string]string{engine.LabelProject: project, engine.LabelService: svc.Name,
					engine.LabelWorkingDir: st.Dir, engine.LabelConfig: files, engine.LabelVersion: "1.29.2"}})
		}
	}
	return root, images, cs
}

func report(t *testing.T, root string, images map[string]string, cs []engine.Container, recs []*history.Record) *Report {
	t.Helper()
	d, err := deploy.Discover(context.Background(), root, deploy.Options{Containers: cs})
	if err != nil {
		t.Fatal(err)
	}
	return Make(Input{Deployment: d, Images: images, Containers: cs, History: recs, Interrupted: interrupted(recs)})
}

func interrupted(recs []*history.Record) []*history.Record {
	var out []*history.Record
	for _, r := range recs {
		if r.Unfinished() {
			out = append(out, r)
		}
	}
	return out
}

func kinds(r *Report) map[string]string {
	m := map[string]string{}
	for _, f := range r.Findings {
		m[f.Stack+"/"+f.Service] += f.Kind + " "
	}
	return m
}

// A deployment whose files, images and containers agree has no finding, and every
// service has a row with its config entry where one holds its version.
func TestNoDrift(t *testing.T) {
	root, images, cs := sample(t)
	r := report(t, root, images, cs, nil)
	if len(r.Findings) != 0 {
		t.Fatalf("findings on an agreeing deployment: %+v", r.Findings)
	}
	if len(r.Services) != deploytest.ServiceCount {
		t.Fatalf("%d rows, want %d", len(r.Services), deploytest.ServiceCount)
	}
	for _, s := range r.Services {
		if s.Container == nil || !s.Loaded {
			t.Errorf("%s/%s: %+v", s.Stack, s.Service, s)
		}
		if s.Stack+"/"+s.Service == "console/rpa" && (s.Config == nil || s.Config.Key != "RPA_SERVICE_VERSION") {
			t.Errorf("console/rpa's config entry: %+v", s.Config)
		}
	}
	if txt := r.Text(0, true, i18n.EN); !strings.Contains(txt, "No drift") {
		t.Errorf("text:\n%s", txt)
	}
}

// Each kind of drift is found on the service it concerns, and only there.
func TestEveryDrift(t *testing.T) {
	root, images, cs := sample(t)
	// A forgotten .systemconfig: the compose file moved on, the config did not.
	sc := filepath.Join(root, "docker-compose.service.yml")
	b, _ := os.ReadFile(sc)
	os.WriteFile(sc, []byte(strings.Replace(string(b), "rpa-rdp-service:4.1.70002", "rpa-rdp-service:4.1.79999", 1)), 0o644)
	// An image that is not loaded (rpa-rdp's new tag is not in the engine either).
	delete(images, "infra/redis:1")
	// A container running another image than the file says, one exited, one unhealthy,
	// one missing.
	for i := range cs {
		switch cs[i].Labels[engine.LabelService] {
		case "foundation":
			cs[i].ImageID = "sha256:" + strings.Repeat("f", 64)
		case "rpa-scheduler":
			cs[i].State, cs[i].Health, cs[i].ExitCode = "exited", "", 1
		case "console-web":
			cs[i].Health = "unhealthy"
		}
	}
	var kept []engine.Container
	for _, c := range cs {
		if c.Labels[engine.LabelService] != "vicode-collectionexecutor" {
			kept = append(kept, c)
		}
	}
	recs := []*history.Record{{ID: "20261201-1", Kind: "apply", State: history.Written,
		Updates: []history.Service{{Stack: "console", Service: "rpa", From: "encoo/rpa-service:4.1.70002", To: "encoo/rpa-service:4.1.70003"}}}}
	r := report(t, root, images, kept, recs)
	got := kinds(r)
	want := map[string]string{
		"/":                                "interrupted-update ",
		"console/rpa-rdp":                  "config-drift not-loaded ", // not loaded: nothing to compare the container with
		"console/redis":                    "not-loaded ",
		"console/foundation":               "running-drift ",
		"console/rpa-scheduler":            "not-running ",
		"console/console-web":              "unhealthy ",
		"vicode/vicode-collectionexecutor": "no-container ",
	}
	for k, v := range want {
		if !sameKinds(got[k], v) {
			t.Errorf("%s: findings %q, want %q", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected finding on %s: %s", k, v)
		}
	}
	if r.Findings[0].Kind != Interrupted || !strings.Contains(r.Findings[0].Fix, "imgup rollback -C "+root+" 20261201-1") {
		t.Errorf("the interrupted update comes first, with its undo: %+v", r.Findings[0])
	}
	for _, s := range r.Services {
		if s.Stack+"/"+s.Service == "console/rpa" && (s.LastUpdate == nil || s.LastUpdate.ID != "20261201-1") {
			t.Errorf("console/rpa's last update: %+v", s.LastUpdate)
		}
	}
	// Every finding says what to do, in both languages.
	zh := i18n.New(i18n.Chinese)
	for _, f := range r.Findings {
		if f.Fix == "" || f.FixIn(zh) == "" || f.MessageIn(zh) == f.Message {
			t.Errorf("%s: message %q, fix %q (zh %q)", f.Kind, f.Message, f.Fix, f.MessageIn(zh))
		}
	}
	// The table fits a narrow terminal by leaving out file:line and config, and says so.
	if txt := r.Text(80, false, i18n.EN); !strings.Contains(txt, "left out to fit the terminal") {
		t.Errorf("narrow text:\n%s", txt)
	}
}

func sameKinds(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != len(fb) {
		return false
	}
	seen := map[string]int{}
	for _, k := range fa {
		seen[k]++
	}
	for _, k := range fb {
		seen[k]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
