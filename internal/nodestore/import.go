package nodestore

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// ImportOptions say how Import writes to the nodes.
type ImportOptions struct {
	// Snapshotter unpacks the images ("overlayfs", "native"); "" is containerd's default.
	Snapshotter string
	// Progress is told how many more bytes of the archive were read.
	Progress func(n int64)
}

// Result is what Import did on one node.
type Result struct {
	Node string `json:"node"`
	// Written is the bytes written to the node's content store; Missing the size of the
	// blobs (layers, configs, manifests) it lacked. Written exceeds Missing only for a
	// classic layer whose digest could not be known before it streamed.
	Written int64 `json:"written"`
	Missing int64 `json:"missing"`
	// Skipped counts the blobs the node had, which it was not sent.
	Skipped int        `json:"skipped"`
	Images  []Imported `json:"images"`
}

// Imported is one image record an import made or updated.
type Imported struct {
	Name     string        `json:"name"`
	ID       digest.Digest `json:"id"` // the config digest: the image ID the kubelet reports
	Manifest digest.Digest `json:"manifest"`
}

// Import reads the image archive at path once, as a stream (internal/archive: every
// docker-save form, compressed, in a vendor bundle), and writes to each node exactly the
// blobs that node lacks: a classic layer.tar uncompressed (its digest is the diffID), an
// OCI layout's blobs as they are. Then, per node, the config, a manifest (the archive's
// own, or one generated for a classic archive) with containerd's GC labels, an image
// record per tag (managed and pinned), unpacked with opt.Snapshotter. Nothing stays
// on a node from a failed import but what a lease held, which GC then frees.
func Import(ctx context.Context, nodes []*Node, path string, opt ImportOptions) ([]Result, error) {
	im, ctx, err := begin(ctx, nodes, opt)
	if err != nil {
		return nil, err
	}
	defer im.end(ctx)
	if _, err := archive.Read(ctx, path, archive.Options{Load: im.load, Progress: opt.Progress}); err != nil {
		return nil, err
	}
	return im.res, nil
}

// ImportTar is Import of one plain docker-save tar that is already streaming: what an
// engine's load is handed (archive.Options.Load). It reads r to its end.
func ImportTar(ctx context.Context, nodes []*Node, r io.Reader, opt ImportOptions) ([]Result, error) {
	im, ctx, err := begin(ctx, nodes, opt)
	if err != nil {
		return nil, err
	}
	defer im.end(ctx)
	if err := im.load(ctx, r); err != nil {
		return nil, err
	}
	return im.res, nil
}

// begin creates, under the same ID on every node, the lease that holds what the
// import writes until the image records reference it.
func begin(ctx context.Context, nodes []*Node, opt ImportOptions) (*importer, context.Context, error) {
	im := &importer{nodes: nodes, opt: opt, res: make([]Result, len(nodes)), inv: make([]*inventory, len(nodes))}
	for i, n := range nodes {
		im.res[i].Node = n.Addr
	}
	id := make([]byte, 8)
	rand.Read(id)
	im.lease = "imgup-import-" + hex.EncodeToString(id)
	for _, n := range nodes {
		if _, err := n.c.LeasesService().Create(ctx, leases.WithID(im.lease), leases.WithExpiration(24*time.Hour)); err != nil {
			im.end(ctx)
			return nil, nil, n.fail(err)
		}
	}
	return im, leases.WithLease(ctx, im.lease), nil
}

// end deletes the lease on every node (where there is none, the delete fails, unheard).
func (im *importer) end(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for _, n := range im.nodes {
		n.c.LeasesService().Delete(ctx, leases.Lease{ID: im.lease})
	}
}

type importer struct {
	nodes []*Node
	opt   ImportOptions
	res   []Result
	// inv are the nodes' chain IDs, read at the first classic layer.
	inv []*inventory
	buf []byte
	// lease holds what is written until the image records reference it.
	lease string
}

// inventory maps the chain ID of every layer of a node's images to its diffID: what
// tells a classic docker-save layer folder's diffID before its bytes stream.
type inventory struct {
	chains map[string]bool
	diffID map[string]digest.Digest
}

