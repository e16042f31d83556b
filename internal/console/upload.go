package console

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
)

// Uploads are written to <root>/.imgup/uploads/NAME.part, chunk by chunk at the offset
// the client states, and renamed into <root>/image/NAME when the last byte arrives. The
// part file is the state: an upload broken off, by the network or a server restart,
// continues from its length.

// uploadDir holds the parts of unfinished uploads.
func (s *Server) uploadDir() string { return filepath.Join(history.Dir(s.o.Root), "uploads") }

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
		uploadError(w, r, http.StatusRequestEntityTooLarge, name, 0, "%s is %s; this console takes files up to %s (imgup serve --max-upload)", name, plan.Human(size), plan.Human(s.o.MaxUpload))
		return
	}
	if r.ContentLength > s.o.MaxChunk {
		uploadError(w, r, http.StatusRequestEntityTooLarge, name, off, "a chunk may be at most %s", plan.Human(s.o.MaxChunk))
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.o.MaxChunk)
	// One chunk at a time: two tabs uploading the same name must not interleave.
	s.uploads.Lock()
	defer s.uploads.Unlock()
	if err := os.MkdirAll(s.uploadDir(), 0o700); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, 0, "cannot create %s: %v", s.uploadDir(), err)
		return
	}
	if err := os.MkdirAll(s.imageDir(), 0o755); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, 0, "cannot create %s: %v", s.imageDir(), err)
		return
	}
	final := filepath.Join(s.imageDir(), name)
	if _, err := os.Lstat(final); err == nil {
		uploadError(w, r, http.StatusConflict, name, 0, "image/%s already exists; remove or rename it on the server first, or upload under another name", name)
		return
	}
	part := filepath.Join(s.uploadDir(), name+".part")
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, 0, "cannot open %s: %v", part, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, 0, "%v", err)
		return
	}
	have := fi.Size()
	if have > size {
		f.Truncate(0)
		have = 0
	}
	if off != have {
		uploadError(w, r, http.StatusConflict, name, have, "the server has %d bytes of %s; send from there", have, name)
		return
	}
	if off == 0 {
		if free := freeBytes(s.imageDir()); free >= 0 && free < size+(64<<20) {
			uploadError(w, r, http.StatusInsufficientStorage, name, 0, "%s needs %s, and %s has %s free: make room first", name, plan.Human(size), s.imageDir(), plan.Human(free))
			return
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, have, "%v", err)
		return
	}
	n, err := io.Copy(f, io.LimitReader(body, size-off))
	if err != nil {
		// What arrived stays: the client resumes from the part's length.
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			uploadError(w, r, http.StatusRequestEntityTooLarge, name, off+n, "a chunk may be at most %s", plan.Human(s.o.MaxChunk))
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
	if err := os.Rename(part, final); err != nil {
		uploadError(w, r, http.StatusInternalServerError, name, off+n, "cannot move the upload to %s: %v", final, err)
		return
	}
	st.Done, st.SHA256, st.Path = true, sum, filepath.Join("image", name)
	s.o.Log.Info("console: upload finished", "file", final, "size", size, "sha256", sum)
	writeJSON(w, http.StatusOK, st)
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
	os.Remove(filepath.Join(s.uploadDir(), name+".part"))
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

func freeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
