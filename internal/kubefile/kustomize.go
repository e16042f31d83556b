package kubefile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/i18n"
	"go.yaml.in/yaml/v4"
)

// KustomizationNames are the names kustomize looks for in a folder, in its order.
var KustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// FindKustomization is the kustomization file of dir, "" when it has none.
func FindKustomization(dir string) string {
	for _, n := range KustomizationNames {
		if st, err := os.Lstat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
			return filepath.Join(dir, n)
		}
	}
	return ""
}

// Kustomization is one kustomization file as written: what imgup reads of it.
type Kustomization struct {
	*composefile.File
	// Resources are the resources as written (files and folders, relative to it).
	Resources []string
	Images    []ImageEntry
	// NamePrefix and NameSuffix change the names of the objects it builds.
	NamePrefix, NameSuffix string
	Namespace              string
	// Patches names the key of its patches that may set an image ("" when none):
	// kustomize's patches, patchesStrategicMerge, patchesJson6902, replacements,
	// components, helmCharts, transformers.
	Patches    string
	patchFiles []patchFile
}

// ImageEntry is one entry of a kustomization's images: list.
type ImageEntry struct {
	Line                    int
	Name                    string
	NewName, NewTag, Digest *composefile.Scalar
	// NewTagPlain: newTag is written without quotes.
	NewTagPlain bool
}

// Kustomized is what `kubectl apply -k DIR` builds: its kustomizations (the root's
// first) and the manifests they take, each with the kustomizations that reach it,
// innermost first.
type Kustomized struct {
	Root           *Kustomization
	Kustomizations []*Kustomization
	Files          []*File
	// Chain[i] are the kustomizations that transform Files[i], innermost first.
	Chain [][]*Kustomization
}

// ReadKustomization reads the kustomization of dir and, through its resources, every
// manifest it builds: a resource file is a manifest, a resource folder holds a
// kustomization in turn. A remote resource (a URL) or one outside root is refused, as
// imgup edits only the deployment's own files.
func ReadKustomization(root, dir string, read func(path string) ([]byte, error)) (*Kustomized, error) {
	k := &Kustomized{}
	if err := k.walk(root, dir, nil, read, 0); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Kustomized) walk(root, dir string, outer []*Kustomization, read func(string) ([]byte, error), depth int) error {
	path := FindKustomization(dir)
	if path == "" {
		return i18n.Errorf("%s: no kustomization.yaml here", dir)
	}
	if depth > 16 {
		return i18n.Errorf("%s: kustomizations nest more than 16 deep (a cycle?)", path)
	}
	b, err := read(path)
	if err != nil {
		return err
	}
	kz, err := ParseKustomization(path, b)
	if err != nil {
		return err
	}
	for _, pf := range kz.patchFiles {
		if kz.Patches != "" {
			break
		}
		b, err := read(filepath.Join(dir, filepath.FromSlash(pf.path)))
		if err != nil || bytes.Contains(b, []byte("image")) {
			kz.Patches = pf.key + " (" + pf.path + ")"
		}
	}
	if k.Root == nil {
		k.Root = kz
	}
	k.Kustomizations = append(k.Kustomizations, kz)
	chain := append([]*Kustomization{kz}, outer...)
	for _, r := range kz.Resources {
		if strings.Contains(r, "://") || strings.HasPrefix(r, "github.com/") {
			return i18n.Errorf("%s: resource %s is remote; imgup updates only what the deployment's folder holds", path, r)
		}
		p := filepath.Join(dir, filepath.FromSlash(r))
		if rel, err := filepath.Rel(root, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return i18n.Errorf("%s: resource %s is outside %s; imgup edits only the deployment's own files", path, r, root)
		}
		st, err := os.Stat(p)
		if err != nil {
			return i18n.Errorf("%s: resource %s: %v", path, r, err)
		}
		if st.IsDir() {
			if err := k.walk(root, p, chain, read, depth+1); err != nil {
				return err
			}
			continue
		}
		data, err := read(p)
		if err != nil {
			return err
		}
		f, err := Parse(p, data)
		if err != nil {
			return err
		}
		k.Files = append(k.Files, f)
		k.Chain = append(k.Chain, chain)
	}
	return nil
}

