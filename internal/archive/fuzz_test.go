// This fuzz test locks down that no archive bytes make the reader panic or hang, and
// that every failure is an *Error naming the file.
package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzRead(f *testing.F) {
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add(append(make([]byte, 257), []byte("ustar\x0000")...))
	f.Add([]byte("BZh91AY&SY"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "a")
		os.WriteFile(p, data, 0o644)
		a, err := Read(context.Background(), p, Options{})
		var ae *Error
		if err != nil && !errors.As(err, &ae) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if err == nil && len(a.Images()) == 0 {
			t.Fatal("an archive without images must be an error")
		}
	})
}
