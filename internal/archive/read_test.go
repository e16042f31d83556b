// These tests lock down what Read finds in every archive form, the bytes it hands to a
// sink, and the one-line errors for broken input — all without an engine.
package archive_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/google/go-cmp/cmp"
)

func write(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type want struct {
	form   string
	bundle bool
	images []archive.Image
}

func TestReadForms(t *testing.T) {
	web := archivetest.Random(t, 2, "encoo/console-web-v4-pvt:4.1.76383")
	rpa := archivetest.Random(t, 1, "encoo/rpa-service:4.1.76383", "encoo/rpa-service:latest")
	imgs := []archivetest.Image{web, rpa}
	webID, rpaID := archivetest.ID(t, web.Img), archivetest.ID(t, rpa.Img)
	classic := archivetest.Classic(t, imgs, nil)
	oci25 := archivetest.OCI(t, imgs, true)
	ociPure := archivetest.OCI(t, imgs, false)

	both := func(form string) want {
		return want{form: form, images: []archive.Image{
			{Refs: []string{"encoo/console-web-v4-pvt:4.1.76383"}, ID: webID, Layers: 2},
			{Refs: []string{"encoo/rpa-service:4.1.76383", "encoo/rpa-service:latest"}, ID: rpaID, Layers: 1},
		}}
	}
	cases := []struct {
		name string
		data []byte
		want want
	}{
		{"classic.tar", classic, both("docker save tar")},
		{"classic.tar.gz", archivetest.Compress(t, "gzip", classic), both("docker save tar, gzip")},
		{"classic.tar.zst", archivetest.Compress(t, "zstd", classic), both("docker save tar, zstd")},
		{"classic.tar.xz", archivetest.Compress(t, "xz", classic), both("docker save tar, xz")},
		{"oci25.tar", oci25, both("docker save tar (OCI layout)")},
		{"oci-pure.tgz", archivetest.Compress(t, "gzip", ociPure), both("docker save tar (OCI layout), gzip")},
		{"ggcr.tar", archivetest.GGCR(t, imgs), both("docker save tar")},
		{"misnamed.txt", archivetest.Compress(t, "zstd", oci25), both("docker save tar (OCI layout), zstd")},
		{"vendor.tar.gz", archivetest.Compress(t, "gzip", archivetest.Bundle(t,
			archivetest.File{Name: "images/"},
			archivetest.File{Name: "images/console-web.tar", Data: archivetest.Classic(t, imgs[:1], nil)},
			archivetest.File{Name: "README.txt", Data: []byte("load me")},
			archivetest.File{Name: "images/rpa.tar.gz", Data: archivetest.Compress(t, "gzip", archivetest.OCI(t, imgs[1:], true))},
		)), want{form: "tar of 2 docker save tars, gzip", bundle: true, images: both("").images}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := archive.Read(context.Background(), write(t, c.name, c.data), archive.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := a.Images()
			for i := range got {
				if got[i].Size <= 0 {
					t.Errorf("image %d: size %d", i, got[i].Size)
				}
				got[i].Size = 0
			}
			if diff := cmp.Diff(c.want.images, got); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if a.Form() != c.want.form || a.Bundle != c.want.bundle {
				t.Errorf("form %q bundle %v, want %q %v", a.Form(), a.Bundle, c.want.form, c.want.bundle)
			}
		})
	}
}

// collect is a sink that keeps what it is given, one stream per part.
type collect struct{ got [][]byte }

func (c *collect) load(ctx context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	c.got = append(c.got, b)
	return err
}

func TestSinkGetsTheTarAsIs(t *testing.T) {
	img := archivetest.Random(t, 2, "example.com/app:1")
	classic := archivetest.Classic(t, []archivetest.Image{img}, nil)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"plain", classic},
		{"gzip", archivetest.Compress(t, "gzip", classic)},
		{"bundle", archivetest.Compress(t, "gzip", archivetest.Bundle(t, archivetest.File{Name: "x.tar", Data: classic}))},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s collect
			var read int64
			_, err := archive.Read(context.Background(), write(t, "a", c.data), archive.Options{Load: s.load, Progress: func(n int64) { read += n }})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.got) != 1 {
				t.Fatalf("sink called %d times", len(s.got))
			}
			// The sink gets the tar up to and including its end-of-archive blocks.
			got := s.got[0]
			if !bytes.HasPrefix(classic, got) || !bytes.Equal(got[len(got)-1024:], make([]byte, 1024)) {
				t.Errorf("sink got %d bytes that are not the tar's first bytes up to its trailer (tar is %d)", len(got), len(classic))
			}
			if read != int64(len(c.data)) {
				t.Errorf("progress counted %d of %d bytes", read, len(c.data))
			}
		})
	}
}

