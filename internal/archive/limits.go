package archive

import (
	"archive/tar"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Limits on what an archive may declare, so that memory stays bounded and no read is
// endless whatever the archive says about itself. docker save stays far inside them.
const (
	// MaxWindow bounds the memory a decompressor may ask for: zstd's window and xz's
	// dictionary. zstd at any level up to 19 and xz -9 stay inside it; zstd --long and
	// --ultra go beyond and are refused.
	MaxWindow = 32 << 20
	// maxName bounds an entry's name: docker save writes names of about 80 bytes.
	maxName = 512
	// maxEntries bounds the entries of one docker-save part (and the files noted as
	// ignored in a bundle): a 100-layer image has about 400.
	maxEntries = 20000
	// maxRatio bounds how much larger than the archive file a compressed archive's
	// entries may declare themselves: gzip cannot exceed about 1032:1.
	maxRatio = 4096
)

// checkName refuses an entry name the engine would read differently from imgup: a
// path that leaves the archive (../, absolute), or one too long to be docker's.
func checkName(raw string) (string, error) {
	if len(raw) > maxName {
		return "", fault("an entry name of %d bytes (%s...): docker save writes names of under %d bytes; not a docker save archive", len(raw), Safe(raw[:40]), maxName)
	}
	if strings.HasPrefix(raw, "/") {
		return "", fault("entry %s has an absolute name: the engine would refuse the archive", Safe(raw))
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", fault("entry %s climbs out of the archive with ../: the engine would refuse the archive", Safe(raw))
		}
	}
	return cleanName(raw), nil
}

// checkHeader refuses entries no docker save writes and sizes the file cannot hold.
// budget is the most an entry may declare.
func checkHeader(h *tar.Header, name string, budget int64) error {
	if h.Typeflag == tar.TypeGNUSparse || h.PAXRecords["GNU.sparse.major"] != "" || h.PAXRecords["GNU.sparse.map"] != "" || h.PAXRecords["GNU.sparse.size"] != "" {
		return fault("entry %s is a sparse file: docker save never writes one; refused", Safe(name))
	}
	if h.Size < 0 || h.Size > budget {
		return fault("entry %s declares %d bytes, more than the archive can hold (%d): the file is truncated (copy it again), or the header lies", Safe(name), h.Size, budget)
	}
	return nil
}

// linkOK tells whether a link entry is one docker save writes: Docker 25+ links its
// legacy layer paths into blobs/, and 20.10 hard-links a layer two images share. Links
// to or as metadata and configs, and links out of the archive, are refused.
func linkOK(h *tar.Header, name string) error {
	if isMetadata(name) || strings.HasSuffix(name, ".json") {
		return fault("%s is a link (to %s): the engine would follow it and load something other than what imgup read; refused", Safe(name), Safe(h.Linkname))
	}
	target := h.Linkname
	if h.Typeflag == tar.TypeSymlink {
		if strings.HasPrefix(target, "/") {
			return fault("%s links to the absolute path %s: refused", Safe(name), Safe(target))
		}
		target = path.Join(path.Dir(name), target)
	}
	target = path.Clean(target)
	if target == ".." || strings.HasPrefix(target, "../") || strings.HasPrefix(target, "/") {
		return fault("%s links out of the archive (to %s): refused", Safe(name), Safe(h.Linkname))
	}
	if !strings.HasPrefix(target, "blobs/") && !strings.HasSuffix(target, "/layer.tar") {
		return fault("%s links to %s, which is neither a blob nor a layer: docker save writes no such link; refused", Safe(name), Safe(h.Linkname))
	}
	return nil
}

// xzDict reads the LZMA2 dictionary size an xz block header declares; ok is false
// when hdr is not a whole block header with an LZMA2 filter.
func xzDict(hdr []byte) (size int64, ok bool) {
	if len(hdr) < 2 || hdr[0] == 0 || len(hdr) < (int(hdr[0])+1)*4 {
		return 0, false
	}
	b := hdr[1 : (int(hdr[0])+1)*4]
	flags := b[0]
	b = b[1:]
	varint := func() (uint64, bool) {
		var v uint64
		for i := 0; i < 9 && i < len(b); i++ {
			v |= uint64(b[i]&0x7f) << (7 * i)
			if b[i]&0x80 == 0 {
				b = b[i+1:]
				return v, true
			}
		}
		return 0, false
	}
	if flags&0x40 != 0 {
		if _, ok := varint(); !ok {
			return 0, false
		}
	}
	if flags&0x80 != 0 {
		if _, ok := varint(); !ok {
			return 0, false
		}
	}
	for n := int(flags&3) + 1; n > 0; n-- {
		id, ok1 := varint()
		psize, ok2 := varint()
		if !ok1 || !ok2 || uint64(len(b)) < psize {
			return 0, false
		}
		if id == 0x21 && psize == 1 { // LZMA2
			d := b[0]
			if d > 40 {
				return 0, false
			}
			if d == 40 {
				return 1<<32 - 1, true
			}
			return int64(2|int(d&1)) << (d/2 + 11), true
		}
		b = b[psize:]
	}
	return 0, false
}

// Safe shows text from an archive or a file safely on a terminal: every control
// character (escape, carriage return, newline, C1, bidi overrides) is written as a Go
// escape (\x1b), so a name cannot rewrite the screen or forge a line.
func Safe(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0xfffd || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028 || r == 0x2029
}

// windowError says a decompressor would need more memory than imgup allows.
func windowError(c Compression, size int64) error {
	asks := "a window larger than imgup's limit"
	if size > 0 {
		asks = "a " + mib(size) + " window, more than imgup's limit"
	}
	return fault("the %s data asks for %s of %d MiB (it was compressed with --long or --ultra); recompress it, for example: %s -dc FILE | gzip > FILE.tar.gz", c, asks, MaxWindow>>20, c)
}

func mib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
