package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/archive/archivetest"
)

type fixture struct {
	dir, pub, key string
	trust         *Trust
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	f := &fixture{dir: dir, key: filepath.Join(dir, "vendor.key"), pub: filepath.Join(dir, "vendor.pub")}
	if _, err := GenerateKey(filepath.Join(dir, "vendor"), ""); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.trust, err = LoadTrust(dir, []string{f.pub}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) create(t *testing.T, name string, imgs []archivetest.Image, o CreateOptions) string {
	t.Helper()
	src := filepath.Join(f.dir, name+".src.tar.gz")
	if err := os.WriteFile(src, archivetest.Compress(t, "gzip", archivetest.Classic(t, imgs, nil)), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := LoadKey(f.key, "")
	if err != nil {
		t.Fatal(err)
	}
	o.Name, o.Version, o.Archives, o.Out = name, "1.0", []string{src}, filepath.Join(f.dir, name+".bundle")
	if o.Key == nil {
		o.Key = &k
	}
	if _, err := Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o.Out
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	img := archivetest.Random(t, 3, "encoo/console-web-v4-pvt:4.1.76383")
	p := f.create(t, "web", []archivetest.Image{img}, CreateOptions{
		Services: map[string][]string{"encoo/console-web-v4-pvt": {"console/console-web"}},
		Changes:  []Change{{File: ".systemconfig", Key: "FEATURE_X", Value: "on"}, {Service: "console/console-web", Env: "LOG_LEVEL", Value: "debug"}},
		Requires: []Constraint{{Image: "encoo/console-web-v4-pvt", Min: "4.1.70000"}},
		Notes:    map[string]string{"en": "fixes login", "zh": "修复登录"},
	})
	if !IsBundle(p) {
		t.Fatal("IsBundle: false")
	}
	b, err := Open(p, OpenOptions{Trust: f.trust})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Signature.Verified || b.Signature.KeyID == "" {
		t.Fatalf("signature: %+v", b.Signature)
	}
	a, err := b.Read(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	imgs := a.Images()
	if len(imgs) != 1 || imgs[0].ID != archivetest.ID(t, img.Img) || imgs[0].Refs[0] != "encoo/console-web-v4-pvt:4.1.76383" {
		t.Fatalf("images: %+v", imgs)
	}
	if got := b.Manifest.Images[0].Services; len(got) != 1 || got[0] != "console/console-web" {
		t.Fatalf("services: %v", got)
	}
	// The engine gets a stream it can load: a docker-save manifest.json is added.
	var loaded bytes.Buffer
	o := b.ReadOptions(nil, nil)
	o.Load = func(_ context.Context, r io.Reader) error { _, err := io.Copy(&loaded, r); return err }
	if _, err := archive.Read(context.Background(), p, o); err != nil {
		t.Fatal(err)
	}
	if !tarHas(t, loaded.Bytes(), "manifest.json") {
		t.Fatal("no manifest.json in the load stream")
	}
}

func tarHas(t *testing.T, b []byte, name string) bool {
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			return false
		}
		if h.Name == name {
			return true
		}
	}
}

var rewrites int

// rewrite copies the bundle's tar, letting edit change an entry's bytes (nil drops it).
func rewrite(t *testing.T, p string, edit func(name string, b []byte) []byte) string {
	t.Helper()
	rewrites++
	q := fmt.Sprintf("%s.changed%d", p, rewrites)
	archivetest.Rewrite(t, p, q, func(n string, b []byte) ([]byte, []archivetest.File) { return edit(n, b), nil })
	return q
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	img := archivetest.Random(t, 2, "encoo/rpa-service:2.0")
	p := f.create(t, "rpa", []archivetest.Image{img}, CreateOptions{})
	other := newFixture(t)
	raw, _ := os.ReadFile(p)
	trunc := filepath.Join(f.dir, "trunc.bundle")
	os.WriteFile(trunc, raw[:len(raw)/2], 0o644)
	firstLayer := ""
	{
		b, _ := Open(p, OpenOptions{Trust: f.trust})
		firstLayer = strings.TrimPrefix(b.Manifest.Images[0].Layers[0].Digest, "sha256:")
	}
	cases := []struct {
		name, path string
		trust      *Trust
		want       string
	}{
		{"tampered blob", rewrite(t, p, func(n string, b []byte) []byte {
			if strings.HasSuffix(n, firstLayer) {
				b[len(b)/2] ^= 1
			}
			return b
		}), f.trust, "does not have the digest its name says"},
		{"tampered manifest", rewrite(t, p, func(n string, b []byte) []byte {
			if n == ManifestName {
				return bytes.Replace(b, []byte(`"version": "1.0"`), []byte(`"version": "9.0"`), 1)
			}
			return b
		}), f.trust, "altered after it was signed"},
		{"wrong key", p, other.trust, "not trusted here"},
		{"unsigned", rewrite(t, p, func(n string, b []byte) []byte {
			if n == SignatureName {
				return nil
			}
			return b
		}), f.trust, "not signed"},
		{"changed index", rewrite(t, p, func(n string, b []byte) []byte {
			if n == "index.json" {
				return append(b, ' ')
			}
			return b
		}), f.trust, "index.json does not match"},
		{"truncated", trunc, f.trust, "truncated"},
		{"no trust", p, &Trust{}, "no key is trusted here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Open(c.path, OpenOptions{Trust: c.trust})
			if err == nil {
				_, err = b.Read(context.Background(), nil)
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("more than one line: %q", err)
			}
		})
	}
	// --allow-unsigned lets an unknown key's bundle through, saying who signed it.
	b, err := Open(p, OpenOptions{Trust: other.trust, AllowUnsigned: true})
	if err != nil || b.Signature.Verified || b.Signature.KeyID == "" {
		t.Fatalf("allow unsigned: %v %+v", err, b)
	}
	if _, err := Open(p, OpenOptions{Trust: other.trust}); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("untrusted: %v is not ErrUnsigned", err)
	}
}

