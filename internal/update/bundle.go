package update

import (
	"context"
	"os"
	"strings"

	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/readfile"
)

// The vendor's side of bundles (keygen, create) and the operator's checks (verify,
// inspect) go through the service like every other operation.

// GenerateKey writes a minisign key pair NAME.key and NAME.pub and returns the key ID;
// an empty password leaves the secret key unencrypted.
func GenerateKey(name, password string) (id string, err error) {
	return bundle.GenerateKey(name, password)
}

// BundleSpec is what goes into a bundle, as the vendor says it.
type BundleSpec struct {
	Name, Version, Out string
	// Services maps an image reference or repository to the services (STACK/SERVICE)
	// that get it.
	Services map[string][]string
	Changes  []Change
	Requires []Constraint
	// NoteFiles maps a language ("en", "zh") to a file of release notes.
	NoteFiles map[string]string
	// Key and KeyPassword sign the bundle; no key writes it unsigned.
	Key, KeyPassword string
	// Base is the bundle a differential bundle builds on.
	Base string
	// Images are archive files, or references of images in the local engine.
	Images []string
}

// BundleMade is a bundle written.
type BundleMade struct {
	Manifest *Manifest
	Size     int64
	// KeyID signs it ("" for unsigned); Base names the bundle it builds on.
	KeyID string
	Base  *Manifest
	// Shipped and Left are the layer bytes written, and those the base shipped.
	Shipped, Left int64
}

// CreateBundle writes a bundle; images named by reference are saved from the engine.
func (svc *Service) CreateBundle(ctx context.Context, s BundleSpec) (*BundleMade, error) {
	o := bundle.CreateOptions{Name: s.Name, Version: s.Version, Out: s.Out, Services: map[string][]string{}, Notes: map[string]string{},
		Changes: s.Changes, Requires: s.Requires}
	for repo, list := range s.Services {
		r := engine.Repository(repo + ":x")
		o.Services[r] = append(o.Services[r], list...)
	}
	for lang, file := range s.NoteFiles {
		b, err := readfile.Read(file, 0)
		if err != nil {
			return nil, err
		}
		o.Notes[lang] = string(b)
	}
	made := &BundleMade{}
	if s.Key != "" {
		k, err := bundle.LoadKey(s.Key, s.KeyPassword)
		if err != nil {
			return nil, err
		}
		o.Key, made.KeyID = &k, bundle.KeyID(k.ID())
	}
	if s.Base != "" {
		b, err := bundle.Open(s.Base, bundle.OpenOptions{AllowUnsigned: true})
		if err != nil {
			return nil, err
		}
		o.Base, made.Base = b, b.Manifest
	}
	for _, a := range s.Images {
		if st, err := os.Stat(a); err == nil && !st.IsDir() {
			o.Archives = append(o.Archives, a)
		} else {
			o.Refs = append(o.Refs, a)
		}
	}
	if len(o.Refs) > 0 {
		eng, err := svc.dial(ctx)
		if err != nil {
			return nil, err
		}
		defer eng.Close()
		o.Save = eng.Save
	}
	res, err := bundle.Create(ctx, o)
	if err != nil {
		return nil, err
	}
	made.Manifest, made.Size, made.Shipped, made.Left = res.Manifest, res.Size, res.Shipped, res.Left
	return made, nil
}

// ParseConstraint reads a bundle constraint as --requires takes it: REPO>=VERSION,
// REPO=TAG or FILE:KEY=VALUE; false when s is none of them.
func ParseConstraint(s string) (Constraint, bool) {
	if file, kv, ok := strings.Cut(s, ":"); ok && bundle.ConfigFile(file) {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			return Constraint{File: file, Key: k, Value: v}, true
		}
	}
	if repo, v, ok := strings.Cut(s, ">="); ok {
		return Constraint{Image: repo, Min: v}, true
	}
	if i := strings.LastIndexByte(s, '='); i > 0 {
		return Constraint{Image: s[:i], Tag: s[i+1:]}, true
	}
	return Constraint{}, false
}

// Trust says which keys a deployment trusts: its <root>/.imgup/trusted/*.pub, or the
// files named; AllowUnsigned accepts a bundle no trusted key signed, loudly.
type Trust struct {
	Root          string
	Files         []string
	AllowUnsigned bool
}

// openBundle opens a bundle, checking its signature against t; an accepted bundle that
// no trusted key signed is a warning event.
func openBundle(t Trust, path string, emit func(Event)) (*bundle.Bundle, error) {
	tr, err := bundle.LoadTrust(t.Root, t.Files)
	if err != nil {
		return nil, err
	}
	b, err := bundle.Open(path, bundle.OpenOptions{Trust: tr, AllowUnsigned: t.AllowUnsigned})
	if err != nil {
		return nil, err
	}
	if n, ok := Unsigned(path, b); ok && emit != nil {
		emit(n)
	}
	return b, nil
}

// BundleChecked is a bundle verified whole: signature, manifest and every blob.
type BundleChecked struct {
	Manifest  *Manifest
	Signature Signature
	Images    int
	SHA256    string
}

// VerifyBundle checks a bundle completely without the engine: its signature against
// t, its manifest, and every blob against its digest (reading progress on emit).
func VerifyBundle(ctx context.Context, t Trust, path string, emit func(Event)) (*BundleChecked, error) {
	b, err := openBundle(t, path, emit)
	if err != nil {
		return nil, err
	}
	count, done := event.Reader(emit, "read", "verifying", path, fileSize(path))
	a, err := b.Read(ctx, count)
	done(err == nil)
	if err != nil {
		return nil, err
	}
	return &BundleChecked{Manifest: b.Manifest, Signature: b.Signature, Images: len(a.Images()), SHA256: a.SHA256}, nil
}

// BundleInfo is what a bundle's bundle.json says, and whether a trusted key signed it
// (Problem says why not).
type BundleInfo struct {
	Path      string    `json:"path"`
	Manifest  *Manifest `json:"manifest"`
	Digest    string    `json:"manifest_sha256"`
	Signature Signature `json:"signature"`
	Problem   string    `json:"signature_problem,omitempty"`
}

// InspectBundle reads only a bundle's bundle.json; an untrusted bundle is shown anyway,
// with the reason.
func InspectBundle(t Trust, path string) (*BundleInfo, error) {
	tr, err := bundle.LoadTrust(t.Root, t.Files)
	if err != nil {
		return nil, err
	}
	res := &BundleInfo{Path: path}
	b, err := bundle.Open(path, bundle.OpenOptions{Trust: tr})
	if err != nil {
		b2, err2 := bundle.Open(path, bundle.OpenOptions{AllowUnsigned: true})
		if err2 != nil {
			return nil, err
		}
		b, res.Problem = b2, err.Error()
	}
	res.Manifest, res.Digest, res.Signature = b.Manifest, b.Digest, b.Signature
	return res, nil
}
