// This test locks down the xz guard: every xz file xz makes (one block or many, one
// stream or several, any check) passes through unchanged, and a block anywhere in the
// file that asks for a dictionary over the limit is refused before it is decoded.
package archive

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

func xzWith(t *testing.T, data []byte, cfg xz.WriterConfig) []byte {
	var b bytes.Buffer
	w, err := cfg.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func readGuarded(x []byte) ([]byte, error) {
	zr, err := xz.ReaderConfig{DictCap: MaxWindow}.NewReader(newXzGuard(bytes.NewReader(x)))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// blockHeaders lists the offsets of the block headers, walking the file with the guard.
func patchDict(t *testing.T, x []byte, block int) {
	// Find the block by walking LZMA2 props: block headers hold 0x21 0x01 DICT.
	seen := 0
	for i := 12; i+3 < len(x); i++ {
		hs := (int(x[i]) + 1) * 4
		if x[i] == 0 || i+hs > len(x) || hs < 8 {
			continue
		}
		hdr := x[i : i+hs]
		if crc32.ChecksumIEEE(hdr[:hs-4]) != binary.LittleEndian.Uint32(hdr[hs-4:]) {
			continue
		}
		if j := bytes.Index(hdr, []byte{0x21, 0x01}); j >= 0 {
			if seen == block {
				hdr[j+2] = 40
				binary.LittleEndian.PutUint32(hdr[hs-4:], crc32.ChecksumIEEE(hdr[:hs-4]))
				return
			}
			seen++
			i += hs - 1
		}
	}
	t.Fatalf("test bug: no block %d", block)
}

func TestXzGuard(t *testing.T) {
	data := make([]byte, 1<<20)
	rand.Read(data[:256<<10]) // some random, some zeros
	cases := map[string][]byte{
		"one block, crc64":        xzWith(t, data, xz.WriterConfig{}),
		"many blocks, crc32":      xzWith(t, data, xz.WriterConfig{BlockSize: 96 << 10, CheckSum: xz.CRC32}),
		"many blocks, sha256":     xzWith(t, data, xz.WriterConfig{BlockSize: 100 << 10, CheckSum: xz.SHA256}),
		"no check":                xzWith(t, data, xz.WriterConfig{NoCheckSum: true}),
		"two streams, as cat a b": append(xzWith(t, data[:300<<10], xz.WriterConfig{}), xzWith(t, data[300<<10:], xz.WriterConfig{BlockSize: 128 << 10})...),
	}
	if _, err := exec.LookPath("xz"); err == nil {
		for _, args := range [][]string{{"-0"}, {"-6", "-T2", "--block-size=128KiB"}, {"-1", "--check=sha256"}} {
			cmd := exec.Command("xz", append(args, "-c")...)
			cmd.Stdin = bytes.NewReader(data)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			cases["xz "+strings.Join(args, " ")] = out
		}
	}
	for name, x := range cases {
		got, err := readGuarded(x)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %v (%d bytes)", name, err, len(got))
		}
	}
	// A later block asks for 4 GiB: refused before it is decoded.
	x := xzWith(t, data, xz.WriterConfig{BlockSize: 96 << 10})
	patchDict(t, x, 5)
	_, err := readGuarded(x)
	var ae *Error
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "asks for a 4.0 GiB window") {
		t.Errorf("a later block's 4 GiB dictionary: %v", err)
	}
	// Garbage after a valid header is refused by the guard or by xz, never read on.
	bad := append(xzWith(t, data[:1000], xz.WriterConfig{})[:12], 0x02, 0x00, 0x21, 0x01, 0x08)
	if _, err := readGuarded(bad); err == nil {
		t.Error("a broken block header was read")
	}
}