// part is one docker-save tar as it streams to the nodes.
type part struct {
	// chains are those of the configs read so far.
	chains inventory
	kept   map[string][]byte    // manifest.json, index.json, configs, manifests
	links  map[string]string    // entry -> the entry it links to
	layers map[string]layerBlob // layer entries that streamed
}

type layerBlob struct {
	desc ocispec.Descriptor
	// compression as sniffed: "", "gzip", "zstd"; known is false when no byte was read.
	compression string
	known       bool
}

// smallFile is the largest entry held in memory: manifests, configs, indexes.
const smallFile = 4 << 20

// load is the archive's sink: the plain docker-save tar of one part.
func (im *importer) load(ctx context.Context, r io.Reader) error {
	p := &part{kept: map[string][]byte{}, links: map[string]string{}, layers: map[string]layerBlob{},
		chains: inventory{chains: map[string]bool{}, diffID: map[string]digest.Digest{}}}
	tr := tar.NewReader(r)
	br := bufio.NewReaderSize(nil, 64<<10)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			// What follows the tar's end (its padding) is read too: a sink reads its
			// stream to the end.
			if _, err := io.Copy(io.Discard, r); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		switch h.Typeflag {
		case tar.TypeSymlink:
			p.links[name] = strings.TrimPrefix(path.Clean("/"+path.Join(path.Dir(name), h.Linkname)), "/")
			continue
		case tar.TypeLink:
			p.links[name] = strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
			continue
		case tar.TypeReg:
		default:
			continue
		}
		br.Reset(tr)
		head, _ := br.Peek(1)
		small := h.Size <= smallFile && len(head) == 1 && (head[0] == '{' || head[0] == '[')
		if small && !strings.HasSuffix(name, "/layer.tar") {
			b, err := io.ReadAll(br)
			if err != nil {
				return err
			}
			p.kept[name] = b
			p.noteConfig(b)
			continue
		}
		switch path.Base(name) {
		case "VERSION", "json", "repositories", "oci-layout", "manifest.json", "index.json":
			// docker save's legacy files, or metadata that is not JSON (refused at the end)
		default:
			// Any other file is a layer: which one, manifest.json says at the end.
			if err := im.layer(ctx, p, name, h.Size, br); err != nil {
				return err
			}
		}
	}
	return im.finish(ctx, p)
}

// blobDigest is the digest an OCI layout's blob path names.
func blobDigest(name string) (digest.Digest, bool) {
	rest, ok := strings.CutPrefix(name, "blobs/")
	if !ok {
		return "", false
	}
	d := digest.Digest(strings.Replace(rest, "/", ":", 1))
	return d, d.Validate() == nil
}

// known finds the digest of a layer entry before its bytes stream: an OCI blob's name,
// or a classic folder whose v1 ID one of the nodes' chains explains.
func (im *importer) known(ctx context.Context, p *part, name string) (digest.Digest, error) {
	if d, ok := blobDigest(name); ok {
		return d, nil
	}
	dir, ok := strings.CutSuffix(name, "/layer.tar")
	raw := p.kept[dir+"/json"]
	if !ok || raw == nil {
		return "", nil
	}
	// A config that came before the layer (docker save orders by name) tells its
	// chain; else the nodes' images may.
	if chain, ok := archive.V1LayerChain(dir, raw, p.chains.chains); ok {
		return p.chains.diffID[chain], nil
	}
	for i, n := range im.nodes {
		if im.inv[i] == nil {
			inv, err := readInventory(ctx, n)
			if err != nil {
				return "", n.fail(err)
			}
			im.inv[i] = inv
		}
		if chain, ok := archive.V1LayerChain(dir, raw, im.inv[i].chains); ok {
			return im.inv[i].diffID[chain], nil
		}
	}
	return "", nil
}

// noteConfig adds the chain IDs of an image config's layers to the part's.
func (p *part) noteConfig(b []byte) {
	var c ocispec.Image
	if json.Unmarshal(b, &c) != nil || len(c.RootFS.DiffIDs) == 0 {
		return
	}
	ids := c.RootFS.DiffIDs
	for i := range ids {
		chain := identity.ChainID(ids[:i+1]).String()
		p.chains.chains[chain] = true
		p.chains.diffID[chain] = ids[i]
	}
}

