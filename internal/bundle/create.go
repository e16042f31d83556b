package bundle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"aead.dev/minisign"
	"github.com/distribution/reference"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// CreateOptions say what goes into a bundle.
type CreateOptions struct {
	Name, Version string
	Notes         map[string]string
	// Archives are image archive files (any form imgup reads); every image of them goes in.
	Archives []string
	// Refs are images of the local engine, saved with Save.
	Refs []string
	Save func(ctx context.Context, refs []string) (io.ReadCloser, error)
	// Services maps an image repository ("encoo/console-web-v4-pvt") to the services
	// that get it; a repository not named goes to every service using it ("*").
	Services map[string][]string
	Changes  []Change
	Requires []Constraint
	// Base is the bundle a differential bundle builds on: its layers are left out.
	Base *Bundle
	// Key signs the bundle; nil writes an unsigned bundle.
	Key *minisign.PrivateKey
	// Out is the file to write; it is replaced atomically.
	Out string
	// Now is the creation time (for tests); zero means now.
	Now time.Time
}

// Created describes a written bundle.
type Created struct {
	Manifest *Manifest
	Size     int64
	// Shipped and Left are the layer bytes written, and those the base shipped.
	Shipped, Left int64
}

// Create writes a bundle. Layers are compressed with gzip, which every engine reads
// (Engine 20.10 cannot read zstd layers).
func Create(ctx context.Context, o CreateOptions) (*Created, error) {
	tmp, err := os.MkdirTemp(filepath.Dir(o.Out), ".imgup-bundle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	c := &collector{dir: tmp, layers: map[string]*layerBlob{}}
	if o.Base != nil {
		c.base = map[string]Layer{}
		for _, img := range o.Base.Manifest.Images {
			for _, l := range img.Layers {
				c.base[l.DiffID] = l
			}
		}
	}
	for _, a := range o.Archives {
		if _, err := archive.Read(ctx, a, archive.Options{Load: func(ctx context.Context, r io.Reader) error { return c.add(ctx, r) }}); err != nil {
			return nil, err
		}
	}
	if len(o.Refs) > 0 {
		rc, err := o.Save(ctx, o.Refs)
		if err != nil {
			return nil, err
		}
		err = c.add(ctx, rc)
		rc.Close()
		if err != nil {
			return nil, i18n.Errorf("reading the images the engine saved: %w", err)
		}
		for _, r := range o.Refs {
			if !c.hasRef(familiar(r)) {
				return nil, i18n.Errorf("the engine saved no image %s", r)
			}
		}
	}
	if len(c.images) == 0 {
		return nil, i18n.Err("no image to put in the bundle: name images of the local engine, or archives")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	m := &Manifest{Schema: Schema, Name: o.Name, Version: o.Version, Created: now.UTC().Format(time.RFC3339), Notes: o.Notes, Changes: o.Changes, Requires: o.Requires}
	if o.Base != nil {
		m.Base = &Base{Name: o.Base.Manifest.Name, Version: o.Base.Manifest.Version, Manifest: o.Base.Digest}
	}
	blobs := &blobSet{seen: map[string]bool{}}
	var index ociIndex
	index.SchemaVersion, index.MediaType = 2, "application/vnd.oci.image.index.v1+json"
	out := &Created{}
	for _, img := range c.images {
		bi := Image{Ref: img.ref, Config: img.config.Digest}
		blobs.addBytes(img.config.Digest, img.configData)
		man := ociManifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json", Config: img.config}
		for _, l := range img.layers {
			bi.Layers = append(bi.Layers, Layer{Digest: l.digest, Size: l.size, DiffID: l.diffID, InBase: l.inBase})
			man.Layers = append(man.Layers, descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: l.digest, Size: l.size})
			if l.inBase {
				if !blobs.seen["left:"+l.digest] {
					blobs.seen["left:"+l.digest] = true
					out.Left += l.size
				}
				continue
			}
			if blobs.addFile(l.digest, l.size, l.file) {
				out.Shipped += l.size
			}
		}
		mb, err := json.Marshal(man)
		if err != nil {
			return nil, err
		}
		md := digestOf(mb)
		blobs.addBytes(md, mb)
		bi.Manifest = Blob{Digest: md, Size: int64(len(mb))}
		repo, tag := splitRef(img.ref)
		bi.Services = o.Services[repo]
		if len(bi.Services) == 0 {
			bi.Services = []string{"*"}
		}
		m.Images = append(m.Images, bi)
		index.Manifests = append(index.Manifests, descriptor{MediaType: man.MediaType, Digest: md, Size: int64(len(mb)),
			Annotations: map[string]string{"io.containerd.image.name": img.ref, "org.opencontainers.image.ref.name": tag}})
	}
	for repo := range o.Services {
		found := false
		for _, img := range m.Images {
			if r, _ := splitRef(img.Ref); r == repo {
				found = true
			}
		}
		if !found {
			return nil, i18n.Errorf("services are given for %s, but the bundle has no image of it", repo)
		}
	}
	ib, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	m.Index = Blob{Digest: digestOf(ib), Size: int64(len(ib))}
	for _, b := range blobs.list {
		m.Blobs = append(m.Blobs, Blob{Digest: b.digest, Size: b.size})
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	raw = append(raw, '\n')
	var sig []byte
	if o.Key != nil {
		sig = sign(*o.Key, raw, m)
	}
	size, err := writeBundle(o.Out, now, raw, sig, ib, blobs.list)
	if err != nil {
		return nil, err
	}
	out.Manifest, out.Size = m, size
	return out, nil
}

// writeBundle writes the outer tar: bundle.json and its signature first, so that a
// reader checks them before anything else; then the layout's metadata; then the blobs.
func writeBundle(out string, now time.Time, raw, sig, index []byte, blobs []*blob) (int64, error) {
	f, err := os.CreateTemp(filepath.Dir(out), ".imgup-bundle-*.tmp")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return put(ManifestName, raw) },
		func() error {
			if sig == nil {
				return nil
			}
			return put(SignatureName, sig)
		},
		func() error { return put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)) },
		func() error { return put("index.json", index) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			f.Close()
			return 0, err
		}
	}
	for _, b := range blobs {
		name := "blobs/sha256/" + b.digest[len("sha256:"):]
		if b.data != nil {
			err = put(name, b.data)
		} else {
			err = copyFile(tw, name, b, now)
		}
		if err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		f.Close()
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return 0, err
	}
	return st.Size(), os.Rename(f.Name(), out)
}

