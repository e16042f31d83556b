package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/distribution/reference"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
)

// Loaded is one image of an archive after a load.
type Loaded struct {
	Ref string `json:"ref"` // "" for an image saved by ID
	ID  string `json:"id"`
	// Already is set when the engine already had this image under this name: not loaded again.
	Already bool `json:"already,omitempty"`
}

// LoadOptions say how to load an archive.
type LoadOptions struct {
	// Progress is told how many more bytes of the file were read.
	Progress func(int64)
	// Bundle, for a vendor bundle, checks every blob against its digest while it
	// streams and the file against the bundle.json a plan verified, before the engine
	// gets the last bytes.
	Bundle *bundle.Bundle
}

// LoadArchive streams one archive into the engine (runbook step 1), skipping parts
// whose images are all already loaded under their names, and then confirms every
// reference by inspecting it: it must carry the archive's config digest as image ID.
func LoadArchive(ctx context.Context, eng engine.Client, path string, lo LoadOptions) (*archive.Archive, []Loaded, error) {
	var mu sync.Mutex
	var engineSaid []string
	keep := func(ctx context.Context, p *archive.Part) error {
		for _, img := range p.Images {
			ok, err := present(ctx, eng, img)
			if err != nil || !ok {
				return err
			}
		}
		return archive.ErrSkip
	}
	opts := archive.Options{Keep: keep}
	if lo.Bundle != nil {
		opts = lo.Bundle.ReadOptions(keep)
	}
	opts.Progress = lo.Progress
	a, err := archive.Read(ctx, path, archive.Options{
		Progress:    opts.Progress,
		Keep:        opts.Keep,
		VerifyBlobs: opts.VerifyBlobs,
		MayLack:     opts.MayLack,
		Load: func(ctx context.Context, r io.Reader) error {
			refs, err := eng.Load(ctx, r)
			mu.Lock()
			engineSaid = append(engineSaid, refs...)
			mu.Unlock()
			if err != nil && !errors.Is(err, archive.ErrSkip) && !errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("%s: %w", path, err)
			}
			return err
		},
	})
	if err != nil {
		return nil, nil, err
	}
	if err := unexpected(ctx, eng, path, a, engineSaid); err != nil {
		return a, nil, err
	}
	var out []Loaded
	for _, p := range a.Parts {
		for _, img := range p.Images {
			refs := img.Refs
			if len(refs) == 0 {
				refs = []string{""}
			}
			for _, ref := range refs {
				l := Loaded{Ref: ref, ID: img.ID, Already: p.Skipped}
				if !p.Skipped {
					if err := confirm(ctx, eng, path, ref, img.ID); err != nil {
						return a, out, err
					}
				}
				out = append(out, l)
			}
		}
	}
	return a, out, nil
}

// unexpected compares what the engine says it loaded with what imgup read: a tag the
// archive did not show (the engine read the tar differently) is an error, and imgup
// removes that tag again.
func unexpected(ctx context.Context, eng engine.Client, path string, a *archive.Archive, said []string) error {
	want := map[string]bool{}
	for _, p := range a.Parts {
		for _, img := range p.Images {
			want[img.ID] = true
			for _, r := range img.Refs {
				want[normalRef(r)] = true
			}
		}
	}
	var extra []string
	for _, r := range said {
		if !want[r] && !want[normalRef(r)] {
			extra = append(extra, r)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	var errs []error
	for _, r := range extra {
		if !strings.HasPrefix(r, "sha256:") {
			if err := eng.RemoveImage(ctx, r); err != nil {
				errs = append(errs, fmt.Errorf("removing %s: %w", r, err))
			}
		}
	}
	return errors.Join(append([]error{fmt.Errorf("%s: the engine loaded %s, which the archive did not show; imgup removed the tag(s) again: the archive is not what it says, ask the vendor for a new one",
		path, archive.Safe(strings.Join(extra, ", ")))}, errs...)...)
}

func normalRef(r string) string {
	if n, err := reference.ParseNormalizedNamed(r); err == nil {
		return reference.FamiliarString(reference.TagNameOnly(n))
	}
	return r
}

// present reports whether the engine has img under every one of its names.
func present(ctx context.Context, eng engine.Client, img archive.Image) (bool, error) {
	refs := img.Refs
	if len(refs) == 0 {
		refs = []string{img.ID}
	}
	for _, ref := range refs {
		id, err := eng.ImageID(ctx, ref)
		if err != nil || id != img.ID {
			return false, err
		}
	}
	return true, nil
}

func confirm(ctx context.Context, eng engine.Client, path, ref, want string) error {
	name := ref
	if name == "" {
		name = want
	}
	id, err := eng.ImageID(ctx, name)
	if err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("%s: the engine reported the load as done, but has no image %s", path, name)
	}
	if id != want {
		return fmt.Errorf("%s: after loading, %s is image %s, but the archive holds %s", path, name, short(id), short(want))
	}
	return nil
}

// short keeps the "sha256:" prefix in apply's messages: "sha256:6b779c54e564".
func short(id string) string {
	if id == "" {
		return id
	}
	return "sha256:" + engine.ShortID(id)
}