// ParseKustomization reads a kustomization file.
func ParseKustomization(path string, data []byte) (*Kustomization, error) {
	kz := &Kustomization{File: composefile.Positions(path, data)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, i18n.Errorf("%s: not valid YAML: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return kz, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, i18n.Errorf("%s: a kustomization is a mapping", path)
	}
	for _, key := range []string{"resources", "bases"} {
		if l := lookup(root, key); l != nil && l.Kind == yaml.SequenceNode {
			for _, r := range l.Content {
				if v := str(r); v != "" {
					kz.Resources = append(kz.Resources, v)
				}
			}
		}
	}
	kz.NamePrefix, kz.NameSuffix, kz.Namespace = str(lookup(root, "namePrefix")), str(lookup(root, "nameSuffix")), str(lookup(root, "namespace"))
	for _, key := range []string{"patches", "patchesStrategicMerge", "patchesJson6902", "replacements", "components", "helmCharts", "transformers"} {
		if n := lookup(root, key); n != nil {
			kz.patchText(key, n)
		}
	}
	if l := lookup(root, "images"); l != nil && l.Kind == yaml.SequenceNode {
		for _, e := range l.Content {
			if e.Kind != yaml.MappingNode {
				continue
			}
			ie := ImageEntry{Line: e.Line, Name: str(lookup(e, "name"))}
			for _, f := range []struct {
				key string
				to  **composefile.Scalar
			}{{"newName", &ie.NewName}, {"newTag", &ie.NewTag}, {"digest", &ie.Digest}} {
				if n := lookup(e, f.key); n != nil {
					s, err := kz.ScalarOf(n)
					if err != nil {
						return nil, i18n.Errorf("%s:%d: images: %s: %v", path, n.Line, f.key, err)
					}
					*f.to = s
					if f.key == "newTag" {
						ie.NewTagPlain = n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0
					}
				}
			}
			kz.Images = append(kz.Images, ie)
		}
	}
	return kz, nil
}

// patchText notes what a kustomization's key that may change an image holds: inline
// text that names an image, or the files it names (read by walk).
func (kz *Kustomization) patchText(key string, n *yaml.Node) {
	var walk func(x *yaml.Node, parent string)
	walk = func(x *yaml.Node, parent string) {
		if x.Kind == yaml.ScalarNode {
			v := x.Value
			switch {
			case strings.Contains(v, "image"):
				if kz.Patches == "" {
					kz.Patches = key
				}
			case parent == "path" || (!strings.ContainsAny(v, " \n") && (strings.HasSuffix(v, ".yaml") || strings.HasSuffix(v, ".yml") || strings.HasSuffix(v, ".json"))):
				kz.patchFiles = append(kz.patchFiles, patchFile{key, v})
			case key == "components" || key == "helmCharts" || key == "transformers":
				if kz.Patches == "" {
					kz.Patches = key // another build step imgup does not follow
				}
			}
			return
		}
		for i, c := range x.Content {
			p := ""
			if x.Kind == yaml.MappingNode && i%2 == 1 {
				p = x.Content[i-1].Value
			} else if x.Kind == yaml.MappingNode {
				continue
			}
			walk(c, p)
		}
	}
	walk(n, "")
}

type patchFile struct{ key, path string }

// KustomizedImage is a container's image after kustomize's images: transformers,
// and where its tag is written.
type KustomizedImage struct {
	// Ref is the image the cluster gets.
	Ref string
	// Tag is the scalar whose characters are the tag (a newTag, or the tag in the
	// resource's image when no entry sets one); TagIsEntry says it is a newTag.
	Tag        *composefile.Scalar
	TagIsEntry bool
	// Plain: the newTag is written without quotes (a new tag YAML would read as a
	// number must then be quoted: kustomize refuses a number).
	Plain bool
	// Entries are the images: entries that matched, innermost first, as "file:line".
	Entries []string
}

// Apply gives image raw (of a resource transformed by chain, innermost first) the
// images: entries kustomize gives it: an entry matches the image's name (as written,
// without tag or digest); newName renames it for the entries outside; newTag sets the
// tag; a digest pins it, which imgup refuses to move. The tag is written where the
// outermost newTag that applies stands, else in the resource.
func Apply(raw string, chain []*Kustomization) (KustomizedImage, error) {
	name, tag, digest := splitRef(raw)
	var out KustomizedImage
	for _, kz := range chain {
		for _, e := range kz.Images {
			if e.Name != name {
				continue
			}
			out.Entries = append(out.Entries, filepath.Base(kz.Path)+":"+strconv.Itoa(e.Line))
			if e.NewName != nil {
				name = e.NewName.Raw
			}
			if e.NewTag != nil {
				tag, digest = e.NewTag.Raw, ""
				out.Tag, out.TagIsEntry, out.Plain = e.NewTag, true, e.NewTagPlain
			}
			if e.Digest != nil {
				return out, i18n.Errorf("%s:%d: images: %s is pinned by digest %s; a digest names one build, so imgup does not move it: remove digest: to let imgup set newTag", kz.Path, e.Digest.Line, e.Name, e.Digest.Raw)
			}
			break // kustomize applies the first entry that matches
		}
	}
	out.Ref = name
	if tag != "" {
		out.Ref += ":" + tag
	}
	if digest != "" {
		out.Ref += "@" + digest
	}
	return out, nil
}

// splitRef splits an image reference into name, tag and digest as written.
func splitRef(ref string) (name, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if c := strings.LastIndexByte(ref, ':'); c > strings.LastIndexByte(ref, '/') {
		return ref[:c], ref[c+1:], digest
	}
	return ref, "", digest
}
