package bundle

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/encoo-tools/imgup/internal/readfile"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/i18n"
)

// Bundle is an opened bundle whose bundle.json has been read and its signature checked.
type Bundle struct {
	Path     string
	Manifest *Manifest
	// Digest is the sha256 of bundle.json as the file holds it ("sha256:HEX").
	Digest    string
	Signature Signature
}

// IsBundle tells whether the file at path starts like a bundle: a plain tar whose first
// entry is bundle.json.
func IsBundle(path string) bool {
	f, err := readfile.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	h, err := tar.NewReader(bufio.NewReaderSize(f, 4096)).Next()
	return err == nil && h.Name == ManifestName
}

// OpenOptions say whom to trust.
type OpenOptions struct {
	Trust *Trust
	// AllowUnsigned accepts a bundle that is unsigned or signed by an unknown key.
	AllowUnsigned bool
}

// Error is a problem with a bundle file: the file and what is wrong.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }

// In is the error in tr's language.
func (e *Error) In(tr *i18n.Printer) string { return e.Path + ": " + i18n.Localize(tr, e.Err) }
func (e *Error) Unwrap() error              { return e.Err }

// Open reads a bundle's bundle.json and its signature (the first two entries of the
// file) and checks the signature against the trusted keys. The images are not read:
// ReadOptions checks them while they stream.
func Open(path string, o OpenOptions) (*Bundle, error) {
	fail := func(err error) (*Bundle, error) { return nil, &Error{Path: path, Err: err} }
	f, err := readfile.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	tr := tar.NewReader(bufio.NewReaderSize(f, 64<<10))
	raw, err := entry(tr, ManifestName, true)
	if err != nil {
		return fail(err)
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return fail(err)
	}
	sig, err := entry(tr, SignatureName, false)
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(raw)
	b := &Bundle{Path: path, Manifest: m, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	b.Signature, err = verifySig(raw, sig, o.Trust)
	if err != nil && !(o.AllowUnsigned && errors.Is(err, ErrUnsigned)) {
		return fail(err)
	}
	return b, nil
}

// entry reads the next tar entry, which must be name (or, when not required, may be
// missing: then nothing is consumed that matters, as the caller stops reading).
func entry(tr *tar.Reader, name string, required bool) ([]byte, error) {
	h, err := tr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if required {
				return nil, i18n.Err("not an imgup bundle, or truncated: no bundle.json at its start")
			}
			return nil, i18n.Err("truncated: the bundle ends after bundle.json; copy it again")
		}
		return nil, i18n.Errorf("not an imgup bundle (a plain tar starting with bundle.json): %v", err)
	}
	if h.Name != name {
		if required {
			return nil, i18n.Err("not an imgup bundle: its first entry is not bundle.json")
		}
		return nil, nil
	}
	if h.Typeflag != tar.TypeReg || h.Size > maxManifest {
		return nil, i18n.Errorf("%s is not a file of at most %d MiB", name, maxManifest>>20)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, i18n.Errorf("truncated in %s: %v", name, err)
	}
	return b, nil
}

// Reopen opens the bundle at path again and checks that its bundle.json is the one
// digest names (the one a plan verified): the signature need not be checked again.
func Reopen(path, digest string) (*Bundle, error) {
	b, err := Open(path, OpenOptions{AllowUnsigned: true})
	if err != nil {
		return nil, err
	}
	if b.Digest != digest {
		return nil, &Error{Path: path, Err: i18n.Err("bundle.json changed since the plan was made: run imgup again")}
	}
	return b, nil
}

