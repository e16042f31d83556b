package plan

import (
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/engine"
)

func bundleOf(a *archive.Archive, m bundle.Manifest) *bundle.Bundle {
	m.Name, m.Version = "fix", "1"
	for _, img := range a.Images() {
		if len(m.Images) < len(a.Images()) {
			m.Images = append(m.Images, bundle.Image{Ref: img.Refs[0], Config: img.ID, Services: []string{"*"}})
		}
	}
	return &bundle.Bundle{Path: a.Path, Manifest: &m, Signature: bundle.Signature{KeyID: "ABCDEF0123456789", Verified: true}}
}

func TestBundleServicesReplaceNameMatching(t *testing.T) {
	d := sample(t, deploytest.Options{})
	a := arch("fix.bundle", "encoo/rpa-service:4.1.76383")
	m := bundle.Manifest{Images: []bundle.Image{{Ref: "encoo/rpa-service:4.1.76383", Config: a.Images()[0].ID, Services: []string{"console/rpa-scheduler"}}}}
	p, err := Make(Input{Deployment: d, Archives: []*archive.Archive{a}, Bundles: []*bundle.Bundle{bundleOf(a, m)}, FreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Updates) != 1 || p.Updates[0].Service != "rpa-scheduler" {
		t.Fatalf("updates: %+v", p.Updates)
	}
	// rpa and rpa-scheduler share RPA_SERVICE_VERSION: changing it for one alone is refused
	// in .systemconfig? No: the key names the version of the image, which both use; the
	// plan shows it, and the compose edit is only rpa-scheduler's line.
	s := p.String()
	if !strings.Contains(s, "Bundle fix 1") || !strings.Contains(s, "signed by key ABCDEF0123456789: verified") {
		t.Fatalf("plan:\n%s", s)
	}

	for name, svc := range map[string]string{"no such service": "console/rpa-worker", "other image": "console/console-web"} {
		m.Images[0].Services = []string{svc}
		_, err := Make(Input{Deployment: d, Archives: []*archive.Archive{a}, Bundles: []*bundle.Bundle{bundleOf(a, m)}, FreeBytes: -1})
		if err == nil || !strings.Contains(err.Error(), svc) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBundleConstraints(t *testing.T) {
	d := sample(t, deploytest.Options{})
	a := arch("fix.bundle", "encoo/rpa-service:4.1.76383")
	for _, c := range []struct {
		req  bundle.Constraint
		want string
	}{
		{bundle.Constraint{Image: "encoo/rpa-service", Min: "4.1.80000"}, "needs encoo/rpa-service 4.1.80000 or later; the deployment runs 4.1.70002 (console/rpa)"},
		{bundle.Constraint{Image: "encoo/rpa-service", Tag: "4.1.1"}, "needs encoo/rpa-service:4.1.1; the deployment runs 4.1.70002"},
		{bundle.Constraint{File: ".systemconfig", Key: "CONSOLE_VERSION", Value: "4.1.1"}, `needs CONSOLE_VERSION=4.1.1 in .systemconfig; it is "4.1.150431"`},
		{bundle.Constraint{File: ".systemconfig", Key: "MYSQL_PASSWORD", Value: "x"}, `needs MYSQL_PASSWORD=*** in .systemconfig; it is "***"`},
		{bundle.Constraint{Image: "encoo/nope", Min: "1"}, "no service of this deployment uses encoo/nope"},
		{bundle.Constraint{Image: "encoo/rpa-service", Min: "4.1.9999"}, ""},
	} {
		_, err := Make(Input{Deployment: d, Archives: []*archive.Archive{a}, Bundles: []*bundle.Bundle{bundleOf(a, bundle.Manifest{Requires: []bundle.Constraint{c.req}})}, FreeBytes: -1})
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.req, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.req, err, c.want)
		}
	}
}

func TestBundleBaseLayers(t *testing.T) {
	d := sample(t, deploytest.Options{})
	a := arch("delta.bundle", "encoo/rpa-service:4.1.76383")
	base := "sha256:" + strings.Repeat("1", 64)
	m := bundle.Manifest{Base: &bundle.Base{Name: "fix", Version: "0"}, Images: []bundle.Image{{Ref: "encoo/rpa-service:4.1.76383", Config: a.Images()[0].ID, Services: []string{"*"},
		Layers: []bundle.Layer{{Digest: "sha256:" + strings.Repeat("2", 64), DiffID: base, InBase: true}, {Digest: "sha256:" + strings.Repeat("3", 64), DiffID: "sha256:" + strings.Repeat("4", 64)}}}}}
	in := Input{Deployment: d, Archives: []*archive.Archive{a}, Bundles: []*bundle.Bundle{bundleOf(a, m)}, FreeBytes: -1, Chains: map[string]bool{}}
	if _, err := Make(in); err == nil || !strings.Contains(err.Error(), "apply the base bundle first") || !strings.Contains(err.Error(), engine.ShortID(base)) {
		t.Fatalf("missing base: %v", err)
	}
	in.Chains[base] = true
	p, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.String(), "differential: builds on bundle fix 0; the engine has the 1 layer(s) it leaves out") {
		t.Fatalf("plan:\n%s", p)
	}
}

func TestBundleChanges(t *testing.T) {
	d := sample(t, deploytest.Options{})
	a := arch("fix.bundle", "encoo/vicode-service:2.0.200")
	m := bundle.Manifest{Changes: []bundle.Change{
		{File: "vicode/.systemconfig", Key: "VICODE_COLLECTOR_DEBUG", Value: "1"},
		{Service: "vicode/vicode-collectionexecutor", Env: "API_TOKEN", Value: "t0ken"},
		{File: ".systemconfig", Key: "CONSOLE_VERSION", Unset: true},
	}}
	p, err := Make(Input{Deployment: d, Archives: []*archive.Archive{a}, Bundles: []*bundle.Bundle{bundleOf(a, m)}, FreeBytes: -1, Containers: nil})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(p.String(), d.Root, "ROOT")
	for _, want := range []string{
		`.systemconfig:3  CONSOLE_VERSION remove line "CONSOLE_VERSION=4.1.150431"`,
		`vicode/.systemconfig:4  VICODE_COLLECTOR_DEBUG add line "VICODE_COLLECTOR_DEBUG=1"`,
		`vicode/docker-compose.yml:`, `API_TOKEN add line "    environment:\r\n      API_TOKEN: ***"`,
		"vicode/vicode-collectionexecutor is not running",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "t0ken") {
		t.Errorf("plan shows the token")
	}
	// The CRLF file without a final newline gets the file's own line ending.
	for _, e := range p.Edits {
		if strings.HasSuffix(e.File, "docker-compose.yml") && e.Key == "API_TOKEN" && !strings.HasPrefix(e.New, "\r\n    environment:\r\n") {
			t.Errorf("edit %q", e.New)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"4.1.9", "4.1.10", -1}, {"4.1.76383", "4.1.70000", 1}, {"2.0", "2.0", 0}, {"1.2-rc1", "1.2-rc2", -1}, {"1.10", "1.9", 1}} {
		if got := CompareVersions(c.a, c.b); (got > 0) != (c.want > 0) || (got < 0) != (c.want < 0) {
			t.Errorf("CompareVersions(%q, %q) = %d", c.a, c.b, got)
		}
	}
}