func copyFile(tw *tar.Writer, name string, b *blob, now time.Time) error {
	src, err := os.Open(b.file)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: b.size, ModTime: now, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type ociIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type blob struct {
	digest string
	size   int64
	data   []byte // small blobs (configs, manifests)
	file   string // layers
}

type blobSet struct {
	list []*blob
	seen map[string]bool
}

func (s *blobSet) addBytes(d string, data []byte) {
	if !s.seen[d] {
		s.seen[d] = true
		s.list = append(s.list, &blob{digest: d, size: int64(len(data)), data: data})
	}
}

func (s *blobSet) addFile(d string, size int64, file string) bool {
	if s.seen[d] {
		return false
	}
	s.seen[d] = true
	s.list = append(s.list, &blob{digest: d, size: size, file: file})
	return true
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func splitRef(ref string) (repo, tag string) {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref, ""
	}
	if t, ok := n.(reference.Tagged); ok {
		tag = t.Tag()
	}
	return reference.FamiliarName(n), tag
}

// collector turns docker-save tars into blobs: each layer compressed once, shared
// layers once.
type collector struct {
	dir    string
	n      int
	base   map[string]Layer // diffID -> the base's layer
	layers map[string]*layerBlob
	images []*collected
}

type layerBlob struct {
	digest, diffID, file string
	size                 int64
	inBase               bool
}

type collected struct {
	ref        string
	config     descriptor
	configData []byte
	layers     []*layerBlob
}

func (c *collector) hasRef(ref string) bool {
	for _, img := range c.images {
		if img.ref == ref {
			return true
		}
	}
	return false
}

// add reads one docker-save tar (with manifest.json), spooling its files.
func (c *collector) add(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	small := map[string][]byte{}
	files := map[string]string{} // tar path -> spooled file
	links := map[string]string{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeSymlink:
			links[name] = path.Clean(path.Join(path.Dir(name), h.Linkname))
		case tar.TypeLink:
			links[name] = path.Clean(h.Linkname)
		case tar.TypeReg:
			if h.Size <= 4<<20 {
				b, err := io.ReadAll(tr)
				if err != nil {
					return err
				}
				small[name] = b
				continue
			}
			c.n++
			p := filepath.Join(c.dir, fmt.Sprintf("raw-%d", c.n))
			if err := spool(p, tr); err != nil {
				return err
			}
			files[name] = p
		}
	}
	resolve := func(name string) string {
		for i := 0; i < 8; i++ {
			if t, ok := links[name]; ok {
				name = t
			}
		}
		return name
	}
	var man []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(small["manifest.json"], &man); err != nil {
		return i18n.Errorf("manifest.json: %v", err)
	}
	for _, e := range man {
		cfg, ok := small[resolve(path.Clean(e.Config))]
		if !ok {
			return i18n.Errorf("config %s is missing", e.Config)
		}
		var conf struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal(cfg, &conf); err != nil {
			return i18n.Errorf("config %s: %v", e.Config, err)
		}
		if len(conf.RootFS.DiffIDs) != len(e.Layers) {
			return i18n.Errorf("config %s names %d layers, manifest.json %d", e.Config, len(conf.RootFS.DiffIDs), len(e.Layers))
		}
		img := &collected{configData: cfg, config: descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digestOf(cfg), Size: int64(len(cfg))}}
		for i, l := range e.Layers {
			name := resolve(path.Clean(l))
			lb, err := c.layer(name, files, small, conf.RootFS.DiffIDs[i])
			if err != nil {
				return err
			}
			img.layers = append(img.layers, lb)
		}
		for _, t := range e.RepoTags {
			cp := *img
			cp.ref = familiar(t)
			if !c.hasRef(cp.ref) {
				c.images = append(c.images, &cp)
			}
		}
	}
	sort.SliceStable(c.images, func(i, j int) bool { return c.images[i].ref < c.images[j].ref })
	return nil
}

