package archive

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression names how an archive's bytes are compressed.
type Compression string

const (
	None  Compression = "none"
	Gzip  Compression = "gzip"
	Zstd  Compression = "zstd"
	Xz    Compression = "xz"
	Bzip2 Compression = "bzip2"
)

var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicBzip2 = []byte("BZh")
)

// sniff tells the compression of what br will read, or None when the bytes look like a
// tar. It returns ok=false when the bytes are neither.
func sniff(br *bufio.Reader) (c Compression, ok bool) {
	head, _ := br.Peek(512)
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return Gzip, true
	case bytes.HasPrefix(head, magicZstd):
		return Zstd, true
	case bytes.HasPrefix(head, magicXz):
		return Xz, true
	case bytes.HasPrefix(head, magicBzip2) && len(head) > 3 && head[3] >= '1' && head[3] <= '9':
		return Bzip2, true
	case isTarHeader(head):
		return None, true
	}
	return None, false
}

// isTarHeader reports whether b starts with a valid tar header block: the ustar magic,
// or (for old v7 tars) a correct header checksum.
func isTarHeader(b []byte) bool {
	if len(b) < 512 {
		return false
	}
	if bytes.Equal(b[257:262], []byte("ustar")) {
		return true
	}
	// v7 tar: verify the checksum field.
	var sum int64
	for i, c := range b[:512] {
		if i >= 148 && i < 156 {
			c = ' '
		}
		sum += int64(c)
	}
	field := bytes.TrimRight(bytes.TrimLeft(b[148:156], " \x00"), " \x00")
	var want int64
	if _, err := fmt.Sscanf(string(field), "%o", &want); err != nil {
		return false
	}
	return sum == want && b[0] != 0
}

// decompress wraps r in the decompressor for c. The returned closer releases it.
func decompress(c Compression, r io.Reader) (io.Reader, func(), error) {
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { zr.Close() }, nil
	case Zstd:
		// Low-memory mode and a single decoder goroutine keep memory flat on large archives;
		// a frame asking for a larger window fails with zstd.ErrWindowSizeExceeded.
		zr, err := zstd.NewReader(r, zstd.WithDecoderLowmem(true), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(MaxWindow))
		if err != nil {
			return nil, nil, err
		}
		return zr, zr.Close, nil
	case Xz:
		// The library takes the larger of its own cap and a block's dictionary size, so
		// the guard checks every block's declared size before the decoder sees it.
		zr, err := xz.ReaderConfig{DictCap: MaxWindow}.NewReader(newXzGuard(r))
		if err != nil {
			return nil, nil, err
		}
		return zr, func() {}, nil
	case Bzip2:
		return bzip2.NewReader(r), func() {}, nil
	}
	return r, func() {}, nil
}
