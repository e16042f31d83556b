package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"math"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/readfile"
	"github.com/klauspost/compress/zstd"
)

// Options say what Read does besides reading.
type Options struct {
	// Load, when set, is given the plain docker-save tar of each part while it is read.
	// It runs in its own goroutine and must read r to its end or fail. Read waits for it.
	Load func(ctx context.Context, r io.Reader) error
	// Keep is called when a part has been read and checked, before the last bytes of it
	// reach Load. Returning ErrSkip withholds the part; any other error aborts.
	Keep func(ctx context.Context, p *Part) error
	// Progress is told how many more bytes of the file were read.
	Progress func(n int64)
	// Digest computes the file's sha256 (Archive.SHA256) while it streams. The plan's
	// read records it; a load pass, on the hot path, leaves it off.
	Digest bool
	// VerifyBlobs checks, while each blobs/sha256/HEX entry streams, that its bytes have
	// that digest: a content-addressed file that does not is an altered archive.
	VerifyBlobs bool
	// MayLack says that an OCI layer blob may be missing from the archive: a differential
	// bundle leaves out the layers its base shipped, which the engine already has and
	// does not open. The part lists such layers in Part.Lacking.
	MayLack func(digest string) bool
	// Have is the engine's layer inventory: a load then sends only the layers the engine
	// lacks (delta load). Layers it has are read, not sent; the engine does not open a
	// layer whose chain it has. nil sends everything.
	Have *Inventory
	// Omit, when set, says that an entry need not reach the sink: a bundle knows each
	// layer blob's chain from bundle.json.
	Omit func(name string) bool
	// Exact refuses anything after the tar's end but its padding (zeros, at most a
	// record): a signed bundle is exactly the bytes that were signed.
	Exact bool
	// Check is called when a part has been read and described, before Keep: an error
	// aborts the read (a bundle compares the part with its bundle.json).
	Check func(ctx context.Context, p *Part) error
	// Defer leaves each part's sink waiting for its last bytes when Read returns: the
	// engine has the stream but has loaded nothing. Archive.Commit (with Keep's role)
	// finishes the loads, Archive.Abort cancels them. So one read both describes an
	// archive for a plan and loads it once the plan is confirmed.
	Defer bool
}

// Inventory is what layers an engine has: the chain ID of every layer of every image,
// and the diffIDs among them.
type Inventory struct {
	Chains  map[string]bool
	DiffIDs map[string]bool
}

const (
	// smallFile is the largest file kept in memory: manifests, configs and indexes.
	smallFile = 4 << 20
	// maxKept bounds the metadata kept for one part, so memory stays flat: configs are
	// kilobytes, a hundred images' metadata a few megabytes.
	maxKept = 16 << 20
	// maxHeld bounds the tail held back from the sink; past it the hold is released.
	maxHeld = 16 << 20
)

