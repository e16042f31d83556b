package archive

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// Layout names how the images inside a docker-save tar are described.
type Layout string

const (
	// Classic is the docker-save layout: manifest.json, <id>/layer.tar, <config>.json.
	Classic Layout = "docker-save"
	// OCI is the OCI image layout: index.json, oci-layout, blobs/. Docker 25+ writes it
	// together with a manifest.json; other tools write it alone.
	OCI Layout = "oci"
)

// Image is one image found in an archive.
type Image struct {
	// Refs are the image's tags as the archive names them ("encoo/rpa-service:4.1.76383").
	// Empty when the image was saved by ID.
	Refs []string `json:"refs"`
	// ID is the config digest, which is the image ID the engine reports after loading.
	ID     string `json:"id"`
	Layers int    `json:"layers"`
	// Size is the bytes of the image's layers as stored in the archive.
	Size int64 `json:"size"`
}

// Part is one docker-save tar: the archive itself, or one tar inside a vendor bundle.
type Part struct {
	// Name is the file name inside a vendor bundle; empty when the archive is the tar itself.
	Name   string  `json:"name,omitempty"`
	Layout Layout  `json:"layout"`
	Images []Image `json:"images"`
	// Skipped is set when Options.Keep chose not to hand the part to the sink.
	Skipped bool `json:"skipped,omitempty"`
	// Lacking lists the layer digests the part names but leaves out (Options.MayLack).
	Lacking []string `json:"lacking,omitempty"`
	// Omitted counts the layers a delta load did not send, the engine having them, and
	// OmittedBytes their size; Sent is the bytes the sink got (Options.Have, Omit).
	Omitted      int   `json:"omitted,omitempty"`
	OmittedBytes int64 `json:"omitted_bytes,omitempty"`
	Sent         int64 `json:"sent,omitempty"`
	// Files are the part's entries and their sizes; Sums the sha256 ("sha256:HEX") of
	// its JSON files (manifests, configs, index.json). For Options.Keep's checks.
	Files map[string]int64  `json:"-"`
	Sums  map[string]string `json:"-"`
	// links are the entries that are links (a layer docker save wrote once); chains
	// the chain ID of each classic layer folder's layer (from manifest.json and the
	// image's config). For Delta.
	links  map[string]bool
	chains map[string]string
	// tarBytes is how far the part's tar was read: through its end-of-archive blocks;
	// omittedTar the tar bytes of the entries a delta load left out.
	tarBytes, omittedTar int64
}

// Archive is what one file holds.
type Archive struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// SHA256 is the digest of the file's bytes, computed while it streams.
	SHA256      string      `json:"sha256"`
	Compression Compression `json:"compression"`
	// Bundle is set for the vendor form: a tar (usually gzip) of docker-save tars.
	Bundle bool   `json:"bundle"`
	Parts  []Part `json:"parts"`
	// Ignored lists files inside a bundle that are not image archives (a README, checksums).
	Ignored []string `json:"ignored,omitempty"`
	// pending are the parts of a deferred read (Options.Defer) awaiting Commit or Abort.
	pending []*partState
}

// Images returns every image of every part, in archive order.
func (a *Archive) Images() []Image {
	var out []Image
	for _, p := range a.Parts {
		out = append(out, p.Images...)
	}
	return out
}

// Form describes the archive for an operator: "docker save tar (OCI layout), gzip".
func (a *Archive) Form() string { return a.FormIn(i18n.EN) }

// FormIn is the archive's form in tr's language. A tar of docker save tars is the
// vendor's .tar.gz (not a signed .bundle: that is a form of its own).
func (a *Archive) FormIn(tr *i18n.Printer) string {
	var s string
	switch {
	case a.Bundle && len(a.Parts) == 1:
		s = tr.T("tar of 1 docker save tar")
	case a.Bundle:
		s = tr.Sprintf("tar of %d docker save tars", len(a.Parts))
	case len(a.Parts) == 1 && a.Parts[0].Layout == OCI:
		s = tr.T("docker save tar (OCI layout)")
	default:
		s = tr.T("docker save tar")
	}
	if a.Compression != None {
		s += ", " + string(a.Compression)
	}
	return s
}

// Error is a problem with an archive's content: the file (and inner tar) and what is wrong.
type Error struct {
	Path  string
	Inner string
	Err   error
}

func (e *Error) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *Error) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *Error) err() error {
	if e.Inner != "" {
		return i18n.Errorf("%s (inside, %s): %v", e.Path, e.Inner, e.Err)
	}
	return i18n.Errorf("%s: %v", e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrSkip, returned by Options.Keep, withholds a part from the sink: the sink's stream is
// cut before its end, so the engine loads nothing of it.
var ErrSkip = i18n.Err("skipped")

// ChainID is the engine's layer-store name for a layer on top of parent (a chain ID,
// or "" for the first layer): sha256(parent + " " + diffID), or the diffID itself.
func ChainID(parent, diffID string) string {
	if parent == "" {
		return diffID
	}
	sum := sha256.Sum256([]byte(parent + " " + diffID))
	return "sha256:" + hex.EncodeToString(sum[:])
}
