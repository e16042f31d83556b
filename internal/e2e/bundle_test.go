//go:build e2e

// These tests prove vendor bundles on the real engine: the vendor makes a signed bundle
// from its engine's images; the operator verifies, plans and applies it; the service
// runs the new image with the new environment; rollback puts every byte back; a
// differential bundle ships only the new layer; and every bad bundle is refused with
// one line, exit 1 and nothing changed. minisign's own command signs and verifies
// bundles interchangeably with imgup.
package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/history"
)

// vendor is the vendor's side: a key pair and a folder to build bundles in.
type vendor struct {
	dir, key, pub string
}

func newVendor(t *testing.T) *vendor {
	v := &vendor{dir: t.TempDir()}
	v.key, v.pub = filepath.Join(v.dir, "encoo.key"), filepath.Join(v.dir, "encoo.pub")
	if out, errOut, code := imgup(t, "bundle", "keygen", filepath.Join(v.dir, "encoo")); code != 0 {
		t.Fatalf("keygen: %d\n%s%s", code, out, errOut)
	}
	return v
}

func (v *vendor) create(t *testing.T, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(v.dir, name)
	all := append([]string{"bundle", "create", "-o", out, "--key", v.key, "--name", "console-fix"}, args...)
	if o, e, code := imgup(t, all...); code != 0 {
		t.Fatalf("bundle create: exit %d\n%s%s", code, o, e)
	}
	return out
}

func envOf(t *testing.T, id string) string {
	return dockertest.Docker(t, "inspect", "--format", "{{range .Config.Env}}{{.}} {{end}}", id)
}

// trust makes the deployment trust the vendor's key, as an operator does once.
func (s *sample) trust(v *vendor) {
	trusted := filepath.Join(s.dir, ".imgup", "trusted")
	os.MkdirAll(trusted, 0o755)
	pub, _ := os.ReadFile(v.pub)
	os.WriteFile(filepath.Join(trusted, "encoo.pub"), pub, 0o644)
	s.files[".imgup/trusted/encoo.pub"] = pub
}

