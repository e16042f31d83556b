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

// Image describes an image made of a few files, written as a `docker save` archive by
// WriteImage: what ctr images import (and imgup) read. No engine and no registry is
// involved.
type Image struct {
	// Ref is the image's name, as it is tagged in the archive (repo:tag).
	Ref string
	// Files are the top layer's files by path (no leading slash); all are executable.
	Files map[string][]byte
	// Base, when set, are layers beneath Files's, lowest first, each made of files as
	// Files is: images written with the same Base share those layers (the same
	// bytes, the same digests), as images built FROM one base do.
	Base []map[string][]byte
	// Entrypoint and Env are the config's.
	Entrypoint []string
	Env        []string
}

// WriteImage writes img as a docker-save archive to path and returns its image ID, the
// config's digest ("sha256:…"): what the kubelet reports as containerStatuses[].imageID
// for an image imported without a registry digest.
func WriteImage(path string, img Image) (string, error) {
	var layers [][]byte
	for _, files := range append(append([]map[string][]byte(nil), img.Base...), img.Files) {
		layer, err := layerTar(files)
		if err != nil {
			return "", err
		}
		layers = append(layers, layer)
	}
	epoch := time.Unix(0, 0)
	var diffIDs, layerPaths []string
	for _, layer := range layers {
		sum := sha256.Sum256(layer)
		diffIDs = append(diffIDs, "sha256:"+hex.EncodeToString(sum[:]))
		layerPaths = append(layerPaths, hex.EncodeToString(sum[:])+"/layer.tar")
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      epoch.UTC().Format(time.RFC3339),
		"config":       map[string]any{"Entrypoint": img.Entrypoint, "Env": img.Env},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return "", err
	}
	configSum := sha256.Sum256(config)
	configHex := hex.EncodeToString(configSum[:])
	manifest, err := json.Marshal([]map[string]any{{"Config": configHex + ".json", "RepoTags": []string{img.Ref}, "Layers": layerPaths}})
	if err != nil {
		return "", err
	}
	type entry struct {
		name string
		data []byte
	}
	entries := []entry{{configHex + ".json", config}}
	for i, layer := range layers {
		entries = append(entries, entry{layerPaths[i], layer})
	}
	entries = append(entries, entry{"manifest.json", manifest})
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	w := tar.NewWriter(f)
	for _, e := range entries {
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

// layerTar is a layer of files: a tar with one executable file per path, sorted.
func layerTar(files map[string][]byte) ([]byte, error) {
	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := lw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(files[n])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := lw.Write(files[n]); err != nil {
			return nil, err
		}
	}
	if err := lw.Close(); err != nil {
		return nil, err
	}
	return layer.Bytes(), nil
}
