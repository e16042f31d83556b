// Package archivetest writes image archives in the forms operators receive, for tests
// that need no engine: docker 20.10's classic save layout, Docker 25's OCI layout with a
// manifest.json, a pure OCI layout, go-containerregistry's tarball, compressed forms and
// the vendor bundle.
package archivetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Image is an image and the tags to save it under.
type Image struct {
	Img  v1.Image
	Tags []string
}

// Random makes a small random image with n layers.
func Random(t testing.TB, layers int64, tags ...string) Image {
	t.Helper()
	img, err := random.Image(256, layers)
	if err != nil {
		t.Fatal(err)
	}
	return Image{Img: img, Tags: tags}
}

// ID is the image ID the engine reports: the config digest.
func ID(t testing.TB, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

type tw struct {
	t  testing.TB
	tw *tar.Writer
}

func (w tw) dir(n string) {
	w.t.Helper()
	if err := w.tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		w.t.Fatal(err)
	}
}

func (w tw) file(n string, b []byte) {
	w.t.Helper()
	if err := w.tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.tw.Write(b); err != nil {
		w.t.Fatal(err)
	}
}

// must keeps the writers short; a failure here is a bug in the test itself.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func layerTar(t testing.TB, l v1.Layer) []byte {
	rc := must(l.Uncompressed())
	defer rc.Close()
	return must(io.ReadAll(rc))
}

// Omit names files a writer leaves out, to make broken archives.
type Omit func(name string) bool

// Classic writes the layout `docker save` of Engine 20.10 writes: <v1id>/layer.tar,
// <config-hex>.json, then manifest.json and repositories at the end.
func Classic(t testing.TB, imgs []Image, omit Omit) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tw{t, tar.NewWriter(&buf)}
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var m []entry
	for _, im := range imgs {
		cfg := must(im.Img.RawConfigFile())
		sum := sha256.Sum256(cfg)
		cfgName := hex.EncodeToString(sum[:]) + ".json"
		e := entry{Config: cfgName, RepoTags: im.Tags}
		for i, l := range must(im.Img.Layers()) {
			d := must(l.DiffID())
			v1id := fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(cfgName, i, d))))
			w.dir(v1id + "/")
			w.file(v1id+"/VERSION", []byte("1.0"))
			w.file(v1id+"/json", []byte(`{"id":"`+v1id+`"}`))
			p := v1id + "/layer.tar"
			if omit == nil || !omit(p) {
				w.file(p, layerTar(t, l))
			}
			e.Layers = append(e.Layers, p)
		}
		w.file(cfgName, cfg)
		m = append(m, e)
	}
	w.file("manifest.json", must(json.Marshal(m)))
	w.file("repositories", []byte("{}"))
	if err := w.tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// OCI writes the OCI image layout: blobs/sha256/*, index.json, oci-layout, and, when
// withManifest is set, the manifest.json that Docker 25+ adds for older loaders.
func OCI(t testing.TB, imgs []Image, withManifest bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tw{t, tar.NewWriter(&buf)}
	written := map[string]bool{}
	blob := func(d v1.Hash, b []byte) string {
		p := "blobs/" + d.Algorithm + "/" + d.Hex
		if !written[p] {
			written[p] = true
			w.file(p, b)
		}
		return p
	}
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var m []entry
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	var index []desc
	w.dir("blobs/")
	w.dir("blobs/sha256/")
	for _, im := range imgs {
		e := entry{RepoTags: im.Tags}
		for _, l := range must(im.Img.Layers()) {
			rc := must(l.Compressed())
			b := must(io.ReadAll(rc))
			rc.Close()
			e.Layers = append(e.Layers, blob(must(l.Digest()), b))
		}
		e.Config = blob(must(im.Img.ConfigName()), must(im.Img.RawConfigFile()))
		raw := must(im.Img.RawManifest())
		d := must(im.Img.Digest())
		blob(d, raw)
		mt := must(im.Img.MediaType())
		if len(im.Tags) == 0 {
			index = append(index, desc{MediaType: string(mt), Digest: d.String(), Size: int64(len(raw))})
		}
		for _, tag := range im.Tags {
			ref := must(name.ParseReference(tag))
			index = append(index, desc{MediaType: string(mt), Digest: d.String(), Size: int64(len(raw)),
				Annotations: map[string]string{"io.containerd.image.name": ref.Name(), "org.opencontainers.image.ref.name": ref.Identifier()}})
		}
		m = append(m, e)
	}
	w.file("index.json", must(json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index})))
	if withManifest {
		w.file("manifest.json", must(json.Marshal(m)))
	}
	w.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	if err := w.tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// GGCR writes go-containerregistry's tarball form (crane pull --format=tarball): the
// config first, named by its digest.
func GGCR(t testing.TB, imgs []Image) []byte {
	t.Helper()
	refs := map[name.Reference]v1.Image{}
	for _, im := range imgs {
		for _, tag := range im.Tags {
			refs[must(name.ParseReference(tag))] = im.Img
		}
	}
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(refs, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Compress compresses b with "gzip", "zstd" or "xz".
func Compress(t testing.TB, how string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch how {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "zstd":
		w = must(zstd.NewWriter(&buf))
	case "xz":
		w = must(xz.NewWriter(&buf))
	default:
		t.Fatalf("unknown compression %q", how)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// File is one file of a bundle.
type File struct {
	Name string
	Data []byte
}

// Bundle writes a tar of files: the vendor form before compression.
func Bundle(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := tw{t, tar.NewWriter(&buf)}
	for _, f := range files {
		if strings.HasSuffix(f.Name, "/") {
			w.dir(f.Name)
			continue
		}
		w.file(f.Name, f.Data)
	}
	if err := w.tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Rewrite copies the tar src to dst, letting edit change an entry's bytes, drop it
// (nil), or add entries after it: tampered archives and bundles for tests.
func Rewrite(t testing.TB, src, dst string, edit func(name string, b []byte) (out []byte, after []File)) {
	t.Helper()
	raw := must(os.ReadFile(src))
	tr := tar.NewReader(bytes.NewReader(raw))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b := must(io.ReadAll(tr))
		out, after := edit(h.Name, b)
		if out != nil {
			h.Size = int64(len(out))
			tw.WriteHeader(h)
			tw.Write(out)
		}
		for _, f := range after {
			tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg})
			tw.Write(f.Data)
		}
	}
	tw.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
