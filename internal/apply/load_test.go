// This test locks down that what imgup shows is what the engine loads: a tag the
// engine reports beyond what the archive showed fails the load and is removed again.
package apply

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/engine"
)

type loadFake struct {
	engine.Client // any other call panics
	ids           map[string]string
	extra         []string
	removed       []string
}

func (f *loadFake) Load(ctx context.Context, r io.Reader) ([]string, error) {
	io.Copy(io.Discard, r)
	var out []string
	for ref := range f.ids {
		out = append(out, ref)
	}
	return append(out, f.extra...), nil
}

func (f *loadFake) ImageID(ctx context.Context, ref string) (string, error) { return f.ids[ref], nil }

func (f *loadFake) RemoveImage(ctx context.Context, ref string) error {
	f.removed = append(f.removed, ref)
	return nil
}

func TestLoadUnexpectedTag(t *testing.T) {
	img := archivetest.Random(t, 1, "acme/web:1.0.1")
	p := filepath.Join(t.TempDir(), "web.tar")
	os.WriteFile(p, archivetest.Classic(t, []archivetest.Image{img}, nil), 0o644)
	id := archivetest.ID(t, img.Img)

	f := &loadFake{ids: map[string]string{"acme/web:1.0.1": id}}
	if _, _, err := LoadArchive(context.Background(), f, p, LoadOptions{}); err != nil {
		t.Fatalf("a clean load: %v", err)
	}
	f.extra = []string{"encoo/rpa-service:4.1.1"}
	_, _, err := LoadArchive(context.Background(), f, p, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "the engine loaded encoo/rpa-service:4.1.1, which the archive did not show") {
		t.Fatalf("got %v", err)
	}
	if len(f.removed) != 1 || f.removed[0] != "encoo/rpa-service:4.1.1" {
		t.Errorf("removed %v", f.removed)
	}
}