// Read reads the archive at path once, as a stream, and returns what it holds.
// Content problems come back as *Error naming the file.
func Read(ctx context.Context, path string, opt Options) (*Archive, error) {
	fail := func(format string, args ...any) error {
		return &Error{Path: path, Err: i18n.Errorf(format, args...)}
	}
	f, err := readfile.Open(path)
	var nr *readfile.NotRegular
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fail("no such file")
	case errors.As(err, &nr) && nr.Mode.IsDir():
		return nil, fail("is a folder, not an archive")
	case errors.As(err, &nr):
		return nil, fail("is a FIFO, a device or a socket, not an archive: imgup reads archives only from regular files")
	case err != nil:
		return nil, &Error{Path: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	if st.IsDir() {
		return nil, fail("is a folder, not an archive")
	}
	if st.Size() == 0 {
		return nil, fail("is empty (0 bytes): the upload may have failed; copy the archive again")
	}
	a := &Archive{Path: path, Size: st.Size()}
	var in io.Reader = f
	sum := sha256.New()
	if opt.Digest {
		in = io.TeeReader(f, sum)
	}
	if opt.Progress != nil {
		in = &countingReader{r: in, n: opt.Progress}
	}
	br := bufio.NewReaderSize(in, 1<<20)
	c, ok := sniff(br)
	if !ok {
		head, _ := br.Peek(8)
		return nil, fail("not an image archive: neither a tar nor gzip, zstd, xz or bzip2 data (starts with % x)", head)
	}
	a.Compression = c
	plain, closeFn, err := decompress(c, br)
	if ae := (*Error)(nil); errors.As(err, &ae) {
		ae.Path = path
		return nil, ae
	} else if err != nil {
		return nil, fail("corrupt %s data: %v", c, err)
	}
	defer closeFn()
	pbr := bufio.NewReaderSize(plain, 256<<10)
	if c != None {
		if inner, ok := sniff(pbr); !ok || inner != None {
			if _, err := pbr.Peek(1); err != nil && err != io.EOF {
				if errors.Is(err, zstd.ErrWindowSizeExceeded) {
					return nil, &Error{Path: path, Err: explain(c, err)}
				}
				return nil, fail("corrupt %s data: %v", c, err)
			}
			return nil, fail("%s data that is not a tar: not an image archive", c)
		}
	}
	rd := &reader{opt: opt, a: a, budget: a.Size}
	var src io.Reader = pbr
	if c == None && !opt.Digest && opt.Load != nil {
		// A plain tar loaded without a digest: layers the engine has are seeked past,
		// not read.
		src = &seekBuf{br: br, f: f, progress: opt.Progress}
		rd.seekable = true
	}
	if c != None {
		rd.budget = a.Size * maxRatio
	}
	defer func() {
		// Whatever the tar's end left unread is part of the file, and of its digest.
		if opt.Digest && a.SHA256 == "" {
			io.Copy(sum, f)
			a.SHA256 = hex.EncodeToString(sum.Sum(nil))
		}
	}()
	err = rd.top(ctx, src)
	if err == nil && opt.Exact {
		err = exactEnd(src)
	}
	if err != nil {
		a.Abort()
		var se *sinkError
		if errors.As(err, &se) {
			return nil, se.err
		}
		var ae *Error
		if errors.As(err, &ae) {
			ae.Path = path
			return nil, ae
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Path: path, Err: explain(c, err)}
	}
	return a, nil
}

// recordSize is the largest padding a tar writer adds after the two zero blocks.
const recordSize = 10240

// exactEnd checks that what follows the tar's end is padding: zeros, at most a record.
func exactEnd(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, recordSize+1))
	if err != nil {
		return err
	}
	if len(b) > recordSize || bytes.ContainsFunc(b, func(c rune) bool { return c != 0 }) {
		return fault("holds bytes after the end of its tar: a bundle is exactly what was signed, so anything appended to it is refused; ask the vendor for the bundle again")
	}
	return nil
}

// explain turns a low-level read error into an operator's words.
func explain(c Compression, err error) error {
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return windowError(Zstd, 0).(*Error).Err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		if c != None {
			return i18n.Errorf("truncated: the %s data ends early (%v); the copy is incomplete, upload it again", c, err)
		}
		return i18n.Errorf("truncated: the tar ends early; the copy is incomplete, upload it again")
	}
	return i18n.Errorf("corrupt archive: %v", err)
}

type reader struct {
	opt Options
	a   *Archive
	// seekable is set when the top-level tar can be seeked past (a plain file).
	seekable bool
	buf      []byte // for reading layers, reused across entries
	// budget is the most bytes an entry may declare: the file's size, or for a
	// compressed file its size times maxRatio.
	budget int64
}

// entries a docker-save tar starts with: layer folders, configs, OCI blobs, metadata.
var saveEntry = regexp.MustCompile(`^([0-9a-f]{64}(/.*|\.json)?|blobs(/.*)?|manifest\.json|index\.json|oci-layout|repositories)$`)

func isMetadata(name string) bool {
	switch name {
	case "manifest.json", "index.json", "repositories", "oci-layout":
		return true
	}
	return false
}