func spool(p string, r io.Reader) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// layer makes the blob of one layer: gzip, and its uncompressed digest checked against
// the config's diffID.
func (c *collector) layer(name string, files map[string]string, small map[string][]byte, diffID string) (*layerBlob, error) {
	if lb, ok := c.layers[diffID]; ok {
		return lb, nil
	}
	var src io.Reader
	if p, ok := files[name]; ok {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src = f
	} else if b, ok := small[name]; ok {
		src = bytes.NewReader(b)
	} else {
		return nil, i18n.Errorf("layer %s is missing", name)
	}
	if bl, ok := c.base[diffID]; ok {
		lb := &layerBlob{digest: bl.Digest, size: bl.Size, diffID: diffID, inBase: true}
		c.layers[diffID] = lb
		return lb, nil
	}
	plain, err := plainLayer(bufio.NewReaderSize(src, 64<<10))
	if err != nil {
		return nil, i18n.Errorf("layer %s: %v", name, err)
	}
	c.n++
	p := filepath.Join(c.dir, fmt.Sprintf("blob-%d", c.n))
	out, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	zsum, psum := sha256.New(), sha256.New()
	cw := &countWriter{w: io.MultiWriter(out, zsum)}
	zw, _ := gzip.NewWriterLevel(cw, gzip.DefaultCompression)
	if _, err := io.Copy(io.MultiWriter(zw, psum), plain); err != nil {
		return nil, i18n.Errorf("layer %s: %v", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if got := "sha256:" + hex.EncodeToString(psum.Sum(nil)); got != diffID {
		return nil, i18n.Errorf("layer %s has digest %s, but its image's config says %s", name, got, diffID)
	}
	lb := &layerBlob{digest: "sha256:" + hex.EncodeToString(zsum.Sum(nil)), size: cw.n, diffID: diffID, file: p}
	c.layers[diffID] = lb
	return lb, nil
}

// plainLayer undoes a layer's compression, if any (OCI layouts may hold gzip or zstd).
func plainLayer(br *bufio.Reader) (io.Reader, error) {
	head, _ := br.Peek(4)
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return gzip.NewReader(br)
	case len(head) >= 4 && bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(br)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return br, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
