package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
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
	// Have is the engine's layer inventory (Inventory): only the layers the engine
	// lacks are sent. nil sends every layer.
	Have *archive.Inventory
	// Emit is told, as a note event, what the load did that the operator should know
	// (a retry).
	Emit func(Event)
	// Defer (StartLoad) streams the archive but leaves the load to Finish.
	Defer bool
	// Digest computes the file's sha256 while it streams, for the plan's record.
	Digest bool
	// Bundle, for a vendor bundle, checks every blob against its digest while it
	// streams and the file against the bundle.json a plan verified, before the engine
	// gets the last bytes.
	Bundle *bundle.Bundle
}

// LoadArchive streams one archive into the engine (runbook step 1), skipping parts
// whose images are all already loaded under their names, and then confirms every
// reference by inspecting it: it must carry the archive's config digest as image ID.
func LoadArchive(ctx context.Context, eng engine.Client, path string, lo LoadOptions) (*archive.Archive, []Loaded, error) {
	a, loaded, _, err := LoadNodes(ctx, eng, path, lo)
	return a, loaded, err
}

// LoadNodes is LoadArchive that also says what each node of a swarm was sent (nil
// off a swarm).
func LoadNodes(ctx context.Context, eng engine.Client, path string, lo LoadOptions) (*archive.Archive, []Loaded, []NodeSend, error) {
	lo.Defer = false
	l, err := StartLoad(ctx, eng, path, lo)
	if err != nil {
		return nil, nil, nil, err
	}
	a, loaded, err := l.Finish(ctx)
	return a, loaded, l.Nodes(), err
}

// Loading is a load under way: the archive has been read and streamed, and, when
// deferred, waits for Finish or Abort with the engine holding all but its last bytes.
type Loading struct {
	eng        engine.Client
	path       string
	lo         LoadOptions
	Archive    *archive.Archive
	mu         sync.Mutex
	cancel     context.CancelFunc
	engineSaid []string
	err        error // the read's error, for Finish's retry
	// nodes, for a swarm, are the loads to each node: one stream per node, each
	// without the layers that node has (Archive is the first's).
	nodes []nodeLoad
}

// nodeLoad is one node's part of a swarm's load.
type nodeLoad struct {
	name string
	l    *Loading
	// full: imgup cannot read the node's layers, so it is sent every layer.
	full bool
	// has are the parts whose images the node has: Finish withholds them from it.
	has []bool
}

// NodeSend is what a swarm load sends one node: Bytes of the archive's Total (its
// tar's bytes), leaving out Omitted layers the node has (OmittedBytes).
// Before the load is finished Bytes is the plan's figure (every entry but the
// omitted layers); after, the bytes the node's engine got.
type NodeSend struct {
	Node         string `json:"node"`
	Bytes        int64  `json:"bytes"`
	Total        int64  `json:"total"`
	Omitted      int    `json:"omitted_layers"`
	OmittedBytes int64  `json:"omitted_bytes"`
	// Full: the node's layers could not be read; it is sent every layer.
	Full bool `json:"full,omitempty"`
}

// Nodes is what the load sends (or sent) each node of a swarm; nil off a swarm.
func (l *Loading) Nodes() []NodeSend {
	var out []NodeSend
	for _, n := range l.nodes {
		ns := NodeSend{Node: n.name, Full: n.full}
		if a := n.l.Archive; a != nil {
			for i, p := range a.Parts {
				if p.Skipped || (a.Pending() && i < len(n.has) && n.has[i]) {
					continue
				}
				ns.Total += p.TarBytes()
				ns.Omitted += p.Omitted
				ns.OmittedBytes += p.OmittedBytes
				ns.Bytes += p.Sends()
			}
		}
		out = append(out, ns)
	}
	return out
}

