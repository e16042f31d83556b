// Package kubefile reads Kubernetes manifests (the files `kubectl apply -f DIR` takes)
// for what imgup edits: the workloads (Deployment, StatefulSet, DaemonSet) and the
// characters of each container's image. The files are never re-serialised: positions
// come from go.yaml.in/yaml/v4 nodes, and composefile finds a scalar's exact bytes, so
// an edit is the same splice as a compose file's.
package kubefile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/encoo-tools/imgup/internal/composefile"
	"github.com/encoo-tools/imgup/internal/i18n"
	"go.yaml.in/yaml/v4"
)

// Kinds are the workloads imgup updates.
var Kinds = []string{"Deployment", "StatefulSet", "DaemonSet"}

// File is one manifest file: its bytes, how many Kubernetes objects it holds, and its
// workloads.
type File struct {
	*composefile.File
	Objects   int
	Workloads []*Workload
}

// Workload is a Deployment, StatefulSet or DaemonSet as a file writes it.
type Workload struct {
	Kind, Name string
	// Namespace is metadata.namespace, "" when the file leaves it to kubectl.
	Namespace  string
	Line       int
	Containers []Container
}

// Container is one container (or init container) of a workload's pod template.
type Container struct {
	Name string
	Init bool
	// Image is the image scalar's characters; nil when the container has no image.
	Image *composefile.Scalar
	// PullPolicy is imagePullPolicy as written ("" when absent).
	PullPolicy string
	// Err says why imgup cannot edit this image.
	Err error
}

// Parse reads a multi-document manifest. A document without apiVersion and kind is
// not a Kubernetes object and is left alone; a file that is not YAML is an error.
func Parse(path string, data []byte) (*File, error) {
	f := &File{File: composefile.Positions(path, data)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, i18n.Errorf("%s: not valid YAML: %v", path, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		kind, api := str(lookup(root, "kind")), str(lookup(root, "apiVersion"))
		if kind == "" || api == "" {
			continue
		}
		f.Objects++
		if !isWorkload(kind) {
			continue
		}
		meta := lookup(root, "metadata")
		w := &Workload{Kind: kind, Name: str(lookup(meta, "name")), Namespace: str(lookup(meta, "namespace")), Line: root.Line}
		pod := lookup(lookup(lookup(root, "spec"), "template"), "spec")
		for _, key := range []string{"containers", "initContainers"} {
			list := lookup(pod, key)
			if list == nil || list.Kind != yaml.SequenceNode {
				continue
			}
			for _, c := range list.Content {
				if c.Kind != yaml.MappingNode {
					continue
				}
				ct := Container{Name: str(lookup(c, "name")), Init: key == "initContainers", PullPolicy: str(lookup(c, "imagePullPolicy"))}
				if n := lookup(c, "image"); n != nil {
					ct.Image, ct.Err = f.ScalarOf(n)
				}
				w.Containers = append(w.Containers, ct)
			}
		}
		f.Workloads = append(f.Workloads, w)
	}
	return f, nil
}

func isWorkload(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// lookup is the value of key in mapping m (nil when m is no mapping or lacks it).
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func str(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// Find reads the *.yaml and *.yml files of dir (not below it, as kubectl apply -f DIR)
// that hold Kubernetes objects, in name order, as kubectl applies them. read reads a
// file (the deployment's one way to read).
func Find(dir string, read func(path string) ([]byte, error)) ([]*File, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) && n != "imgup.yaml" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []*File
	for _, n := range names {
		p := filepath.Join(dir, n)
		b, err := read(p)
		if err != nil {
			return nil, err
		}
		f, err := Parse(p, b)
		if err != nil {
			return nil, err
		}
		if f.Objects > 0 {
			out = append(out, f)
		}
	}
	return out, nil
}
