package archive

import (
	"bytes"
	"io"
)

// xzGuard passes an xz file's bytes through unchanged while it walks the container's
// structure — stream headers, block headers, LZMA2 chunks by their packed sizes,
// padding, checks, indexes, footers — without decompressing anything. Every block's
// declared LZMA2 dictionary is checked before the decoder sees the block, because
// ulikunitz/xz allocates the larger of its own cap and what the block asks for. It
// fails closed: a structure it cannot walk is an error, as it would be for xz itself.
type xzGuard struct {
	r     io.Reader
	err   error
	state int
	need  int    // bytes still to collect into buf, or to skip
	buf   []byte // the part of a header being collected
	check int    // size of a block's check, from the stream flags
	// blockLen counts a block's header and compressed bytes, for its padding.
	blockLen int64
	records  int64 // index records still to skip (two varints each)
	varints  int
	// next is the state after xzSkip has passed need bytes.
	next int
}

const (
	xzStreamHeader = iota
	xzBlockOrIndex
	xzBlockHeader
	xzChunk
	xzChunkHeader
	xzSkip // need bytes, then next
	xzIndexCount
	xzIndexRecords
	xzStreamPadding
)

// skip passes n bytes, then goes to state next.
func (g *xzGuard) skip(n, next int) { g.state, g.need, g.next = xzSkip, n, next }

func newXzGuard(r io.Reader) *xzGuard {
	return &xzGuard{r: r, state: xzStreamHeader, need: 12}
}

func (g *xzGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n && g.err == nil; {
		i += g.step(p[i:n])
	}
	if g.err != nil {
		return 0, g.err
	}
	if err == io.EOF && g.state != xzStreamPadding {
		return n, io.ErrUnexpectedEOF // the file ends inside a stream
	}
	return n, err
}

// collect gathers bytes into buf until need are there; it reports how many it took
// and whether buf is complete.
func (g *xzGuard) collect(b []byte) (int, bool) {
	k := min(g.need-len(g.buf), len(b))
	g.buf = append(g.buf, b[:k]...)
	return k, len(g.buf) == g.need
}

func (g *xzGuard) fail() int {
	g.err = fault("xz data whose structure imgup cannot check (a block, chunk or index out of place): corrupt, or not made by xz")
	return 0
}

// step consumes bytes from b for the current state and returns how many.
func (g *xzGuard) step(b []byte) int {
	switch g.state {
	case xzStreamHeader:
		k, done := g.collect(b)
		if done {
			if !bytes.Equal(g.buf[:6], magicXz) || g.buf[6] != 0 || g.buf[7] > 15 {
				return g.fail()
			}
			g.check = [16]int{0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64}[g.buf[7]]
			g.buf, g.state = g.buf[:0], xzBlockOrIndex
		}
		return k
	case xzBlockOrIndex:
		if b[0] == 0 { // the index
			g.state, g.varints, g.records, g.blockLen = xzIndexCount, 0, 0, 1
			return 1
		}
		g.state, g.need, g.buf = xzBlockHeader, (int(b[0])+1)*4, g.buf[:0]
		return 0
	case xzBlockHeader:
		k, done := g.collect(b)
		if done {
			if d, ok := xzDict(g.buf); !ok {
				return g.fail()
			} else if d > MaxWindow {
				g.err = windowError(Xz, d)
				return 0
			}
			g.blockLen = int64(len(g.buf))
			g.buf, g.state = g.buf[:0], xzChunkHeader
		}
		return k
	case xzChunkHeader:
		c := b[0]
		switch {
		case c == 0: // the end of the block's data: its padding and check follow
			g.blockLen++
			g.skip(int((4-g.blockLen%4)%4)+g.check, xzBlockOrIndex)
			return 1
		case c == 1 || c == 2:
			g.need, g.state, g.buf = 3, xzChunk, g.buf[:0]
		case c >= 0x80:
			g.need, g.state, g.buf = 5, xzChunk, g.buf[:0]
			if (c>>5)&3 >= 2 {
				g.need = 6 // a properties byte follows
			}
		default:
			return g.fail()
		}
		return 0
	case xzChunk:
		k, done := g.collect(b)
		if done {
			h := g.buf
			size := 0
			if h[0] < 0x80 {
				size = (int(h[1])<<8 | int(h[2])) + 1
			} else {
				size = (int(h[3])<<8 | int(h[4])) + 1
			}
			g.blockLen += int64(len(h)) + int64(size)
			g.buf = g.buf[:0]
			g.skip(size, xzChunkHeader)
		}
		return k
	case xzSkip:
		k := min(g.need, len(b))
		g.need -= k
		if g.need == 0 {
			g.state = g.next
		}
		return k
	case xzIndexCount, xzIndexRecords:
		// Varints: the record count, then two per record.
		v := b[0]
		g.blockLen++
		if g.state == xzIndexCount {
			g.records |= int64(v&0x7f) << (7 * g.varints)
			g.varints++
			if g.varints > 9 {
				return g.fail()
			}
			if v&0x80 == 0 {
				g.state, g.varints = xzIndexRecords, 0
				g.records *= 2
				if g.records == 0 {
					g.indexEnd()
				}
			}
			return 1
		}
		g.varints++
		if g.varints > 9 {
			return g.fail()
		}
		if v&0x80 == 0 {
			g.varints = 0
			g.records--
			if g.records == 0 {
				g.indexEnd()
			}
		}
		return 1
	case xzStreamPadding:
		// Zero bytes between streams, or the next stream's header.
		if b[0] == 0 {
			return 1
		}
		g.state, g.need, g.buf = xzStreamHeader, 12, g.buf[:0]
		return 0
	}
	return g.fail()
}

// indexEnd skips the index's padding and CRC32, then the 12-byte stream footer. (A
// skip of n bytes into a skip of 12 is one skip: the footer is not checked.)
func (g *xzGuard) indexEnd() { g.skip(int((4-g.blockLen%4)%4)+4+12, xzStreamPadding) }