func TestDifferential(t *testing.T) {
	f := newFixture(t)
	base := archivetest.Random(t, 3, "encoo/rpa-service:1.0")
	top, err := random.Layer(512, "application/vnd.docker.image.rootfs.diff.tar")
	if err != nil {
		t.Fatal(err)
	}
	next, err := mutate.AppendLayers(base.Img, top)
	if err != nil {
		t.Fatal(err)
	}
	bp := f.create(t, "base", []archivetest.Image{base}, CreateOptions{})
	bb, err := Open(bp, OpenOptions{Trust: f.trust})
	if err != nil {
		t.Fatal(err)
	}
	dp := f.create(t, "delta", []archivetest.Image{{Img: next, Tags: []string{"encoo/rpa-service:1.1"}}}, CreateOptions{Base: bb})
	db, err := Open(dp, OpenOptions{Trust: f.trust})
	if err != nil {
		t.Fatal(err)
	}
	var inBase int
	for _, l := range db.Manifest.Images[0].Layers {
		if l.InBase {
			inBase++
		}
	}
	if inBase != 3 || db.Manifest.Base == nil || db.Manifest.Base.Manifest != bb.Digest {
		t.Fatalf("in base: %d, base %+v", inBase, db.Manifest.Base)
	}
	a, err := db.Read(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.Parts[0].Lacking); n != 3 {
		t.Fatalf("lacking %d layers, want 3", n)
	}
	if chains := db.Manifest.BaseLayers()["encoo/rpa-service:1.1"]; len(chains) != 3 {
		t.Fatalf("base chains: %v", chains)
	}
}

func TestConfigFile(t *testing.T) {
	for name, want := range map[string]bool{".systemconfig": true, "vicode/.systemconfig": true, ".env": true, "vicode/.env": true,
		"../.env": false, "/etc/.env": false, "a/b/.env": false, "docker-compose.yml": false, "./.env": false} {
		if ConfigFile(name) != want {
			t.Errorf("ConfigFile(%q) = %v", name, !want)
		}
	}
}