func TestKeepSkipWithholdsTheEnd(t *testing.T) {
	img := archivetest.Random(t, 1, "example.com/app:1")
	p := write(t, "a.tar", archivetest.Classic(t, []archivetest.Image{img}, nil))
	var sinkErr error
	a, err := archive.Read(context.Background(), p, archive.Options{
		Load: func(ctx context.Context, r io.Reader) error { _, sinkErr = io.ReadAll(r); return sinkErr },
		Keep: func(ctx context.Context, p *archive.Part) error { return archive.ErrSkip },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Parts[0].Skipped || !errors.Is(sinkErr, archive.ErrSkip) {
		t.Errorf("skipped=%v, sink error %v: the sink must not see a complete tar", a.Parts[0].Skipped, sinkErr)
	}
}

func TestPureOCIGetsAManifest(t *testing.T) {
	img := archivetest.Random(t, 2, "example.com/app:1")
	var s collect
	_, err := archive.Read(context.Background(), write(t, "oci.tar", archivetest.OCI(t, []archivetest.Image{img}, false)), archive.Options{Load: s.load})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(s.got[0]))
	var names []string
	var manifest []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "manifest.json" {
			manifest, _ = io.ReadAll(tr)
		}
	}
	if names[len(names)-1] != "manifest.json" || !strings.Contains(string(manifest), `"RepoTags":["example.com/app:1"]`) {
		t.Errorf("entries %v, manifest %s", names, manifest)
	}
}

func TestBadInput(t *testing.T) {
	img := archivetest.Random(t, 2, "encoo/app:1")
	classic := archivetest.Classic(t, []archivetest.Image{img}, nil)
	gz := archivetest.Compress(t, "gzip", classic)
	missing := archivetest.Classic(t, []archivetest.Image{img}, func(n string) bool { return strings.HasSuffix(n, "layer.tar") })
	cases := []struct {
		name, file string
		data       []byte
		want       string
	}{
		{"empty", "e.tar", nil, "is empty (0 bytes)"},
		{"random", "r.tar.gz", bytes.Repeat([]byte("not an archive "), 100), "not an image archive: neither a tar nor gzip"},
		{"truncated gzip", "t.tar.gz", gz[:len(gz)/2], "truncated: the gzip data ends early"},
		{"truncated tar", "t.tar", classic[:len(classic)/2+7], "truncated"},
		{"gzip of text", "g.tar.gz", archivetest.Compress(t, "gzip", bytes.Repeat([]byte("hello "), 200)), "gzip data that is not a tar"},
		{"tar without images", "n.tar", archivetest.Bundle(t, archivetest.File{Name: "notes.txt", Data: []byte("hi")}), "holds no image"},
		{"missing layer", "m.tar", missing, "which is not in the archive"},
		{"bundle with a bad inner tar", "b.tgz", archivetest.Compress(t, "gzip", archivetest.Bundle(t,
			archivetest.File{Name: "ok.tar", Data: classic}, archivetest.File{Name: "bad.tar", Data: missing})), "(inside, bad.tar): manifest.json names layer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, c.file, c.data)
			var s collect
			_, err := archive.Read(context.Background(), p, archive.Options{Load: s.load})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line naming the file and saying %q", err, c.want)
			}
			for i, b := range s.got {
				if len(b) >= 1024 && bytes.Equal(b[len(b)-1024:], make([]byte, 1024)) && !(c.name == "bundle with a bad inner tar" && i == 0) {
					t.Errorf("sink %d received a complete tar for bad input", i)
				}
			}
		})
	}
	_, err := archive.Read(context.Background(), filepath.Join(t.TempDir(), "nope.tar"), archive.Options{})
	if err == nil || !strings.Contains(err.Error(), "nope.tar: no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestUntaggedImage(t *testing.T) {
	img := archivetest.Random(t, 1)
	a, err := archive.Read(context.Background(), write(t, "id.tar", archivetest.Classic(t, []archivetest.Image{img}, nil)), archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Images(); len(got) != 1 || len(got[0].Refs) != 0 || got[0].ID != archivetest.ID(t, img.Img) {
		t.Errorf("got %+v", got)
	}
}