func TestBundleEndToEnd(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "k", deploytest.Options{})
	p := s.prefix
	project := eng.Project("k")
	before := s.containers(t)
	repo := p + "encoo/console-web-v4-pvt"
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	webID := eng.Build(t, web, "ok", 0)

	// The vendor: a bundle from its engine's image, for console-web only, with a new
	// key next to its group, a secret, a new environment entry and a constraint.
	v := newVendor(t)
	notes := filepath.Join(v.dir, "notes.md")
	os.WriteFile(notes, []byte("Fixes the login page.\n"), 0o644)
	fix := v.create(t, "fix.bundle", "--version", "4.1.76383", "--notes", notes,
		"--service", repo+"=console/console-web",
		"--set", ".systemconfig:CONSOLE_WEB_REPLICAS=2", "--set", ".systemconfig:MYSQL_PASSWORD=N3w-s3cret",
		"--set-env", "console/console-web:LOG_LEVEL=debug",
		"--requires", repo+">=4.1.70000", web)
	eng.Remove(t, web)

	// The operator: nothing is trusted yet.
	if _, errOut, code := imgup(t, "bundle", "verify", "-C", s.dir, fix); code != 1 || !strings.Contains(errOut, "no key is trusted here") {
		t.Fatalf("verify without a trusted key: exit %d\n%s", code, errOut)
	}
	s.trust(v)
	if out, errOut, code := imgup(t, "bundle", "verify", "-C", s.dir, fix); code != 0 || !strings.Contains(out, "every blob matches its digest") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code := imgup(t, "bundle", "inspect", "--json", "-C", s.dir, fix)
	var ins struct {
		Manifest struct {
			Images  []struct{ Services []string }
			Changes []struct{ Key, Env string }
		}
		Signature struct{ Verified bool }
	}
	if code != 0 || json.Unmarshal([]byte(out), &ins) != nil || !ins.Signature.Verified || len(ins.Manifest.Images) != 1 ||
		ins.Manifest.Images[0].Services[0] != "console/console-web" || len(ins.Manifest.Changes) != 3 {
		t.Fatalf("inspect: exit %d\n%s", code, out)
	}

	out, errOut, code := imgup(t, "plan", "-C", s.dir, fix)
	for _, want := range []string{"Bundle console-fix 4.1.76383", "verified against the trusted keys", "requires " + repo + " 4.1.70000 or later: met",
		`CONSOLE_WEB_REPLICAS add line "CONSOLE_WEB_REPLICAS=2"`, `MYSQL_PASSWORD "***" -> "***"`, "LOG_LEVEL add line", "environment LOG_LEVEL=debug", "Fixes the login page."} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s%s", want, out, errOut)
		}
	}
	if strings.Contains(out, "N3w-s3cret") {
		t.Errorf("plan shows the secret:\n%s", out)
	}
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errOut)
	}

	out, errOut, code = imgup(t, "apply", "--yes", "-C", s.dir, "--timeout", "90s", fix)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	after := s.waitHealthy(t, 30*time.Second)
	if c := after[project+"/console-web"]; c.Image != webID || !strings.Contains(envOf(t, c.ID), "LOG_LEVEL=debug") {
		t.Fatalf("console-web runs %s with env %q; want %s with LOG_LEVEL=debug", c.Image, envOf(t, c.ID), webID)
	}
	for key, c := range after {
		if key != project+"/console-web" && c.Image != before[key].Image {
			t.Errorf("%s changed image: the bundle names console-web only", key)
		}
	}
	s.expectFiles(t, map[string][][2]string{
		".systemconfig": {{"CONSOLE_WEB_IMAGE=" + p + "encoo/console-web-v4-pvt:4.1.70000\n", "CONSOLE_WEB_IMAGE=" + p + "encoo/console-web-v4-pvt:4.1.76383\nCONSOLE_WEB_REPLICAS=2\n"},
			{"MYSQL_PASSWORD='Encoo@4.1.70000!'", "MYSQL_PASSWORD='N3w-s3cret'"}},
		"docker-compose.service.yml": {{`console-web-v4-pvt:4.1.70000" # console front end` + "\n", `console-web-v4-pvt:4.1.76383" # console front end` + "\n    environment:\n      LOG_LEVEL: debug\n"}},
	})
	recs, _ := history.List(s.dir)
	if len(recs) != 1 || len(recs[0].Bundles) != 1 || !recs[0].Bundles[0].Verified || len(recs[0].Table) == 0 || len(recs[0].Stages) != 4 {
		t.Fatalf("record: %+v", recs)
	}

	// The report for the vendor.
	out, _, code = imgup(t, "history", "-C", s.dir, "--report", recs[0].ID)
	for _, want := range []string{"console-fix", "4.1.76383", recs[0].Bundles[0].KeyID, "CONSOLE_WEB_REPLICAS", "MYSQL_PASSWORD | `***` | `***`", "## Containers after the update", "| restart |", "console/console-web"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "N3w-s3cret") {
		t.Errorf("the report shows the secret")
	}

	// Rollback: every byte back, the old image and environment run.
	if out, errOut, code := imgup(t, "rollback", "--yes", "-C", s.dir, "--timeout", "90s"); code != 0 {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	s.expectFiles(t, nil)
	back := s.waitHealthy(t, 30*time.Second)
	if c := back[project+"/console-web"]; c.Image != before[project+"/console-web"].Image || strings.Contains(envOf(t, c.ID), "LOG_LEVEL") {
		t.Fatalf("after rollback console-web runs %s, env %q", c.Image, envOf(t, c.ID))
	}

	// A differential bundle: one new layer on the image the first bundle shipped, which
	// the engine still has. It leaves out the base's layers and applies.
	web2 := eng.Ref("encoo/console-web-v4-pvt", "4.1.76390")
	web2ID := eng.BuildOn(t, web2, webID, 2<<20)
	full := v.create(t, "full.bundle", "--version", "4.1.76390", web2)
	delta := v.create(t, "delta.bundle", "--version", "4.1.76390", "--base", fix, web2)
	eng.Remove(t, web2)
	fst, _ := os.Stat(full)
	dst, _ := os.Stat(delta)
	t.Logf("differential bundle: %d bytes, the full one %d", dst.Size(), fst.Size())
	if dst.Size() >= fst.Size() {
		t.Errorf("the differential bundle (%d bytes) is not smaller than the full one (%d)", dst.Size(), fst.Size())
	}
	out, errOut, code = imgup(t, "apply", "--yes", "-C", s.dir, "--timeout", "90s", "--service", "console-web", delta)
	if code != 0 || !strings.Contains(out, "differential: builds on bundle console-fix 4.1.76383") {
		t.Fatalf("apply delta: exit %d\n%s%s", code, out, errOut)
	}
	if c := s.waitHealthy(t, 30*time.Second)[project+"/console-web"]; c.Image != web2ID {
		t.Fatalf("after the differential bundle console-web runs %s, want %s", c.Image, web2ID)
	}
}

