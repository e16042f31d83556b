package console

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/update"
)

// Uploads are written to <root>/.imgup/uploads/NAME.part, chunk by chunk at the offset
// the client states, and renamed into <root>/image/NAME when the last byte arrives. The
// part file is the state: an upload broken off, by the network or a server restart,
// continues from its length.

// uploadDir holds the parts of unfinished uploads.
func (s *Server) uploadDir() string { return filepath.Join(update.StateDir(s.o.Root), "uploads") }

// imageDir is where finished uploads go, as the runbook says archives are copied.
func (s *Server) imageDir() string { return filepath.Join(s.o.Root, "image") }

// cleanName checks an upload's file name: a plain name, never a path, nothing hidden,
// no control characters, at most 200 bytes.
func cleanName(name string) (string, error) {
	switch {
	case name == "":
		return "", i18n.Err("no file name")
	case len(name) > 200:
		return "", i18n.Err("the file name is longer than 200 bytes")
	case !utf8.ValidString(name):
		return "", i18n.Err("the file name is not UTF-8")
	case strings.ContainsAny(name, `/\`) || name == "." || name == ".." || strings.Contains(name, ".."):
		return "", i18n.Errorf("%q is a path, not a file name", name)
	case strings.HasPrefix(name, "."):
		return "", i18n.Errorf("%q is a hidden file name", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == 0x7f || !unicode.IsPrint(r) {
			return "", i18n.Errorf("%q holds a control character", name)
		}
	}
	return name, nil
}

type uploadStatus struct {
	Name   string `json:"name"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size,omitempty"`
	Done   bool   `json:"done,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Path   string `json:"path,omitempty"`
	Error  string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// uploadError answers an upload request with its error, in the reader's language.
func uploadError(w http.ResponseWriter, r *http.Request, code int, name string, off int64, format string, args ...any) {
	tr := i18n.New(langOf(w, r))
	for i, a := range args {
		if err, ok := a.(error); ok {
			args[i] = i18n.Localize(tr, err)
		}
	}
	writeJSON(w, code, uploadStatus{Name: name, Offset: off, Error: tr.Sprintf(format, args...)})
}

// uploadState tells how much of an upload the server has: where to resume.
func (s *Server) uploadState(w http.ResponseWriter, r *http.Request) {
	name, err := cleanName(r.URL.Query().Get("name"))
	if err != nil {
		uploadError(w, r, http.StatusBadRequest, "", 0, "%v", err)
		return
	}
	st := uploadStatus{Name: name}
	if fi, err := os.Stat(filepath.Join(s.uploadDir(), name+".part")); err == nil {
		st.Offset = fi.Size()
	}
	if fi, err := os.Stat(filepath.Join(s.imageDir(), name)); err == nil && st.Offset == 0 {
		st.Done, st.Size, st.Path = true, fi.Size(), filepath.Join("image", name)
	}
	writeJSON(w, http.StatusOK, st)
}

// uploadChunk writes one chunk: PUT /api/upload?name=N&size=TOTAL&offset=K with the
// bytes [K, K+len) as the body. A chunk at another offset than the part's length is
// refused with 409 and the offset to send from.
func (s *Server) uploadChunk(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name, err := cleanName(q.Get("name"))
	if err != nil {
		uploadError(w, r, http.StatusBadRequest, "", 0, "%v", err)
		return
	}
	size, err1 := strconv.ParseInt(q.Get("size"), 10, 64)
	off, err2 := strconv.ParseInt(q.Get("offset"), 10, 64)
	if err1 != nil || err2 != nil || size <= 0 || off < 0 || off > size {
		uploadError(w, r, http.StatusBadRequest, name, 0, "size and offset must be numbers, 0 <= offset <= size, size > 0")
		return
	}
	if size > s.o.MaxUpload {
		uploadError(w, r, http.StatusRequestEntityTooLarge, name, 0, "%s is %s; this console takes files up to %s (imgup serve --max-upload)", name, update.Human(size), limit(s.o.MaxUpload))
		return
	}
	if r.ContentLength > s.o.MaxChunk {
		uploadError(w, r, http.StatusRequestEntityTooLarge, name, off, "a chunk may be at most %s", limit(s.o.MaxChunk))
		return
	}
	if err := s.uploadDirs(); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, 0, "%v", err)
		return
	}
	final := filepath.Join(s.imageDir(), name)
	if _, err := os.Lstat(final); err == nil {
		uploadError(w, r, http.StatusConflict, name, 0, "image/%s already exists; remove or rename it on the server first, or upload under another name", name)
		return
	}
	part := filepath.Join(s.uploadDir(), name+".part")
	// Claim the upload and reserve its space; the lock is held for this bookkeeping
	// only, never while the body is read.
	s.uploads.Lock()
	u := s.active[name]
	if u != nil && u.busy {
		have := u.have
		s.uploads.Unlock()
		uploadError(w, r, http.StatusConflict, name, have, "another chunk of %s is being written; send again from byte %d when it ends", name, have)
		return
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		s.uploads.Unlock()
		uploadError(w, r, http.StatusInternalServerError, name, 0, "cannot open %s: %v", part, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		s.uploads.Unlock()
		uploadError(w, r, http.StatusInternalServerError, name, 0, "%s is not a regular file", part)
		return
	}
	have := fi.Size()
	if have > size {
		f.Truncate(0)
		have = 0
	}
	if off != have {
		s.uploads.Unlock()
		uploadError(w, r, http.StatusConflict, name, have, "the server has %d bytes of %s; send from there", have, name)
		return
	}
	if err := s.reserve(name, size-have); err != nil {
		s.uploads.Unlock()
		uploadError(w, r, http.StatusInsufficientStorage, name, have, "%v", err)
		return
	}
	if u == nil {
		u = &upload{}
		s.active[name] = u
	}
	u.size, u.have, u.busy, u.seen = size, have, true, time.Now()
	s.uploads.Unlock()
	written := int64(0)
	done := false
	defer func() {
		s.uploads.Lock()
		u.busy, u.have, u.seen = false, off+written, time.Now()
		if done {
			delete(s.active, name)
		}
		s.uploads.Unlock()
	}()

	if _, err := f.Seek(off, io.SeekStart); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, have, "%v", err)
		return
	}
	// A chunk whose body does not move for ChunkIdle ends: a laptop asleep behind
	// a tunnel holds nothing.
	body := &idleBody{r: http.MaxBytesReader(w, r.Body, s.o.MaxChunk), rc: http.NewResponseController(w), idle: s.o.ChunkIdle}
	body.extend()
	n, err := io.Copy(f, io.LimitReader(body, size-off))
	written = n
	if err != nil {
		// What arrived stays: the client resumes from the part's length.
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			uploadError(w, r, http.StatusRequestEntityTooLarge, name, off+n, "a chunk may be at most %s", limit(s.o.MaxChunk))
			return
		}
		uploadError(w, r, http.StatusBadRequest, name, off+n, "the chunk broke off: %v", err)
		return
	}
	st := uploadStatus{Name: name, Offset: off + n, Size: size}
	if off+n < size {
		writeJSON(w, http.StatusOK, st)
		return
	}
	if err := f.Sync(); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, off+n, "%v", err)
		return
	}
	sum, err := fileSHA256(f)
	if err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, off+n, "%v", err)
		return
	}
	if err := moveInto(part, final, f); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, off+n, "cannot move the upload to %s: %v", final, err)
		return
	}
	done = true
	st.Done, st.SHA256, st.Path = true, sum, filepath.Join("image", name)
	s.o.Log.Info("console: upload finished", "file", final, "size", size, "sha256", sum)
	writeJSON(w, http.StatusOK, st)
}

// upload is an upload under way: its declared size, the bytes on disk, and whether a
// chunk is being written now.
type upload struct {
	size, have int64
	busy       bool
	seen       time.Time
}

// staleUpload is how long an upload no chunk came for keeps its reservation.
const staleUpload = time.Hour

// reserve checks that need more bytes fit beside every other upload under way and
// above the free-space floor, on the filesystems of image/ and of the parts. The
// caller holds s.uploads.
func (s *Server) reserve(name string, need int64) error {
	var others int64
	for n, u := range s.active {
		if n != name && time.Since(u.seen) < staleUpload {
			others += u.size - u.have
		}
	}
	for _, dir := range []string{s.imageDir(), s.uploadDir()} {
		free, total := diskSpace(dir)
		if free < 0 {
			continue
		}
		floor := s.o.KeepFree
		if floor <= 0 {
			floor = min(total/20, 1<<30)
		}
		if free-others-need < floor {
			return i18n.Errorf("%s needs %s more, uploads under way hold %s, and %s has %s free, of which %s is kept free (imgup serve --keep-free): make room first",
				name, update.Human(need), update.Human(others), dir, update.Human(free), update.Human(floor))
		}
	}
	return nil
}

// uploadDirs makes .imgup/uploads and image/. The parts are written only where the
// deployment's .imgup/ really is: .imgup or uploads as a symlink is refused. image/
// may be a symlink (an operator's own choice of disk, image -> /data/images): the
// finished upload goes where it points.
func (s *Server) uploadDirs() error {
	for _, d := range []string{update.StateDir(s.o.Root), s.uploadDir()} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return i18n.Errorf("cannot create %s: %v", d, err)
		}
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			return i18n.Errorf("%s is a symlink or not a folder: the console writes uploads only into the deployment's own .imgup/uploads", d)
		}
	}
	if err := os.MkdirAll(s.imageDir(), 0o755); err != nil {
		return i18n.Errorf("cannot create %s: %v", s.imageDir(), err)
	}
	return nil
}

// moveInto renames the finished part into image/, or copies it there when image/ is on
// another filesystem (a symlink to another disk).
func moveInto(part, final string, f *os.File) error {
	err := os.Rename(part, final)
	if !errors.Is(err, syscall.EXDEV) {
		return err
	}
	tmp := final + ".imgup-tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	_, err = io.Copy(out, f)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Remove(part)
}

// idleBody reads a request body and pushes the read deadline forward whenever bytes
// arrive: a body that does not move for idle ends with an error.
type idleBody struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (b *idleBody) extend() { b.rc.SetReadDeadline(time.Now().Add(b.idle)) }

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.extend()
	}
	return n, err
}

// uploadCancel throws away an unfinished upload.
func (s *Server) uploadCancel(w http.ResponseWriter, r *http.Request) {
	name, err := cleanName(r.URL.Query().Get("name"))
	if err != nil {
		uploadError(w, r, http.StatusBadRequest, "", 0, "%v", err)
		return
	}
	s.uploads.Lock()
	defer s.uploads.Unlock()
	if u := s.active[name]; u != nil && u.busy {
		uploadError(w, r, http.StatusConflict, name, u.have, "a chunk of %s is being written; cancel again when it ends", name)
		return
	}
	delete(s.active, name)
	if fi, err := os.Lstat(s.uploadDir()); err == nil && fi.IsDir() {
		os.Remove(filepath.Join(s.uploadDir(), name+".part"))
	}
	writeJSON(w, http.StatusOK, uploadStatus{Name: name})
}

func fileSHA256(f *os.File) (string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// limit is a size the operator set, in the units flags take: 64 GiB, not 68.7 GB.
func limit(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return update.Human(n)
}

// diskSpace is the free and total bytes of dir's filesystem; -1 when unknown.
func diskSpace(dir string) (free, total int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, -1
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize)
}