// StartLoad reads the archive at path once, streaming it to the engine. With
// lo.Defer the engine gets every byte but the last: nothing is loaded until Finish,
// and Abort leaves the engine as it was. The returned Loading's Archive describes the
// archive (for a plan). Without Defer the load completes here.
func StartLoad(ctx context.Context, eng engine.Client, path string, lo LoadOptions) (*Loading, error) {
	if m, ok := eng.(engine.Members); ok && lo.Have != nil && len(m.Members()) > 1 {
		return startNodes(ctx, eng, m.Members(), path, lo)
	}
	l := &Loading{eng: eng, path: path, lo: lo}
	opts := archive.Options{Keep: l.keep, Have: lo.Have}
	if lo.Bundle != nil {
		opts = lo.Bundle.ReadOptions(l.keep, lo.Have)
	}
	opts.Progress, opts.Defer, opts.Digest = lo.Progress, lo.Defer, lo.Digest
	opts.Load = func(ctx context.Context, r io.Reader) error {
		refs, err := eng.Load(ctx, r)
		l.mu.Lock()
		l.engineSaid = append(l.engineSaid, refs...)
		l.mu.Unlock()
		if err != nil && !errors.Is(err, archive.ErrSkip) && !errors.Is(ctx.Err(), context.Canceled) {
			return i18n.Errorf("%s: %w", path, err)
		}
		return err
	}
	a, err := archive.Read(ctx, path, opts)
	if err != nil && !(lo.Have != nil && missingLayer(err)) {
		return nil, err
	}
	l.Archive, l.err = a, err
	return l, nil
}

// startNodes is a swarm's delta load: each node gets a stream of its own, read from
// the archive beside the others, without the layers that node has (its own
// inventory, not what every node has: a node that lacks the base does not make the
// others get it). The first read reports progress and computes the digest.
func startNodes(ctx context.Context, eng engine.Client, members []engine.Member, path string, lo LoadOptions) (*Loading, error) {
	ctx, cancel := context.WithCancel(ctx)
	l := &Loading{eng: eng, path: path, lo: lo, nodes: make([]nodeLoad, len(members))}
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, _, err := Inventory(ctx, m.Client)
			if err != nil {
				errs[i] = fmt.Errorf("node %s: %w", m.Label(), err)
				cancel()
				return
			}
			nlo := lo
			nlo.Have = inv
			if i > 0 {
				nlo.Progress, nlo.Digest = nil, false
			}
			nl, err := StartLoad(ctx, m.Client, path, nlo)
			if err != nil {
				errs[i] = fmt.Errorf("node %s: %w", m.Label(), err)
				cancel()
				return
			}
			var has []bool
			if nl.Archive != nil {
				for _, p := range nl.Archive.Parts {
					ok, err := HasPart(ctx, m.Client, p)
					if err != nil {
						errs[i] = fmt.Errorf("node %s: %w", m.Label(), err)
						cancel()
						return
					}
					has = append(has, ok)
				}
			}
			l.nodes[i] = nodeLoad{name: m.Name, l: nl, full: inv == nil, has: has}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		l.Abort()
		cancel()
		return nil, err
	}
	l.cancel = cancel
	l.Archive = l.nodes[0].l.Archive
	return l, nil
}

// keep withholds a part whose images the engine already has under every name.
func (l *Loading) keep(ctx context.Context, p *archive.Part) error {
	ok, err := HasPart(ctx, l.eng, *p)
	if err != nil || !ok {
		return err
	}
	return archive.ErrSkip
}