// readInventory reads the chain IDs of the node's images from their configs.
func readInventory(ctx context.Context, n *Node) (*inventory, error) {
	inv := &inventory{chains: map[string]bool{}, diffID: map[string]digest.Digest{}}
	imgs, err := n.c.ImageService().List(ctx)
	if err != nil {
		return nil, err
	}
	cs := n.c.ContentStore()
	for _, img := range imgs {
		ids, err := img.RootFS(ctx, cs, n.platform)
		if err != nil {
			continue // an image whose blobs are gone tells nothing
		}
		for i := range ids {
			chain := identity.ChainID(ids[:i+1]).String()
			inv.chains[chain] = true
			inv.diffID[chain] = ids[i]
		}
	}
	return inv, nil
}

// layer streams one layer entry to the nodes that lack it, in parallel, chunk by chunk.
func (im *importer) layer(ctx context.Context, p *part, name string, size int64, r io.Reader) error {
	d, err := im.known(ctx, p, name)
	if err != nil {
		return err
	}
	type target struct {
		i int
		w content.Writer
	}
	var targets []target
	defer func() {
		for _, t := range targets {
			t.w.Close()
		}
	}()
	for i, n := range im.nodes {
		cs := n.c.ContentStore()
		if d != "" {
			ok, err := has(ctx, cs, d)
			if err != nil {
				return n.fail(err)
			}
			if ok {
				im.res[i].Skipped++
				continue
			}
		}
		// The ingest is named by what is written: the digest, or the lease and entry.
		wopts := []content.WriterOpt{content.WithRef(im.lease + "-" + name)}
		if d != "" {
			wopts = []content.WriterOpt{content.WithRef("imgup-" + d.String()), content.WithDescriptor(ocispec.Descriptor{Digest: d, Size: size})}
		}
		w, err := content.OpenWriter(ctx, cs, wopts...)
		if errdefs.IsAlreadyExists(err) {
			im.res[i].Skipped++
			continue
		}
		if err != nil {
			return n.fail(err)
		}
		// A write an earlier, failed import left half done starts over.
		if st, err := w.Status(); err != nil || st.Offset > 0 {
			if err == nil {
				err = w.Truncate(0)
			}
			if err != nil {
				w.Close()
				return n.fail(err)
			}
		}
		targets = append(targets, target{i, w})
	}
	lb := layerBlob{desc: ocispec.Descriptor{Digest: d, Size: size}}
	if len(targets) == 0 {
		p.layers[name] = lb
		return nil
	}
	if im.buf == nil {
		im.buf = make([]byte, 1<<20)
	}
	dg := digest.Canonical.Digester()
	var written int64
	errs := make([]error, len(targets))
	for {
		k, rerr := io.ReadFull(r, im.buf)
		if k > 0 {
			chunk := im.buf[:k]
			if written == 0 {
				lb.compression, lb.known = sniff(chunk), true
			}
			dg.Hash().Write(chunk)
			var wg sync.WaitGroup
			for j, t := range targets {
				wg.Go(func() {
					if errs[j] == nil {
						_, errs[j] = t.w.Write(chunk)
					}
				})
			}
			wg.Wait()
			for j, t := range targets {
				if errs[j] != nil {
					return im.nodes[t.i].fail(errs[j])
				}
			}
			written += int64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if written != size {
		return fmt.Errorf("%s: %d bytes, not %d", name, written, size)
	}
	got := dg.Digest()
	if d != "" && got != d {
		return i18n.Errorf("%s does not have the digest %s its name or the node's layers say (it has %s): the archive was altered or damaged", name, d, got)
	}
	lb.desc.Digest = got
	for _, t := range targets {
		n := im.nodes[t.i]
		err := t.w.Commit(ctx, size, got)
		if err != nil && !errdefs.IsAlreadyExists(err) {
			return n.fail(err)
		}
		im.res[t.i].Written += size
		if err == nil {
			im.res[t.i].Missing += size
		} else {
			im.res[t.i].Skipped++
		}
	}
	p.layers[name] = lb
	return nil
}

// sniff names a layer's compression from its first bytes.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return "gzip"
	case bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	}
	return ""
}

