// Package bundle reads, checks and writes vendor update bundles: one file that carries
// a signed description of an update (bundle.json: the images, the services each goes
// to, configuration changes, notes and constraints) and the images themselves as an OCI
// image layout with one compressed blob per layer. docs/bundle.md describes the format.
package bundle

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/distribution/reference"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/sysconfig"
)

// Schema names the version of bundle.json this package reads and writes.
const Schema = "imgup.bundle/v1"

// Names of the bundle's first two entries.
const (
	ManifestName  = "bundle.json"
	SignatureName = "bundle.json.minisig"
)

// Manifest is bundle.json.
type Manifest struct {
	Schema  string `json:"schema"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Created string `json:"created,omitempty"`
	// Notes are the release notes by language ("en", "zh").
	Notes map[string]string `json:"notes,omitempty"`
	// Index is the OCI index.json of the images.
	Index Blob `json:"index"`
	// Images are the images, in the order they were given.
	Images []Image `json:"images"`
	// Blobs are every blob the file holds; a layer its base shipped is not among them.
	Blobs    []Blob       `json:"blobs"`
	Changes  []Change     `json:"changes,omitempty"`
	Requires []Constraint `json:"requires,omitempty"`
	// Base is set for a differential bundle: the bundle whose layers it leaves out.
	Base *Base `json:"base,omitempty"`
}

// Blob is one content-addressed file.
type Blob struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// Image is one image of the bundle and where it goes.
type Image struct {
	Ref string `json:"ref"`
	// Config is the config digest: the image ID the engine must report after loading.
	Config   string  `json:"config"`
	Manifest Blob    `json:"manifest"`
	Layers   []Layer `json:"layers"`
	// Services are the services that get this image, as STACK/SERVICE; "*" means every
	// service whose image has this repository.
	Services []string `json:"services"`
}

// Layer is one layer: its compressed blob and its uncompressed digest (diffID).
type Layer struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	DiffID string `json:"diff_id"`
	// InBase is set when the base bundle shipped this layer: it is not in the file.
	InBase bool `json:"in_base,omitempty"`
}

// Change is one configuration change. Either File and Key (a KEY=VALUE entry of
// .systemconfig, vicode/.systemconfig or .env, relative to the root), or Service and
// Env (an environment entry of a service in its compose file).
type Change struct {
	File    string `json:"file,omitempty"`
	Key     string `json:"key,omitempty"`
	Service string `json:"service,omitempty"`
	Env     string `json:"env,omitempty"`
	Value   string `json:"value,omitempty"`
	// Unset removes the entry instead of setting it.
	Unset bool `json:"unset,omitempty"`
}

// Name is the entry a change is about: "FILE KEY" or "STACK/SERVICE env KEY".
func (c Change) Name() string {
	if c.Service != "" {
		return c.Service + " environment " + c.Env
	}
	return c.File + " " + c.Key
}

// Shown is the value as output may show it: *** when the name says it is a secret.
func (c Change) Shown() string {
	if sysconfig.Secret(c.Key + c.Env) {
		return "***"
	}
	return c.Value
}

// Constraint is what the deployment must be for the bundle to apply: an image of the
// deployment at Min or later (or exactly Tag), or a key with exactly Value.
type Constraint struct {
	Image string `json:"image,omitempty"`
	Min   string `json:"min,omitempty"`
	Tag   string `json:"tag,omitempty"`
	File  string `json:"file,omitempty"`
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

func (c Constraint) String() string {
	switch {
	case c.Image != "" && c.Min != "":
		return c.Image + " " + c.Min + " or later"
	case c.Image != "":
		return c.Image + ":" + c.Tag
	}
	return c.File + " " + c.Key + "=" + c.Value
}

// Base names the bundle a differential bundle builds on.
type Base struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Manifest is the sha256 of the base's bundle.json.
	Manifest string `json:"manifest"`
}

var (
	digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	keyRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	svcRe    = regexp.MustCompile(`^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$`)
)

// maxManifest bounds bundle.json: a thousand images' worth of description.
const maxManifest = 4 << 20

// ParseManifest reads and checks bundle.json.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, i18n.Errorf("bundle.json is not a bundle manifest: %v", err)
	}
	if dec.More() {
		return nil, i18n.Errorf("bundle.json has data after its object")
	}
	if m.Schema != Schema {
		return nil, i18n.Errorf("bundle.json has schema %q; this imgup reads %q: use an imgup as new as the vendor's", m.Schema, Schema)
	}
	return &m, m.check()
}

func (m *Manifest) check() error {
	if m.Name == "" || m.Version == "" {
		return i18n.Errorf("bundle.json has no name or version")
	}
	if !digestRe.MatchString(m.Index.Digest) {
		return i18n.Errorf("bundle.json: index digest %q is not sha256:HEX", m.Index.Digest)
	}
	blobs := map[string]bool{}
	for _, b := range m.Blobs {
		if !digestRe.MatchString(b.Digest) || b.Size < 0 {
			return i18n.Errorf("bundle.json: blob %q is not sha256:HEX with a size", b.Digest)
		}
		if blobs[b.Digest] {
			return i18n.Errorf("bundle.json lists blob %s twice", b.Digest)
		}
		blobs[b.Digest] = true
	}
	if len(m.Images) == 0 {
		return i18n.Errorf("bundle.json lists no image")
	}
	for _, img := range m.Images {
		n, err := reference.ParseNormalizedNamed(img.Ref)
		if err != nil {
			return i18n.Errorf("bundle.json: image %q: %v", img.Ref, err)
		}
		if _, ok := n.(reference.Tagged); !ok {
			return i18n.Errorf("bundle.json: image %q has no tag", img.Ref)
		}
		if !digestRe.MatchString(img.Config) || !blobs[img.Config] || !blobs[img.Manifest.Digest] {
			return i18n.Errorf("bundle.json: image %s: its config and manifest must be blobs of the bundle", img.Ref)
		}
		for _, l := range img.Layers {
			if !digestRe.MatchString(l.Digest) || !digestRe.MatchString(l.DiffID) {
				return i18n.Errorf("bundle.json: image %s: layer %q is not sha256:HEX", img.Ref, l.Digest)
			}
			if !l.InBase && !blobs[l.Digest] {
				return i18n.Errorf("bundle.json: image %s: layer %s is neither a blob of the bundle nor from its base", img.Ref, l.Digest)
			}
			if l.InBase && m.Base == nil {
				return i18n.Errorf("bundle.json: image %s: layer %s is from a base, but the bundle names none", img.Ref, l.Digest)
			}
		}
		if len(img.Services) == 0 {
			return i18n.Errorf("bundle.json: image %s goes to no service (use \"*\" for every service using it)", img.Ref)
		}
		for _, s := range img.Services {
			if s != "*" && !svcRe.MatchString(s) {
				return i18n.Errorf("bundle.json: image %s: service %q is not STACK/SERVICE or *", img.Ref, s)
			}
		}
	}
	for _, c := range m.Changes {
		if err := c.check(); err != nil {
			return i18n.Errorf("bundle.json: change %s: %v", c.Name(), err)
		}
	}
	for _, c := range m.Requires {
		if (c.Image == "") == (c.Key == "") || (c.Image != "" && (c.Min == "") == (c.Tag == "")) || (c.Key != "" && !ConfigFile(c.File)) {
			return i18n.Errorf("bundle.json: constraint %q: name an image with min or tag, or a file's key with its value", c.String())
		}
	}
	return nil
}

func (c Change) check() error {
	switch {
	case c.Service != "" && c.File == "" && c.Key == "":
		if !svcRe.MatchString(c.Service) || !keyRe.MatchString(c.Env) {
			return i18n.Errorf("write a service as STACK/SERVICE and a variable as a shell name")
		}
	case c.Service == "" && c.Env == "":
		if !ConfigFile(c.File) || !keyRe.MatchString(c.Key) {
			return i18n.Errorf("the file must be .systemconfig or .env (in the root or a stack folder), and the key a shell name")
		}
	default:
		return i18n.Errorf("a change names a file and key, or a service and env")
	}
	if strings.ContainsAny(c.Value, "\n\r\x00") || !utf8.ValidString(c.Value) {
		return i18n.Errorf("the value is not one line of UTF-8 text")
	}
	return nil
}

// ConfigFile tells whether a bundle may change name: a .systemconfig or .env, at the
// root or one folder down, as a plain relative path.
func ConfigFile(name string) bool {
	if name == "" || name != path.Clean(name) || strings.HasPrefix(name, "/") || strings.HasPrefix(name, "..") {
		return false
	}
	dir, base := path.Split(name)
	if strings.Count(dir, "/") > 1 {
		return false
	}
	return base == ".systemconfig" || base == ".env"
}
