package archive

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"
)

// BenchmarkGunzip compares the gzip readers for the archive's outer stream on this
// machine: klauspost/compress/gzip (what Read uses) and klauspost/pgzip (read-ahead
// and CRC in other goroutines). The payload is mixed content like a service image's
// (the Go toolchain's files), 64 MB.
func BenchmarkGunzip(b *testing.B) {
	var plain bytes.Buffer
	filepath.Walk(runtime.GOROOT(), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && plain.Len() < 64<<20 {
			data, _ := os.ReadFile(p)
			plain.Write(data)
		}
		return nil
	})
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(plain.Bytes())
	w.Close()
	b.Run("klauspost-gzip", func(b *testing.B) {
		b.SetBytes(int64(plain.Len()))
		for b.Loop() {
			r, _ := gzip.NewReader(bytes.NewReader(gz.Bytes()))
			io.Copy(io.Discard, r)
		}
	})
	b.Run("pgzip", func(b *testing.B) {
		b.SetBytes(int64(plain.Len()))
		for b.Loop() {
			r, _ := pgzip.NewReader(bytes.NewReader(gz.Bytes()))
			io.Copy(io.Discard, r)
			r.Close()
		}
	})
}