// top reads the outer tar, deciding from its first entries whether it is a docker-save
// tar itself or a vendor bundle of them.
func (rd *reader) top(ctx context.Context, r io.Reader) error {
	rec := &recorder{ctx: ctx, r: r, hold: true, active: rd.opt.Load != nil, seek: rd.seekable}
	tr := tar.NewReader(rec)
	var ps *partState
	bundle := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ps != nil {
				return ps.abort(err)
			}
			return err
		}
		name, err := checkName(h.Name)
		if err == nil {
			err = checkHeader(h, name, rd.budget)
		}
		if err != nil {
			if ps != nil {
				return ps.abort(err)
			}
			return err
		}
		var body io.Reader = tr
		if ps == nil && !bundle {
			if h.Typeflag != tar.TypeReg && !saveEntry.MatchString(name) {
				continue // a folder entry: not decided yet
			}
			br := bufio.NewReaderSize(tr, 64<<10)
			body = br
			if saveEntry.MatchString(name) || !startsBundle(br) {
				ps = rd.startPart(ctx, "", rec)
			} else {
				bundle = true
				rec.active, rec.hold = false, false
				rec.held.Reset()
			}
		}
		if ps != nil {
			if err := ps.entry(h, name, body); err != nil {
				return ps.abort(err)
			}
			continue
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if len(rd.a.Ignored) > maxEntries {
			return fault("more than %d files in the bundle that are not image archives: not a vendor bundle", maxEntries)
		}
		if err := rd.inner(ctx, name, body); err != nil {
			return err
		}
	}
	if ps != nil {
		return ps.finish()
	}
	rd.a.Bundle = bundle
	if len(rd.a.Parts) == 0 {
		if bundle {
			return fault("holds no image: a tar with neither manifest.json nor index.json, and no docker save tar inside")
		}
		return fault("holds no image: an empty tar")
	}
	return nil
}

// inner reads one file of a vendor bundle: a docker-save tar, maybe compressed.
func (rd *reader) inner(ctx context.Context, name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	c, ok := sniff(br)
	if !ok {
		rd.a.Ignored = append(rd.a.Ignored, name)
		return nil
	}
	in := &Error{Inner: name}
	plain, closeFn, err := decompress(c, br)
	if ae := (*Error)(nil); errors.As(err, &ae) {
		ae.Inner = name
		return ae
	} else if err != nil {
		in.Err = i18n.Errorf("corrupt %s data: %v", c, err)
		return in
	}
	defer closeFn()
	rec := &recorder{ctx: ctx, r: plain, hold: true, active: rd.opt.Load != nil}
	ps := rd.startPart(ctx, name, rec)
	tr := tar.NewReader(rec)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		var name string
		if err == nil {
			name, err = checkName(h.Name)
		}
		if err == nil {
			err = checkHeader(h, name, rd.budget)
		}
		if err == nil {
			err = ps.entry(h, name, tr)
		}
		if err != nil {
			return in.wrap(ps.abort(err), c)
		}
	}
	if err := ps.finish(); err != nil {
		return in.wrap(err, c)
	}
	rd.a.Bundle = true
	return nil
}

// startsBundle decides, from the first file of a tar that is not named like a
// docker-save entry, whether the tar is a vendor bundle: the file is a docker-save tar
// itself, or is no archive at all (a README beside the tars). A JSON file (a config
// named by digest) or a layer tar means the tar is a docker-save tar.
func startsBundle(br *bufio.Reader) bool {
	if _, ok := sniff(br); !ok {
		b, _ := br.Peek(1)
		return len(b) == 0 || b[0] != '{'
	}
	return holdsDockerSave(br)
}

// holdsDockerSave peeks at a file's start: is it a (maybe compressed) tar whose first
// entry is a docker-save entry? That tells a vendor bundle from a docker-save tar whose
// first file happens to be a layer tar or a config.
func holdsDockerSave(br *bufio.Reader) bool {
	c, ok := sniff(br)
	if !ok {
		return false
	}
	head, _ := br.Peek(64 << 10)
	plain, closeFn, err := decompress(c, bytes.NewReader(head))
	if err != nil {
		return false
	}
	defer closeFn()
	h, err := tar.NewReader(plain).Next()
	return err == nil && saveEntry.MatchString(cleanName(h.Name))
}

// wrap names the inner tar in err, unless it comes from the sink.
func (in *Error) wrap(err error, c Compression) error {
	var ae *Error
	switch {
	case errors.As(err, new(*sinkError)):
		return err
	case errors.As(err, &ae):
		if ae.Inner == "" {
			ae.Inner = in.Inner
		}
		return ae
	}
	in.Err = explain(c, err)
	return in
}

// fault is a problem with the archive's content, said in an operator's words; Read
// adds the file name.
func fault(format string, args ...any) error {
	return &Error{Err: i18n.Errorf(format, args...)}
}

func cleanName(n string) string {
	n = strings.TrimPrefix(path.Clean("/"+n), "/")
	return n
}