// ReadOptions are the archive options that check the bundle's images while they
// stream: every blob against its digest, and, before the last bytes reach the engine,
// the file against bundle.json (Check; keep runs after it). With the engine's
// inventory, a layer blob whose chain the engine has for every image using it is not
// sent: bundle.json tells its chain before the blob arrives.
func (b *Bundle) ReadOptions(keep func(context.Context, *archive.Part) error, have *archive.Inventory) archive.Options {
	base := map[string]bool{}
	present := map[string]bool{} // layer blob name -> the engine has it in every image
	for _, img := range b.Manifest.Images {
		chain := ""
		for _, l := range img.Layers {
			chain = archive.ChainID(chain, l.DiffID)
			if l.InBase {
				base[l.Digest] = true
			}
			name := "blobs/sha256/" + strings.TrimPrefix(l.Digest, "sha256:")
			ok := have != nil && have.Chains[chain]
			if prev, seen := present[name]; seen {
				ok = ok && prev
			}
			present[name] = ok
		}
	}
	return archive.Options{
		VerifyBlobs: true,
		Exact:       true,
		Have:        have,
		Omit:        func(name string) bool { return present[name] },
		MayLack:     func(d string) bool { return base[d] },
		Check:       func(_ context.Context, p *archive.Part) error { return b.Check(p) },
		Keep:        keep,
	}
}

// Check compares what the file holds with bundle.json: the same bundle.json, the index
// it names, exactly the blobs it lists with their sizes, and the images it lists.
// Each blob's bytes were checked against its digest while it streamed.
func (b *Bundle) Check(p *archive.Part) error {
	m := b.Manifest
	fail := func(format string, args ...any) error {
		return &archive.Error{Err: i18n.Errorf(format+": the bundle was altered or damaged; ask the vendor for it again", args...)}
	}
	if p.Name != "" {
		return fail("the images are inside %s, not in the bundle itself", archive.Safe(p.Name))
	}
	if p.Sums[ManifestName] != b.Digest {
		return fail("bundle.json is not the one whose signature was checked")
	}
	if p.Sums["index.json"] != m.Index.Digest || p.Files["index.json"] != m.Index.Size {
		return fail("index.json does not match the digest bundle.json gives")
	}
	listed := map[string]int64{}
	for _, bl := range m.Blobs {
		name := "blobs/sha256/" + strings.TrimPrefix(bl.Digest, "sha256:")
		listed[name] = bl.Size
		size, ok := p.Files[name]
		if !ok {
			return fail("blob %s, which bundle.json lists, is missing", bl.Digest)
		}
		if size != bl.Size {
			return fail("blob %s has %d bytes, bundle.json says %d", bl.Digest, size, bl.Size)
		}
	}
	for name := range p.Files {
		switch {
		case name == ManifestName || name == SignatureName || name == "index.json" || name == "oci-layout" || name == "blobs" || name == "blobs/sha256":
		case strings.HasPrefix(name, "blobs/"):
			if _, ok := listed[name]; !ok {
				return fail("%s is not listed in bundle.json", archive.Safe(name))
			}
		default:
			return fail("%s is not part of the bundle format", archive.Safe(name))
		}
	}
	for _, img := range m.Images {
		want := familiar(img.Ref)
		found := false
		for _, ai := range p.Images {
			if ai.ID == img.Config && slices.Contains(ai.Refs, want) {
				found = true
			}
		}
		if !found {
			return fail("image %s (%s), which bundle.json lists, is not what the index names", img.Ref, img.Config)
		}
	}
	if n := len(distinctConfigs(m)); len(p.Images) != n {
		return fail("the index names %d images, bundle.json %d", len(p.Images), n)
	}
	return nil
}

func distinctConfigs(m *Manifest) map[string]bool {
	c := map[string]bool{}
	for _, img := range m.Images {
		c[img.Config] = true
	}
	return c
}

func familiar(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarString(reference.TagNameOnly(n))
}

// Read opens the bundle's images as an archive, checking them against bundle.json,
// without loading anything.
func (b *Bundle) Read(ctx context.Context, progress func(int64)) (*archive.Archive, error) {
	o := b.ReadOptions(nil, nil)
	o.Progress, o.Digest = progress, true
	return archive.Read(ctx, b.Path, o)
}

// BaseLayers returns, per image reference, the chain IDs of the layers the bundle
// leaves out because its base shipped them: the engine must have them.
func (m *Manifest) BaseLayers() map[string][]string {
	out := map[string][]string{}
	for _, img := range m.Images {
		chain := ""
		for _, l := range img.Layers {
			chain = archive.ChainID(chain, l.DiffID)
			if l.InBase {
				out[img.Ref] = append(out[img.Ref], chain)
			}
		}
	}
	return out
}
