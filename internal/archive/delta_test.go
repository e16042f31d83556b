package archive

import (
	"os"
	"path/filepath"

	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
)

// testdata/save-20.10.tar is `docker save` of a two-layer image by Engine 20.10.24;
// its layers' diffIDs are these.
var (
	diff1  = "sha256:4143e999e6796bf463889bbd3ba0d484889d056308210a387c35f46635d6b769"
	diff2  = "sha256:6f87d9f9d6806266ce8d1f33ee8aec833c612a4d1e40008a52a4b0cdf27086f5"
	chain2 = ChainID(diff1, diff2)
)

func loadWith(t *testing.T, have *Inventory) (names []string, part Part) {
	t.Helper()
	var sink bytes.Buffer
	a, err := Read(context.Background(), "testdata/save-20.10.tar", Options{Have: have,
		Load: func(_ context.Context, r io.Reader) error { _, err := io.Copy(&sink, r); return err }})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&sink)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the stream sent is not a tar: %v", err)
		}
		names = append(names, h.Name)
	}
	return names, a.Parts[0]
}

func TestDeltaClassic(t *testing.T) {
	all, p := loadWith(t, nil)
	if p.Omitted != 0 || len(all) != 11 {
		t.Fatalf("without an inventory: %d entries, %d omitted", len(all), p.Omitted)
	}
	// The engine has the base layer only: its layer.tar stays out.
	names, p := loadWith(t, &Inventory{Chains: map[string]bool{diff1: true}})
	if p.Omitted != 1 || len(names) != 10 || strings.Contains(strings.Join(names, " "), "706d25d42c0052f9d39e4c15241357fe61c7f2a47d9bc59f239abe70482fdade/layer.tar") {
		t.Fatalf("base present: sent %v (%d omitted)", names, p.Omitted)
	}
	// Both layers: only metadata goes.
	names, p = loadWith(t, &Inventory{Chains: map[string]bool{diff1: true, chain2: true, "sha256:" + strings.Repeat("0", 64): true}})
	if p.Omitted != 2 || p.Sent > 16896-2*(512+2048) {
		t.Fatalf("all present: sent %v (%d omitted, %d bytes)", names, p.Omitted, p.Sent)
	}
	// A chain of another image with the same top diffID is not this layer.
	_, p = loadWith(t, &Inventory{Chains: map[string]bool{diff2: true, ChainID(diff2, diff1): true}})
	if p.Omitted != 0 {
		t.Fatalf("foreign chains matched: %d omitted", p.Omitted)
	}
}

// A layer blob named by a digest the engine has stays out of the stream, in both OCI
// forms; the stream stays a tar with a manifest.json the engine reads.
func TestDeltaOCI(t *testing.T) {
	img := archivetest.Random(t, 3, "acme/web:1.0")
	layers, _ := img.Img.Layers()
	d0, _ := layers[0].Digest()
	for _, withManifest := range []bool{true, false} {
		p := filepath.Join(t.TempDir(), "oci.tar")
		os.WriteFile(p, archivetest.OCI(t, []archivetest.Image{img}, withManifest), 0o644)
		var sink bytes.Buffer
		a, err := Read(context.Background(), p, Options{Have: &Inventory{DiffIDs: map[string]bool{d0.String(): true}},
			Load: func(_ context.Context, r io.Reader) error { _, err := io.Copy(&sink, r); return err }})
		if err != nil {
			t.Fatal(err)
		}
		if a.Parts[0].Omitted != 1 {
			t.Fatalf("manifest %v: %d omitted", withManifest, a.Parts[0].Omitted)
		}
		tr := tar.NewReader(&sink)
		seen := map[string]bool{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("manifest %v: not a tar: %v", withManifest, err)
			}
			seen[h.Name] = true
		}
		if !seen["manifest.json"] || seen["blobs/sha256/"+d0.Hex] {
			t.Fatalf("manifest %v: sent %v", withManifest, seen)
		}
	}
}

// A deferred read describes the archive and streams it, but the sink sees the end of
// its stream only on Commit; Abort cuts it short.
func TestDeferredRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.tar")
	os.WriteFile(p, archivetest.Classic(t, []archivetest.Image{archivetest.Random(t, 2, "acme/web:1")}, nil), 0o644)
	for _, commit := range []bool{true, false} {
		done := make(chan error, 1)
		var n int64
		a, err := Read(context.Background(), p, Options{Defer: true, Load: func(_ context.Context, r io.Reader) error {
			var err error
			n, err = io.Copy(io.Discard, r)
			done <- err
			return err
		}})
		if err != nil || !a.Pending() || len(a.Images()) != 1 {
			t.Fatalf("read: %v, pending %v", err, a.Pending())
		}
		select {
		case <-done:
			t.Fatal("the sink got the end of the stream before Commit")
		default:
		}
		if commit {
			if err := a.Commit(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil || n == 0 || a.Parts[0].Sent != n {
				t.Fatalf("commit: %v, sent %d of %d", err, a.Parts[0].Sent, n)
			}
		} else {
			a.Abort()
			if err := <-done; err == nil {
				t.Fatal("abort: the sink's stream ended cleanly")
			}
		}
	}
}

// Part.Delta, from a read that streams nowhere, says what a delta load with the same
// inventory leaves out, and TarBytes less it what the load sends.
func TestDeltaWithoutLoad(t *testing.T) {
	img := archivetest.Random(t, 3, "acme/web:1.0")
	layers, _ := img.Img.Layers()
	d0, _ := layers[0].Digest()
	oci := filepath.Join(t.TempDir(), "oci.tar")
	os.WriteFile(oci, archivetest.OCI(t, []archivetest.Image{img}, true), 0o644)
	cases := []struct {
		path string
		have *Inventory
	}{
		{"testdata/save-20.10.tar", &Inventory{}},
		{"testdata/save-20.10.tar", &Inventory{Chains: map[string]bool{diff1: true}}},
		{"testdata/save-20.10.tar", &Inventory{Chains: map[string]bool{diff1: true, chain2: true}}},
		{"testdata/save-20.10.tar", &Inventory{Chains: map[string]bool{diff2: true, ChainID(diff2, diff1): true}}},
		{oci, &Inventory{DiffIDs: map[string]bool{d0.String(): true}}},
	}
	for i, c := range cases {
		plain, err := Read(context.Background(), c.path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var sink bytes.Buffer
		loaded, err := Read(context.Background(), c.path, Options{Have: c.have,
			Load: func(_ context.Context, r io.Reader) error { _, err := io.Copy(&sink, r); return err }})
		if err != nil {
			t.Fatal(err)
		}
		p, l := plain.Parts[0], loaded.Parts[0]
		n, b, sends := p.Delta(c.have, nil)
		if n != l.Omitted || b != l.OmittedBytes {
			t.Errorf("case %d: Delta says %d layer(s), %d bytes; the load left out %d, %d", i, n, b, l.Omitted, l.OmittedBytes)
		}
		if sends != int64(sink.Len()) || sends != l.Sends() {
			t.Errorf("case %d: Delta says %d bytes are sent; the load sent %d (it says %d)", i, sends, sink.Len(), l.Sends())
		}
	}
}
