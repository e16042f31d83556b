//go:build e2e

package kuberig

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"sort"
	"time"
)

// Image describes a one-layer image made of a few files, written as a `docker save`
// archive by WriteImage: what ctr images import (and imgup) read. No engine and no
// registry is involved.
type Image struct {
	// Ref is the image's name, as it is tagged in the archive (repo:tag).
	Ref string
	// Files are the layer's files by path (no leading slash); all are executable.
	Files map[string][]byte
	// Entrypoint and Env are the config's.
	Entrypoint []string
	Env        []string
}

// WriteImage writes img as a docker-save archive to path and returns its image ID, the
// config's digest ("sha256:…"): what the kubelet reports as containerStatuses[].imageID
// for an image imported without a registry digest.
func WriteImage(path string, img Image) (string, error) {
	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	names := make([]string, 0, len(img.Files))
	for n := range img.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	epoch := time.Unix(0, 0)
	for _, n := range names {
		if err := lw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(img.Files[n])), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		if _, err := lw.Write(img.Files[n]); err != nil {
			return "", err
		}
	}
	if err := lw.Close(); err != nil {
		return "", err
	}
	diffID := sha256.Sum256(layer.Bytes())
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      epoch.UTC().Format(time.RFC3339),
		"config":       map[string]any{"Entrypoint": img.Entrypoint, "Env": img.Env},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diffID[:])}},
	})
	if err != nil {
		return "", err
	}
	configSum := sha256.Sum256(config)
	configHex := hex.EncodeToString(configSum[:])
	layerPath := hex.EncodeToString(diffID[:]) + "/layer.tar"
	manifest, err := json.Marshal([]map[string]any{{"Config": configHex + ".json", "RepoTags": []string{img.Ref}, "Layers": []string{layerPath}}})
	if err != nil {
		return "", err
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := tar.NewWriter(f)
	for _, e := range []struct {
		name string
		data []byte
	}{{configHex + ".json", config}, {layerPath, layer.Bytes()}, {"manifest.json", manifest}} {
		if err := w.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			f.Close()
			return "", err
		}
		if _, err := w.Write(e.data); err != nil {
			f.Close()
			return "", err
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return "", err
	}
	return "sha256:" + configHex, f.Close()
}