func TestBundleRefusals(t *testing.T) {
	heavy(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "l", deploytest.Options{})
	repo := s.prefix + "encoo/rpa-service"
	rpa := eng.Ref("encoo/rpa-service", "4.1.76383")
	eng.Build(t, rpa, "ok", 0)
	v := newVendor(t)
	good := v.create(t, "good.bundle", "--version", "1", rpa)
	tooNew := v.create(t, "toonew.bundle", "--version", "2", "--requires", repo+">=4.2", rpa)
	noSvc := v.create(t, "nosvc.bundle", "--version", "3", "--service", repo+"=console/rpa-worker", rpa)
	other := newVendor(t)
	wrongKey := other.create(t, "other.bundle", "--version", "4", rpa)
	unsigned := filepath.Join(v.dir, "unsigned.bundle")
	if o, e, code := imgup(t, "bundle", "create", "--unsigned", "-o", unsigned, "--name", "x", "--version", "5", rpa); code != 0 {
		t.Fatalf("create --unsigned: %d %s%s", code, o, e)
	}
	eng.Remove(t, rpa)
	s.trust(v)

	dir := t.TempDir()
	tamperedBlob, tamperedManifest, truncated := filepath.Join(dir, "blob.bundle"), filepath.Join(dir, "manifest.bundle"), filepath.Join(dir, "trunc.bundle")
	var biggest string
	var size int
	archivetest.Rewrite(t, good, filepath.Join(dir, "scan"), func(n string, b []byte) ([]byte, []archivetest.File) {
		if strings.HasPrefix(n, "blobs/") && len(b) > size {
			biggest, size = n, len(b)
		}
		return b, nil
	})
	archivetest.Rewrite(t, good, tamperedBlob, func(n string, b []byte) ([]byte, []archivetest.File) {
		if n == biggest {
			b[len(b)/2] ^= 0x40
		}
		return b, nil
	})
	archivetest.Rewrite(t, good, tamperedManifest, func(n string, b []byte) ([]byte, []archivetest.File) {
		if n == "bundle.json" {
			b = bytes.Replace(b, []byte(`"*"`), []byte(`"console/rpa"`), 1)
		}
		return b, nil
	})
	raw, _ := os.ReadFile(good)
	os.WriteFile(truncated, raw[:len(raw)*2/3], 0o644)

	cases := []struct{ name, file, want string }{
		{"tampered blob", tamperedBlob, "does not have the digest its name says"},
		{"tampered manifest", tamperedManifest, "altered after it was signed"},
		{"wrong key", wrongKey, "which is not trusted here"},
		{"unsigned", unsigned, "the bundle is not signed"},
		{"truncated", truncated, "truncated"},
		{"constraint not met", tooNew, "needs " + repo + " 4.2 or later; the deployment runs 4.1.70002"},
		{"no such service", noSvc, "console/rpa-worker, which is not a service of this deployment"},
	}
	for _, c := range cases {
		out, errOut, code := imgup(t, "apply", "--yes", "-C", s.dir, c.file)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 1 || !strings.Contains(errOut, c.want) || len(lines) != 1 {
			t.Errorf("%s: exit %d, want 1 and one line with %q:\n%s%s", c.name, code, c.want, out, errOut)
		}
		if id := eng.ImageID(t, rpa); id != "" {
			t.Fatalf("%s: the image was loaded", c.name)
		}
		if recs, _ := history.List(s.dir); len(recs) != 0 {
			t.Fatalf("%s: an update was recorded", c.name)
		}
		s.expectFiles(t, nil)
	}
	// --allow-unsigned lets it through, loudly.
	out, errOut, code := imgup(t, "plan", "--allow-unsigned", "-C", s.dir, unsigned)
	if code != 0 || !strings.Contains(out, "WARNING: NOT SIGNED") || !strings.Contains(errOut, "accepted only because of --allow-unsigned") {
		t.Errorf("plan --allow-unsigned: exit %d\n%s%s", code, out, errOut)
	}
}