// partState follows one docker-save tar while it streams.
type partState struct {
	ctx   context.Context
	rd    *reader
	part  Part
	rec   *recorder
	files map[string]int64
	kept  map[string][]byte
	dig   map[string]string
	size  int64
	pw    *chunkPipe
	errc  chan error
	// contentEnd is the stream offset where the last entry's content ended.
	contentEnd int64
	// ociConfig and ociLayers name, per image, the blobs a synthesized manifest.json lists.
	ociConfig []string
	ociLayers [][]string
	// present are the classic layer folders whose layer the engine has (delta load).
	present map[string]bool
	// index is the part's place in Archive.Parts.
	index int
}

// omit tells whether an entry's bytes may stay out of the sink's stream: a layer the
// engine already has.
func (ps *partState) omit(name string) bool {
	o := ps.rd.opt
	if o.Load == nil {
		return false
	}
	return omits(name, o.Have, o.Omit, func(dir string) bool { return ps.present[dir] })
}

// omits is a delta read's rule for one entry: left out when omit says so (a bundle),
// when it is a classic layer folder's layer.tar whose layer the engine has (present),
// or an OCI blob whose digest is a diffID the engine has.
func omits(name string, have *Inventory, omit func(string) bool, present func(dir string) bool) bool {
	if omit != nil && omit(name) {
		return true
	}
	if have == nil {
		return false
	}
	if dir, ok := strings.CutSuffix(name, "/layer.tar"); ok && present(dir) {
		return true
	}
	// Docker 25's OCI layout stores layers uncompressed: the blob's digest is its
	// diffID. Its chain is known only from the index at the end, so this is a guess the
	// loader checks (a layer the engine lacks fails the load, which is then retried
	// with every layer).
	if d, ok := blobDigest(name); ok && have.DiffIDs["sha256:"+d] {
		return true
	}
	return false
}

// TarBytes is the size of the part's docker-save tar as a load streams it, through
// its end-of-archive blocks.
func (p *Part) TarBytes() int64 {
	if p.tarBytes > 0 {
		return p.tarBytes
	}
	total := int64(1024)
	for _, size := range p.Files {
		total += 512 + round512(size)
	}
	return total
}

// Sends is what a load of the part sends the engine: Sent once it has finished, else
// TarBytes less the entries a delta load leaves out (a header and the padded content
// each).
func (p *Part) Sends() int64 {
	if p.Sent > 0 {
		return p.Sent
	}
	return p.TarBytes() - p.omittedTar
}

// Delta is what a delta load of the part into an engine with the layers have would
// leave out, without reading it again: the layers (omitted) and their bytes, and what
// it sends (as Sends would say before it finishes). omit is the bundle's rule
// (Bundle.ReadOptions' Omit), nil for a plain archive.
func (p *Part) Delta(have *Inventory, omit func(string) bool) (omitted int, bytes, sends int64) {
	present := func(dir string) bool {
		c, ok := p.chains[dir]
		return ok && have.Chains[c]
	}
	var tar int64
	for name, size := range p.Files {
		if p.links[name] || isMetadata(name) || !omits(name, have, omit, present) {
			continue
		}
		omitted++
		bytes += size
		tar += 512 + round512(size)
	}
	return omitted, bytes, p.TarBytes() - tar
}

func round512(n int64) int64 { return (n + 511) / 512 * 512 }

func (rd *reader) startPart(ctx context.Context, name string, rec *recorder) *partState {
	ps := &partState{ctx: ctx, rd: rd, part: Part{Name: name}, rec: rec,
		files: map[string]int64{}, kept: map[string][]byte{}, dig: map[string]string{}, present: map[string]bool{}, contentEnd: rec.off}
	if rd.opt.Load != nil {
		pw := newChunkPipe()
		ps.pw, ps.errc = pw, make(chan error, 1)
		rec.w = pw
		go func() {
			err := rd.opt.Load(ctx, sinkReader{pw})
			// Writes after the sink stopped fail with its error.
			pw.CloseRead(errSinkDone(err))
			ps.errc <- err
		}()
	}
	return ps
}

// errSinkDone makes writes after the sink stopped fail with its error.
func errSinkDone(err error) error {
	if err == nil {
		return io.ErrClosedPipe
	}
	return err
}

