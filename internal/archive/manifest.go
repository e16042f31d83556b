package archive

import (
	"encoding/json"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// classicEntry is one image in a docker-save manifest.json.
type classicEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

type ociDescriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type ociIndex struct {
	MediaType string          `json:"mediaType"`
	Manifests []ociDescriptor `json:"manifests"`
	// An image manifest has these instead.
	Config *ociDescriptor  `json:"config"`
	Layers []ociDescriptor `json:"layers"`
}

// describe turns the part's metadata into images, checking that every file the
// metadata names is in the tar.
func (ps *partState) describe() error {
	_, hasIndex := ps.files["index.json"]
	if raw, ok := ps.kept["manifest.json"]; ok {
		ps.part.Layout = Classic
		if hasIndex {
			ps.part.Layout = OCI
		}
		return ps.describeClassic(raw)
	}
	if _, ok := ps.files["manifest.json"]; ok {
		return fault("manifest.json is not JSON")
	}
	if raw, ok := ps.kept["index.json"]; ok {
		ps.part.Layout = OCI
		return ps.describeOCI(raw)
	}
	if len(ps.files) > 0 {
		// Layers but no metadata: docker save writes manifest.json last, so the end is missing.
		return fault("truncated: it has image layers but no manifest.json or index.json, which come last; the copy is incomplete, upload it again")
	}
	return fault("holds no image: no manifest.json or index.json (not a docker save archive)")
}

func (ps *partState) describeClassic(raw []byte) error {
	var m []classicEntry
	if err := json.Unmarshal(raw, &m); err != nil {
		return fault("manifest.json is not a docker save manifest: %v", err)
	}
	if len(m) == 0 {
		return fault("manifest.json lists no image")
	}
	for _, e := range m {
		img := Image{Layers: len(e.Layers)}
		id, err := ps.blobID(e.Config)
		if err != nil {
			return err
		}
		img.ID = id
		for _, l := range e.Layers {
			if err := refName("layer", l); err != nil {
				return err
			}
			size, ok := ps.files[cleanName(l)]
			if !ok {
				return fault("manifest.json names layer %q, which is not in the archive: the archive is incomplete or was repacked", l)
			}
			img.Size += size
		}
		ps.layerChains(e)
		if img.Refs, err = checkRefs(e.RepoTags); err != nil {
			return err
		}
		ps.part.Images = append(ps.part.Images, img)
	}
	return nil
}

// layerChains records the chain ID of each classic layer folder of e, from its
// config's diffIDs (Part.Delta). A config that does not list one diffID per layer
// records none: a delta load then finds no match for them either.
func (ps *partState) layerChains(e classicEntry) {
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if json.Unmarshal(ps.kept[cleanName(e.Config)], &cfg) != nil || len(cfg.RootFS.DiffIDs) != len(e.Layers) {
		return
	}
	chain := ""
	for i, l := range e.Layers {
		chain = ChainID(chain, cfg.RootFS.DiffIDs[i])
		if dir, ok := strings.CutSuffix(cleanName(l), "/layer.tar"); ok {
			if ps.part.chains == nil {
				ps.part.chains = map[string]string{}
			}
			ps.part.chains[dir] = chain
		}
	}
}

// blobID returns the image ID for a config file: the sha256 of its bytes.
func (ps *partState) blobID(name string) (string, error) {
	if err := refName("config", name); err != nil {
		return "", err
	}
	name = cleanName(name)
	if _, ok := ps.files[name]; !ok {
		return "", fault("manifest.json names config %q, which is not in the archive", name)
	}
	d, ok := ps.dig[name]
	if !ok {
		return "", fault("config %q is not JSON", name)
	}
	return d, nil
}

// blobPath is where an OCI layout keeps a digest's blob. A digest that is not
// ALGORITHM:HEX names no file: it maps to a name no entry can have.
func blobPath(digest string) string {
	if !digestRe.MatchString(digest) {
		return "\x00invalid digest " + digest
	}
	return "blobs/" + strings.Replace(digest, ":", "/", 1)
}

var digestRe = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$`)

// refName refuses a manifest's reference to a file that the engine would resolve
// differently from imgup: absolute, climbing with ../, or not in its plain form.
func refName(what, name string) error {
	if name == "" || strings.HasPrefix(name, "/") || name != cleanName(name) || strings.Contains("/"+name+"/", "/../") {
		return fault("manifest.json names %s %s, which is not a plain path inside the archive (absolute, ../, or not in its clean form): the engine would read another file or refuse it", what, Safe(strconv.Quote(name)))
	}
	return nil
}

func (ps *partState) describeOCI(raw []byte) error {
	var idx ociIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return fault("index.json is not an OCI index: %v", err)
	}
	if len(idx.Manifests) == 0 {
		return fault("index.json lists no image")
	}
	seen := map[string]int{} // one image per manifest, however many names the index gives it
	for _, d := range idx.Manifests {
		if i, ok := seen[d.Digest]; ok {
			refs, err := checkRefs(append(ps.part.Images[i].Refs, ociRefs(d.Annotations)...))
			if err != nil {
				return err
			}
			ps.part.Images[i].Refs = refs
			continue
		}
		seen[d.Digest] = len(ps.part.Images)
		m, err := ps.imageManifest(d, 0)
		if err != nil {
			return err
		}
		img := Image{Layers: len(m.Layers)}
		if m.Config == nil {
			return fault("manifest %s has no config", d.Digest)
		}
		if img.ID, err = ps.blobID(blobPath(m.Config.Digest)); err != nil {
			return err
		}
		var layers []string
		for _, l := range m.Layers {
			p := blobPath(l.Digest)
			size, ok := ps.files[p]
			if !ok && ps.rd.opt.MayLack != nil && ps.rd.opt.MayLack(l.Digest) {
				ps.part.Lacking = append(ps.part.Lacking, l.Digest)
				ok = true
			}
			if !ok {
				return fault("index names layer %q, which is not in the archive: the archive is incomplete", p)
			}
			img.Size += size
			layers = append(layers, p)
		}
		if img.Refs, err = checkRefs(ociRefs(d.Annotations)); err != nil {
			return err
		}
		ps.part.Images = append(ps.part.Images, img)
		ps.ociConfig = append(ps.ociConfig, blobPath(m.Config.Digest))
		ps.ociLayers = append(ps.ociLayers, layers)
	}
	return nil
}

// imageManifest follows an index entry to an image manifest, choosing this machine's
// platform in a multi-platform index.
func (ps *partState) imageManifest(d ociDescriptor, depth int) (*ociIndex, error) {
	p := blobPath(d.Digest)
	raw, ok := ps.kept[p]
	if !ok {
		return nil, fault("index names manifest %q, which is not in the archive", p)
	}
	var m ociIndex
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fault("manifest %q is not JSON: %v", p, err)
	}
	if len(m.Manifests) == 0 {
		return &m, nil
	}
	if depth > 2 {
		return nil, fault("index %q nests too deep", p)
	}
	for _, c := range m.Manifests {
		if c.Platform != nil && c.Platform.OS == "linux" && c.Platform.Architecture == runtime.GOARCH {
			if _, ok := ps.kept[blobPath(c.Digest)]; ok {
				return ps.imageManifest(c, depth+1)
			}
		}
	}
	for _, c := range m.Manifests {
		if _, ok := ps.kept[blobPath(c.Digest)]; ok {
			return ps.imageManifest(c, depth+1)
		}
	}
	return nil, fault("index %q names no manifest that is in the archive", p)
}

// ociRefs reads the image names an OCI index entry carries.
func ociRefs(a map[string]string) []string {
	if n := a["io.containerd.image.name"]; n != "" {
		return []string{n}
	}
	// org.opencontainers.image.ref.name is often just a tag; use it only when it is a name.
	if n := a["org.opencontainers.image.ref.name"]; strings.ContainsAny(n, "/:") {
		if _, err := reference.ParseNormalizedNamed(n); err == nil {
			return []string{n}
		}
	}
	return nil
}

func checkRefs(refs []string) ([]string, error) {
	out := []string{}
	for _, r := range refs {
		n, err := reference.ParseNormalizedNamed(r)
		if err != nil {
			return nil, fault("the archive names an invalid image reference %q: %v", r, err)
		}
		// The familiar form is what `docker images` and compose files show.
		if f := reference.FamiliarString(reference.TagNameOnly(n)); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}