// TestMinisignInterop checks imgup's signatures against Debian's minisign command, both
// ways: minisign -V accepts what imgup signs, and imgup accepts what minisign -S signs
// with a key minisign -G made.
func TestMinisignInterop(t *testing.T) {
	parallel(t)
	if _, err := exec.LookPath("minisign"); err != nil {
		t.Fatal("minisign is not installed: scripts/test.sh installs it (apt-get install minisign)")
	}
	eng := dockertest.New(t)
	img := eng.Ref("encoo/rpa-service", "9.9.9")
	eng.Build(t, img, "ok", 0)
	v := newVendor(t)
	signed := v.create(t, "x.bundle", "--version", "1", img)
	dir := t.TempDir()
	var manifest, sig []byte
	archivetest.Rewrite(t, signed, filepath.Join(dir, "copy"), func(n string, b []byte) ([]byte, []archivetest.File) {
		switch n {
		case "bundle.json":
			manifest = b
		case "bundle.json.minisig":
			sig = b
		}
		return b, nil
	})
	os.WriteFile(filepath.Join(dir, "bundle.json"), manifest, 0o644)
	os.WriteFile(filepath.Join(dir, "bundle.json.minisig"), sig, 0o644)
	if out, err := exec.Command("minisign", "-V", "-p", v.pub, "-m", filepath.Join(dir, "bundle.json")).CombinedOutput(); err != nil {
		t.Fatalf("minisign -V rejects imgup's signature: %v\n%s", err, out)
	}

	// minisign makes a key and signs an unsigned bundle's bundle.json.
	mkey, mpub := filepath.Join(dir, "m.key"), filepath.Join(dir, "m.pub")
	if out, err := exec.Command("minisign", "-G", "-W", "-p", mpub, "-s", mkey).CombinedOutput(); err != nil {
		t.Fatalf("minisign -G: %v\n%s", err, out)
	}
	unsigned := filepath.Join(dir, "unsigned.bundle")
	if o, e, code := imgup(t, "bundle", "create", "--unsigned", "-o", unsigned, "--name", "x", "--version", "1", img); code != 0 {
		t.Fatalf("create --unsigned: %d %s%s", code, o, e)
	}
	eng.Remove(t, img)
	archivetest.Rewrite(t, unsigned, filepath.Join(dir, "u.copy"), func(n string, b []byte) ([]byte, []archivetest.File) {
		if n == "bundle.json" {
			os.WriteFile(filepath.Join(dir, "u.json"), b, 0o644)
		}
		return b, nil
	})
	if out, err := exec.Command("minisign", "-S", "-s", mkey, "-m", filepath.Join(dir, "u.json"), "-t", "signed by minisign").CombinedOutput(); err != nil {
		t.Fatalf("minisign -S: %v\n%s", err, out)
	}
	msig, _ := os.ReadFile(filepath.Join(dir, "u.json.minisig"))
	bySigner := filepath.Join(dir, "minisigned.bundle")
	archivetest.Rewrite(t, unsigned, bySigner, func(n string, b []byte) ([]byte, []archivetest.File) {
		if n == "bundle.json" {
			return b, []archivetest.File{{Name: "bundle.json.minisig", Data: msig}}
		}
		return b, nil
	})
	out, errOut, code := imgup(t, "bundle", "verify", "--trust", mpub, bySigner)
	if code != 0 || !strings.Contains(out, "signature verified") {
		t.Fatalf("imgup rejects minisign's signature: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := imgup(t, "bundle", "verify", "--trust", v.pub, bySigner); code != 1 || !strings.Contains(errOut, "not trusted") {
		t.Fatalf("a bundle signed by another key passed: exit %d %s", code, errOut)
	}
	// imgup signs with minisign's own secret key file too.
	if o, e, code := imgup(t, "bundle", "create", "-o", filepath.Join(dir, "k.bundle"), "--key", mkey, "--name", "x", "--version", "2", filepath.Join(dir, "u.copy")); code != 0 {
		t.Fatalf("create with minisign's key: %d %s%s", code, o, e)
	}
	if _, errOut, code := imgup(t, "bundle", "verify", "--trust", mpub, filepath.Join(dir, "k.bundle")); code != 0 {
		t.Fatalf("verify: %s", errOut)
	}
}