// entry reads one tar entry, deciding whether its bytes may go to the sink now.
func (ps *partState) entry(h *tar.Header, name string, tr io.Reader) error {
	omit := (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA) && ps.omit(name)
	switch {
	case isMetadata(name):
		ps.rec.hold = true // keep holding: metadata decides the verdict
	case omit:
		// Leave the whole entry out of the sink's stream: its header blocks (from the
		// end of the previous entry's padding) through its own padding.
		ps.rec.dropFrom(round512(ps.contentEnd))
		if err := ps.rec.release(); err != nil {
			return err
		}
		ps.part.Omitted++
		ps.part.OmittedBytes += h.Size
		ps.part.omittedTar += 512 + round512(h.Size)
	default:
		if err := ps.rec.release(); err != nil {
			return err
		}
	}
	defer func() {
		if omit {
			ps.rec.dropTo(round512(ps.contentEnd))
		}
	}()
	if h.Typeflag != tar.TypeDir {
		if _, dup := ps.files[name]; dup {
			return fault("%s appears twice in the archive: the engine would take the last one, imgup the first; refused", Safe(name))
		}
		if len(ps.files) >= maxEntries {
			return fault("more than %d entries in one docker save tar: not a docker save archive", maxEntries)
		}
	}
	if omit && ps.rec.seek {
		// The engine has this layer and gets none of it: the tar reader seeks past it.
		// (Its digest is not checked: its bytes go nowhere.)
		ps.files[name] = h.Size
		ps.contentEnd = ps.rec.off + h.Size
		ps.rec.hold = true
		return nil
	}
	if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeRegA {
		ps.files[name] = h.Size
		want, verify := blobDigest(name)
		verify = verify && ps.rd.opt.VerifyBlobs
		var sum hash.Hash
		if verify {
			sum = sha256.New()
			tr = io.TeeReader(tr, sum)
		}
		if h.Size <= smallFile {
			b, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if len(bytes.TrimSpace(b)) > 0 && (bytes.TrimSpace(b)[0] == '{' || bytes.TrimSpace(b)[0] == '[') {
				ps.size += int64(len(b))
				if ps.size > maxKept {
					return fault("more than %d MiB of metadata (manifests and configs) in one docker save tar: not a docker save archive", maxKept>>20)
				}
				ps.kept[name] = b
				sum := sha256.Sum256(b)
				ps.dig[name] = "sha256:" + hex.EncodeToString(sum[:])
				if dir, ok := strings.CutSuffix(name, "/json"); ok && ps.rd.opt.Have != nil && ps.rd.opt.Load != nil {
					if v1LayerPresent(dir, b, ps.rd.opt.Have.Chains) {
						ps.present[dir] = true
					}
				}
			}
		} else if err := ps.rd.discard(ps.ctx, tr); err != nil {
			return err
		}
		if verify && hex.EncodeToString(sum.Sum(nil)) != want {
			return fault("%s does not have the digest its name says: the file was altered or damaged on the way; ask the vendor for it again", Safe(name))
		}
	} else if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
		// Docker 20.10 save writes a layer shared by two images once and links it;
		// Docker 25 links legacy layer paths into blobs/.
		if err := linkOK(h, name); err != nil {
			return err
		}
		ps.files[name] = 0
		if ps.part.links == nil {
			ps.part.links = map[string]bool{}
		}
		ps.part.links[name] = true
	}
	ps.contentEnd = ps.rec.off
	ps.rec.hold = true // the next header waits until we know what it is
	return nil
}

// blobDigest returns the hex sha256 an OCI blob's path names, if it names one.
func blobDigest(name string) (string, bool) {
	hexd, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok || len(hexd) != 64 || strings.Trim(hexd, "0123456789abcdef") != "" {
		return "", false
	}
	return hexd, true
}