// writeTar writes a tar of the given entries in order.
func writeTar(t *testing.T, p string, entries ...*tar.Header) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			body := bytes.Repeat([]byte("{"), int(h.Size))
			if h.Name == ManifestName && h.Size == int64(len(validManifest)) {
				body = []byte(validManifest)
			}
			tw.Write(body)
		}
	}
	tw.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

var validManifest = `{"schema":"imgup.bundle/v1","name":"x","version":"1","index":{"digest":"sha256:` + zeros + `","size":1},` +
	`"images":[{"ref":"a:1","config":"sha256:` + zeros + `","manifest":{"digest":"sha256:` + zeros + `","size":1},"layers":[],"services":["*"]}],"blobs":[{"digest":"sha256:` + zeros + `","size":1}]}`

// Hostile bundles: whatever bundle.json or its signature claim, Open refuses them in
// one line without reading more than its limit.
func TestHostileBundles(t *testing.T) {
	dir := t.TempDir()
	reg := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg}
	}
	cases := []struct {
		name    string
		entries []*tar.Header
		want    string
	}{
		{"huge manifest", []*tar.Header{reg(ManifestName, maxManifest+1)}, "is not a file of at most 4 MiB"},
		{"manifest is a symlink", []*tar.Header{{Name: ManifestName, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}, "is not a file of at most"},
		{"huge signature", []*tar.Header{reg(ManifestName, int64(len(validManifest))), reg(SignatureName, maxManifest+1)}, "bundle.json.minisig is not a file of at most"},
		{"manifest not JSON", []*tar.Header{reg(ManifestName, 10)}, "bundle.json is not a bundle manifest"},
		{"empty", nil, "no bundle.json at its start"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		writeTar(t, p, c.entries...)
		_, err := Open(p, OpenOptions{AllowUnsigned: true})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", c.name, err, c.want)
		}
	}
	for _, bad := range []string{
		`{"schema":"imgup.bundle/v2","name":"x","version":"1"}`,
		`{"schema":"imgup.bundle/v1","name":"x","version":"1","extra":1}`,
		`{"schema":"imgup.bundle/v1","name":"x","version":"1","index":{"digest":"sha256:` + zeros + `"},"images":[{"ref":"a:1","config":"sha256:` + zeros + `","services":["../x"]}],"blobs":[{"digest":"sha256:` + zeros + `"}]}`,
		`{"schema":"imgup.bundle/v1","name":"x","version":"1","index":{"digest":"sha256:` + zeros + `"},"images":[],"blobs":[],"changes":[{"file":"/etc/.env","key":"A","value":"1"}]}`,
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// A bundle is exactly what was signed: bytes appended after the tar's end are refused
// by verify and by every read; zero padding to a tar record is a tar's own.
func TestAppendedBytesRefused(t *testing.T) {
	f := newFixture(t)
	p := f.create(t, "web", []archivetest.Image{archivetest.Random(t, 1, "encoo/console-web-v4-pvt:4.1.76383")}, CreateOptions{})
	data, _ := os.ReadFile(p)
	for name, tail := range map[string][]byte{
		"garbage":             []byte("garbage\n"),
		"a second tar":        data,
		"zeros past a record": make([]byte, 10241),
	} {
		q := filepath.Join(t.TempDir(), "x.bundle")
		os.WriteFile(q, append(append([]byte{}, data...), tail...), 0o644)
		b, err := Open(q, OpenOptions{Trust: f.trust})
		if err != nil {
			t.Fatalf("%s: open: %v", name, err)
		}
		if _, err := b.Read(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "after the end of its tar") {
			t.Errorf("%s appended: %v", name, err)
		}
	}
	q := filepath.Join(t.TempDir(), "padded.bundle")
	os.WriteFile(q, append(append([]byte{}, data...), make([]byte, 9216)...), 0o644)
	b, err := Open(q, OpenOptions{Trust: f.trust})
	if err == nil {
		_, err = b.Read(context.Background(), nil)
	}
	if err != nil {
		t.Errorf("zero padding to a record: %v", err)
	}
}