// HasPart says whether the engine has every image of the part under every name (by
// its ID when it has none): a load withholds such a part.
func HasPart(ctx context.Context, eng engine.Client, p archive.Part) (bool, error) {
	for _, img := range p.Images {
		ok, err := present(ctx, eng, img)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Abort cancels a deferred load: the engine loads nothing of it.
func (l *Loading) Abort() {
	if l == nil {
		return
	}
	if l.nodes != nil {
		for _, n := range l.nodes {
			if n.l != nil {
				n.l.Abort()
			}
		}
		if l.cancel != nil {
			l.cancel()
		}
		return
	}
	if l.Archive != nil {
		l.Archive.Abort()
	}
}

// Finish completes the load and confirms every reference's image ID. A load the
// engine refused for a layer imgup left out is done again with every layer.
func (l *Loading) Finish(ctx context.Context) (*archive.Archive, []Loaded, error) {
	if l.nodes != nil {
		return l.finishNodes(ctx)
	}
	err := l.err
	if err == nil && l.Archive.Pending() {
		err = l.Archive.Commit(ctx, l.keep)
	}
	if err != nil && l.lo.Have != nil && missingLayer(err) {
		// The engine lacked a layer imgup left out (removed since the inventory, or a
		// guessed OCI layer): send everything, once.
		if l.lo.Emit != nil {
			l.lo.Emit(said(Event{Kind: event.Note, Stage: "load", Time: time.Now()}, i18n.Msg("%s: the engine lacked a layer imgup had left out; loading again with every layer", l.path)))
		}
		lo := l.lo
		lo.Have = nil
		return LoadArchive(ctx, l.eng, l.path, lo)
	}
	a := l.Archive
	if err != nil {
		return a, nil, err
	}
	if err := unexpected(ctx, l.eng, l.path, a, l.engineSaid); err != nil {
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
				ld := Loaded{Ref: ref, ID: img.ID, Already: p.Skipped}
				if !p.Skipped {
					if err := confirm(ctx, l.eng, l.path, ref, img.ID); err != nil {
						return a, out, err
					}
				}
				out = append(out, ld)
			}
		}
	}
	return a, out, nil
}

// finishNodes finishes every node's load at once. An image is "already loaded" only
// when every node had it.
func (l *Loading) finishNodes(ctx context.Context) (*archive.Archive, []Loaded, error) {
	if l.cancel != nil {
		defer l.cancel()
	}
	type result struct {
		loaded []Loaded
		err    error
	}
	res := make([]result, len(l.nodes))
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, loaded, err := n.l.Finish(ctx)
			if a != nil {
				l.nodes[i].l.Archive = a // a retry with every layer reads it again
			}
			if err != nil {
				err = fmt.Errorf("node %s: %w", n.name, err)
			}
			res[i] = result{loaded, err}
		}()
	}
	wg.Wait()
	var errs []error
	var out []Loaded
	index := map[string]int{}
	for _, r := range res {
		if r.err != nil {
			errs = append(errs, r.err)
		}
		for _, ld := range r.loaded {
			key := ld.Ref + "@" + ld.ID
			if i, ok := index[key]; ok {
				out[i].Already = out[i].Already && ld.Already
				continue
			}
			index[key] = len(out)
			out = append(out, ld)
		}
	}
	l.Archive = l.nodes[0].l.Archive
	return l.Archive, out, errors.Join(errs...)
}

// missingLayer tells a load the engine refused because a layer file was not in the
// stream: it opens a layer's file only when it lacks the layer.
func missingLayer(err error) bool {
	m := err.Error()
	return strings.Contains(m, "no such file or directory") && (strings.Contains(m, "layer.tar") || strings.Contains(m, "blobs/sha256"))
}

// Inventory is the engine's layer inventory, for a delta load: the chain ID of every
// layer of every image (the API has no call for it; each image's diffIDs give its
// chain), read with a few inspects at a time. It is nil, with a note saying why, on
// the containerd image store, which imports every layer of a load, and when the
// layers cannot be read: then every layer is sent. Only Info failing is an error.
//
// For a swarm (an engine that speaks for several), it is what every node has: a layer
// is left out of the one stream all nodes get only when no node lacks it.
func Inventory(ctx context.Context, eng engine.Client) (*archive.Inventory, string, error) {
	if m, ok := eng.(engine.Members); ok {
		return common(ctx, m.Members())
	}
	if _, ok := eng.(engine.SelfDelta); ok {
		return nil, "", nil
	}
	info, err := eng.Info(ctx)
	if err != nil {
		return nil, "", err
	}
	if info.Containerd {
		return nil, "this engine keeps images in the containerd image store, which needs every layer of a load: imgup sends them all", nil
	}
	imgs, err := eng.Images(ctx)
	if err != nil {
		return nil, fmt.Sprintf("imgup cannot read the engine's layers (%v): it sends every layer", err), nil
	}
	inv := &archive.Inventory{Chains: map[string]bool{}, DiffIDs: map[string]bool{}}
	var mu sync.Mutex
	var first error
	work := make(chan string)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				layers, err := eng.ImageLayers(ctx, id)
				mu.Lock()
				if err != nil && first == nil && !strings.Contains(err.Error(), "No such image") {
					first = i18n.Errorf("reading the layers of image %s: %w", engine.ShortID(id), err)
				}
				chain := ""
				for _, l := range layers {
					chain = archive.ChainID(chain, l)
					inv.Chains[chain], inv.DiffIDs[l] = true, true
				}
				mu.Unlock()
			}
		}()
	}
	for _, img := range imgs {
		work <- img.ID
	}
	close(work)
	wg.Wait()
	if first != nil {
		return nil, fmt.Sprintf("imgup cannot read the engine's layers (%v): it sends every layer", first), nil
	}
	return inv, "", nil
}