// discard reads r to its end in large reads: the recorder passes them on to the sink.
// It stops when ctx is done.
func (rd *reader) discard(ctx context.Context, r io.Reader) error {
	if rd.buf == nil {
		rd.buf = make([]byte, chunkSize)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := r.Read(rd.buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// abort stops the sink, which then loads nothing. When the read failed because the
// sink stopped taking bytes, the sink's own error is the one to report.
func (ps *partState) abort(err error) error {
	if ps.pw == nil {
		return err
	}
	ps.pw.CloseWrite(err)
	serr := <-ps.errc
	ps.pw = nil
	if ps.rec.sinkErr != nil && serr != nil {
		return &sinkError{serr}
	}
	return err
}

// sinkError carries the sink's own error through Read unchanged.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// finish checks the part once all of it has been read, asks Keep, and then releases the
// held tail to the sink (or withholds it).
func (ps *partState) finish() error {
	if err := ps.describe(); err != nil {
		return ps.abort(err)
	}
	ps.part.Files, ps.part.Sums = ps.files, ps.dig
	ps.part.tarBytes = ps.rec.off
	if c := ps.rd.opt.Check; c != nil {
		if err := c(ps.ctx, &ps.part); err != nil {
			return ps.abort(err)
		}
	}
	ps.index = len(ps.rd.a.Parts)
	ps.rd.a.Parts = append(ps.rd.a.Parts, ps.part)
	if ps.rd.opt.Defer && ps.pw != nil {
		// The sink has every byte but the held tail: the engine has loaded nothing yet.
		ps.rd.a.pending = append(ps.rd.a.pending, ps)
		return nil
	}
	return ps.settle(ps.rd.opt.Keep)
}

// settle asks keep and then releases the held tail to the sink (or withholds it), and
// waits for the sink's verdict.
func (ps *partState) settle(keep func(context.Context, *Part) error) error {
	part := &ps.rd.a.Parts[ps.index]
	if keep != nil {
		if err := keep(ps.ctx, part); err != nil {
			ps.abort(err)
			if errors.Is(err, ErrSkip) {
				part.Skipped = true
				return nil
			}
			return err
		}
	}
	if ps.pw != nil {
		var err error
		if _, ok := ps.files["manifest.json"]; !ok {
			err = ps.synthesizeManifest()
		} else {
			err = ps.rec.release()
		}
		// A failed release cuts the sink's stream short, so the engine loads nothing.
		ps.pw.CloseWrite(err)
		if serr := <-ps.errc; serr != nil {
			err = &sinkError{serr}
		}
		ps.pw = nil
		if err != nil {
			return err
		}
		part.Sent = ps.rec.sent
	}
	return nil
}

// Pending reports whether a deferred read (Options.Defer) waits for Commit or Abort.
func (a *Archive) Pending() bool { return len(a.pending) > 0 }

// Commit finishes a deferred read: for each part, keep decides (ErrSkip withholds it)
// and the held tail goes to the sink, whose verdict Commit waits for. The first error
// aborts the parts not committed yet.
func (a *Archive) Commit(ctx context.Context, keep func(context.Context, *Part) error) error {
	pending := a.pending
	a.pending = nil
	for i, ps := range pending {
		ps.ctx = ctx
		if err := ps.settle(keep); err != nil {
			for _, rest := range pending[i+1:] {
				rest.abort(errAborted)
			}
			var se *sinkError
			if errors.As(err, &se) {
				return se.err
			}
			var ae *Error
			if errors.As(err, &ae) && ae.Path == "" {
				ae.Path = a.Path
			}
			return err
		}
	}
	return nil
}

// Abort ends a deferred read without loading anything: each sink's stream is cut short.
func (a *Archive) Abort() {
	for _, ps := range a.pending {
		ps.abort(errAborted)
	}
	a.pending = nil
}

var errAborted = i18n.Err("load abandoned: nothing was loaded")

// synthesizeManifest writes a classic manifest.json into the stream for an archive in
// the pure OCI layout, which engines before 25 cannot load otherwise: the held tail up
// to the end of the last entry, then manifest.json, then the tar trailer.
func (ps *partState) synthesizeManifest() error {
	var m []classicEntry
	for i, img := range ps.part.Images {
		m = append(m, classicEntry{Config: ps.ociConfig[i], RepoTags: img.Refs, Layers: ps.ociLayers[i]})
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	end := (ps.contentEnd + 511) / 512 * 512
	keep := end - ps.rec.heldStart
	if keep < 0 || keep > int64(ps.rec.held.Len()) {
		return fault("cannot add manifest.json: the tail of the archive was not held")
	}
	ps.rec.held.Truncate(int(keep))
	tw := tar.NewWriter(&ps.rec.held)
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if _, err := tw.Write(body); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return ps.rec.release()
}

// recorder passes the bytes the tar reader reads on to the sink, or holds them back.
type recorder struct {
	ctx context.Context
	// active is set when a sink may take the bytes; a scan-only read keeps nothing.
	active    bool
	r         io.Reader
	w         io.Writer
	hold      bool
	held      bytes.Buffer
	heldStart int64
	off       int64
	// sinkErr is set when the sink stopped taking bytes.
	sinkErr error
	// drops are stream ranges [from, to) left out of the sink's stream (delta load).
	drops []span
	// seek is set when r can seek forward past dropped bytes (a plain file).
	seek bool
	// sent counts the bytes the sink got.
	sent int64
}

type span struct{ from, to int64 }

// Seek lets the tar reader skip an entry's unread bytes (io.SeekCurrent only). Bytes the
// sink needs are read through; dropped ones, on a plain file, are seeked past.
func (c *recorder) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || off < 0 {
		return c.off, errors.ErrUnsupported
	}
	if off == 0 {
		return c.off, nil
	}
	sk, ok := c.r.(io.Seeker)
	if !ok || !c.seek || (c.active && !c.dropped(c.off, c.off+off)) {
		_, err := io.CopyN(io.Discard, struct{ io.Reader }{c}, off)
		return c.off, err
	}
	if _, err := sk.Seek(off, io.SeekCurrent); err != nil {
		return c.off, err
	}
	c.off += off
	return c.off, nil
}

// dropped tells whether [from, to) lies inside one drop range.
func (c *recorder) dropped(from, to int64) bool {
	for _, d := range c.drops {
		if d.from <= from && to <= d.to {
			return true
		}
	}
	return false
}

// seekBuf is a plain file read through a buffer that can also skip forward without
// reading: what is buffered is discarded, the rest seeked past. Skipped bytes count
// as read for progress.
type seekBuf struct {
	br       *bufio.Reader
	f        *os.File
	progress func(int64)
}

func (s *seekBuf) Read(p []byte) (int, error) { return s.br.Read(p) }

func (s *seekBuf) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekCurrent || off < 0 {
		return 0, errors.ErrUnsupported
	}
	k := int64(s.br.Buffered())
	if off <= k {
		s.br.Discard(int(off))
		return 0, nil
	}
	s.br.Discard(int(k))
	if _, err := s.f.Seek(off-k, io.SeekCurrent); err != nil {
		return 0, err
	}
	if s.progress != nil {
		s.progress(off - k)
	}
	return 0, nil
}

// dropFrom starts leaving bytes out of the sink's stream at offset from, until dropTo.
func (c *recorder) dropFrom(from int64) {
	c.drops = append(c.drops, span{from, math.MaxInt64})
}

// dropTo ends the last drop at offset to.
func (c *recorder) dropTo(to int64) {
	if n := len(c.drops); n > 0 {
		c.drops[n-1].to = to
	}
}

// emit writes to the sink the bytes p, which sit at stream offset at, leaving out the
// dropped ranges.
func (c *recorder) emit(p []byte, at int64) error {
	for len(p) > 0 {
		// Forget drops that end before p.
		for len(c.drops) > 0 && c.drops[0].to <= at {
			c.drops = c.drops[1:]
		}
		n := int64(len(p))
		if len(c.drops) > 0 {
			d := c.drops[0]
			if d.from <= at {
				skip := min(n, d.to-at)
				p, at = p[skip:], at+skip
				continue
			}
			n = min(n, d.from-at)
		}
		if _, err := c.w.Write(p[:n]); err != nil {
			return err
		}
		c.sent += n
		p, at = p[n:], at+n
	}
	return nil
}

func (c *recorder) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	if n > 0 && c.active {
		if c.hold && c.held.Len()+n <= maxHeld {
			if c.held.Len() == 0 {
				c.heldStart = c.off
			}
			c.held.Write(p[:n])
		} else {
			if werr := c.release(); werr != nil {
				return 0, werr
			}
			if werr := c.emit(p[:n], c.off); werr != nil {
				c.sinkErr = werr
				return 0, werr
			}
		}
	}
	c.off += int64(n)
	return n, err
}

// release sends what is held to the sink and stops holding.
func (c *recorder) release() error {
	c.hold = false
	if !c.active || c.w == nil || c.held.Len() == 0 {
		c.held.Reset()
		return nil
	}
	err := c.emit(c.held.Bytes(), c.heldStart)
	c.held.Reset()
	if err != nil {
		c.sinkErr = err
	}
	return err
}

type countingReader struct {
	r io.Reader
	n func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.n(int64(n))
	}
	return n, err
}