// resolve follows links to the entry that holds the bytes.
func (p *part) resolve(name string) string {
	for range 8 {
		t, ok := p.links[name]
		if !ok {
			break
		}
		name = t
	}
	return name
}

type saveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// image is what one node gets for one image of the archive: blobs and records.
type image struct {
	config   []byte
	configD  ocispec.Descriptor
	manifest []byte
	manD     ocispec.Descriptor
	layers   []ocispec.Descriptor
	// layerBytes are small layers that were held in memory as they looked like JSON.
	layerBytes map[digest.Digest][]byte
	names      []string
}

// finish makes each image of the part on every node, once its blobs are there.
func (im *importer) finish(ctx context.Context, p *part) error {
	var entries []saveEntry
	if err := json.Unmarshal(p.kept["manifest.json"], &entries); err != nil {
		return i18n.Errorf("manifest.json: %v", err)
	}
	var imgs []*image
	for _, e := range entries {
		img, err := p.image(e)
		if err != nil {
			return err
		}
		imgs = append(imgs, img)
	}
	errs := make([]error, len(im.nodes))
	var wg sync.WaitGroup
	for i, n := range im.nodes {
		wg.Go(func() {
			for _, img := range imgs {
				if err := im.put(ctx, i, img); err != nil {
					errs[i] = n.fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// image describes one manifest.json entry: its config, its layers' descriptors, and
// the manifest the nodes get (the archive's own OCI manifest, or a generated one).
func (p *part) image(e saveEntry) (*image, error) {
	cfgName := p.resolve(e.Config)
	cfg, ok := p.kept[cfgName]
	if !ok {
		return nil, i18n.Errorf("config %s is not in the archive", e.Config)
	}
	img := &image{config: cfg, layerBytes: map[digest.Digest][]byte{}}
	var c ocispec.Image
	if err := json.Unmarshal(cfg, &c); err != nil {
		return nil, i18n.Errorf("config %s: %v", e.Config, err)
	}
	cd := digest.FromBytes(cfg)
	for _, t := range e.RepoTags {
		n, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return nil, i18n.Errorf("the archive names an invalid image reference %q: %v", t, err)
		}
		img.names = append(img.names, reference.TagNameOnly(n).String())
	}
	if len(img.names) == 0 {
		img.names = []string{cd.String()} // saved by ID: named by it, as the CRI does
	}
	// An OCI layout holds the image's manifest: the nodes get it as it is.
	for name, b := range p.kept {
		if _, ok := blobDigest(name); !ok {
			continue
		}
		var m ocispec.Manifest
		if json.Unmarshal(b, &m) != nil || m.Config.Digest != cd || len(m.Layers) != len(e.Layers) {
			continue
		}
		mt := m.MediaType
		if mt == "" {
			mt = ocispec.MediaTypeImageManifest
		}
		img.manifest, img.manD = b, ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}
		img.configD, img.layers = m.Config, m.Layers
		for _, l := range m.Layers {
			if b, ok := p.kept[p.resolve("blobs/"+strings.Replace(l.Digest.String(), ":", "/", 1))]; ok {
				img.layerBytes[l.Digest] = b
			}
		}
		return img, nil
	}
	// A classic docker-save image: a docker schema2 manifest, as containerd's own
	// importer makes, its layers typed by what their bytes are.
	if len(e.Layers) != len(c.RootFS.DiffIDs) {
		return nil, i18n.Errorf("config %s lists %d layers, manifest.json %d", e.Config, len(c.RootFS.DiffIDs), len(e.Layers))
	}
	img.configD = ocispec.Descriptor{MediaType: images.MediaTypeDockerSchema2Config, Digest: cd, Size: int64(len(cfg))}
	for i, l := range e.Layers {
		lname := p.resolve(l)
		lb, ok := p.layers[lname]
		if !ok {
			b, held := p.kept[lname]
			if !held {
				return nil, i18n.Errorf("layer %s is not in the archive", l)
			}
			d := digest.FromBytes(b)
			lb = layerBlob{desc: ocispec.Descriptor{Digest: d, Size: int64(len(b))}}
			img.layerBytes[d] = b
		}
		if lb.desc.Digest == "" {
			// Skipped by every node, named by no node's chain: cannot happen.
			return nil, i18n.Errorf("layer %s: digest unknown", l)
		}
		switch lb.compression {
		case "gzip":
			lb.desc.MediaType = images.MediaTypeDockerSchema2LayerGzip
		case "zstd":
			lb.desc.MediaType = images.MediaTypeDockerSchema2LayerZstd
		default:
			lb.desc.MediaType = images.MediaTypeDockerSchema2Layer
			if lb.desc.Digest != c.RootFS.DiffIDs[i] {
				return nil, i18n.Errorf("layer %s has digest %s, but the config says its diffID is %s", l, lb.desc.Digest, c.RootFS.DiffIDs[i])
			}
		}
		img.layers = append(img.layers, lb.desc)
	}
	m := struct {
		SchemaVersion int                  `json:"schemaVersion"`
		MediaType     string               `json:"mediaType"`
		Config        ocispec.Descriptor   `json:"config"`
		Layers        []ocispec.Descriptor `json:"layers"`
	}{2, images.MediaTypeDockerSchema2Manifest, img.configD, img.layers}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	img.manifest, img.manD = b, ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	return img, nil
}

// put writes one image's small blobs to node i, its record, and unpacks it.
func (im *importer) put(ctx context.Context, i int, img *image) error {
	n := im.nodes[i]
	for d, b := range img.layerBytes {
		if err := im.blob(ctx, i, ocispec.Descriptor{Digest: d, Size: int64(len(b))}, b, nil); err != nil {
			return err
		}
	}
	if err := im.blob(ctx, i, img.configD, img.config, nil); err != nil {
		return err
	}
	gc := map[string]string{"containerd.io/gc.ref.content.config": img.configD.Digest.String()}
	for j, l := range img.layers {
		gc["containerd.io/gc.ref.content.l."+strconv.Itoa(j)] = l.Digest.String()
	}
	if err := im.blob(ctx, i, img.manD, img.manifest, gc); err != nil {
		return err
	}
	is := n.c.ImageService()
	for _, name := range img.names {
		rec := images.Image{Name: name, Target: img.manD, Labels: map[string]string{LabelManaged: "managed", LabelPinned: "pinned"}}
		if _, err := is.Create(ctx, rec); errdefs.IsAlreadyExists(err) {
			_, err = is.Update(ctx, rec, "target", "labels."+LabelManaged, "labels."+LabelPinned)
			if err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := containerd.NewImageWithPlatform(n.c, rec, n.platform).Unpack(ctx, im.opt.Snapshotter); err != nil {
			return fmt.Errorf("%s: unpack: %w", name, err)
		}
		im.res[i].Images = append(im.res[i].Images, Imported{Name: name, ID: img.configD.Digest, Manifest: img.manD.Digest})
	}
	return nil
}

// blob writes a small blob the node lacks; labels are set on it either way.
func (im *importer) blob(ctx context.Context, i int, desc ocispec.Descriptor, b []byte, labels map[string]string) error {
	cs := im.nodes[i].c.ContentStore()
	ok, err := has(ctx, cs, desc.Digest)
	if err != nil {
		return err
	}
	if ok {
		im.res[i].Skipped++
		if len(labels) == 0 {
			return nil
		}
		info := content.Info{Digest: desc.Digest, Labels: labels}
		var paths []string
		for k := range labels {
			paths = append(paths, "labels."+k)
		}
		_, err := cs.Update(ctx, info, paths...)
		return err
	}
	err = content.WriteBlob(ctx, cs, "imgup-"+desc.Digest.String(), bytes.NewReader(b), desc, content.WithLabels(labels))
	if err != nil {
		return err
	}
	im.res[i].Written += desc.Size
	im.res[i].Missing += desc.Size
	return nil
}