// NodeInventories are each member engine's Inventory, read side by side: a nil one
// with its note where imgup cannot read that node's layers.
func NodeInventories(ctx context.Context, members []engine.Member) ([]*archive.Inventory, []string, error) {
	invs := make([]*archive.Inventory, len(members))
	notes := make([]string, len(members))
	errs := make([]error, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invs[i], notes[i], errs[i] = Inventory(ctx, m.Client)
		}()
	}
	wg.Wait()
	for i, m := range members {
		if errs[i] != nil {
			return nil, nil, i18n.Errorf("node %s: %w", m.Name, errs[i])
		}
	}
	return invs, notes, nil
}

// common is the layers every member engine has.
func common(ctx context.Context, members []engine.Member) (*archive.Inventory, string, error) {
	invs, notes, err := NodeInventories(ctx, members)
	if err != nil {
		return nil, "", err
	}
	var out *archive.Inventory
	for i, m := range members {
		if invs[i] == nil {
			return nil, fmt.Sprintf("node %s: %s", m.Name, notes[i]), nil
		}
		if out == nil {
			out = invs[i]
			continue
		}
		for k := range out.Chains {
			if !invs[i].Chains[k] {
				delete(out.Chains, k)
			}
		}
		for k := range out.DiffIDs {
			if !invs[i].DiffIDs[k] {
				delete(out.DiffIDs, k)
			}
		}
	}
	return out, "", nil
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
				errs = append(errs, i18n.Errorf("removing %s: %w", r, err))
			}
		}
	}
	return errors.Join(append([]error{i18n.Errorf("%s: the engine loaded %s, which the archive did not show; imgup removed the tag(s) again: the archive is not what it says, ask the vendor for a new one",
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
		return i18n.Errorf("%s: the engine reported the load as done, but has no image %s", path, name)
	}
	if id != want {
		return i18n.Errorf("%s: after loading, %s is image %s, but the archive holds %s", path, name, short(id), short(want))
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

// SentTo says what a swarm's delta load sent one node: "node2: sent 9.4 MB of 261 MB:
// 11 layer(s) it has left out", or every layer.
func SentTo(a *archive.Archive, n NodeSend) string {
	name := ""
	if a != nil {
		name = filepath.Base(a.Path) + ": "
	}
	if n.Full {
		return fmt.Sprintf("%snode %s: sent %s of %s: every layer (imgup cannot read the node's layers)", name, n.Node, plan.Human(n.Bytes), plan.Human(n.Total))
	}
	return fmt.Sprintf("%snode %s: sent %s of %s: %d layer(s) it has left out", name, n.Node, plan.Human(n.Bytes), plan.Human(n.Total), n.Omitted)
}

// Sent says what a delta load sent of an archive: "sent 9.4 MB of 261 MB: 11 layers
// already present", or "" when it left nothing out.
func Sent(a *archive.Archive) string {
	if a == nil {
		return ""
	}
	var sent, omitted int64
	layers := 0
	for _, p := range a.Parts {
		if p.Skipped {
			continue
		}
		sent += p.Sent
		omitted += p.OmittedBytes
		layers += p.Omitted
	}
	if layers == 0 {
		return ""
	}
	return fmt.Sprintf("%s: sent %s of %s to the engine: %d layer(s) already present", filepath.Base(a.Path), plan.Human(sent), plan.Human(sent+omitted), layers)
}
