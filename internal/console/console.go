// Package console is imgup's web console: a second front end over the update service,
// for operators who would rather use a browser than a shell on the server. It renders
// pages on the server (html/template, embedded, with its one small script vendored),
// takes uploads into <root>/image/ in resumable chunks, shows plans with their exact
// byte edits, runs an apply or a rollback as a job whose events any browser can watch
// live (server-sent events), and lists the history with its reports. No update logic
// lives here: every decision is the update service's.
package console

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/update"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure a console.
type Options struct {
	// Service is the update service; Target the deployment it serves.
	Service *update.Service
	Target  update.Target
	// Root is the deployment's root (uploads go to <Root>/image/, state to <Root>/.imgup/).
	Root string
	// MaxUpload is the largest file accepted (bytes); MaxChunk the largest request body
	// of one upload chunk.
	MaxUpload, MaxChunk int64
	// KeepFree is the free space an upload never takes (bytes); 0: 5 % of the
	// filesystem, at most 1 GiB.
	KeepFree int64
	// ChunkIdle ends a chunk whose body does not move for this long (60 s).
	ChunkIdle time.Duration
	// Secure marks the session cookie Secure (the console is served over TLS).
	Secure bool
	// Log receives one line per request that changes something, and errors.
	Log *slog.Logger
	// Command names the console's runs in the deployment's lock ("imgup serve").
	Command string
}

// Server is a running console's state: its login token, sessions, uploads and jobs.
type Server struct {
	o        Options
	token    string
	pages    map[string]*template.Template
	static   http.Handler
	mu       sync.Mutex
	sessions map[string]*session
	// uploads guards active: the uploads under way, by name, with the bytes each
	// still declares; it is held only for that bookkeeping, never while a body is read.
	uploads sync.Mutex
	active  map[string]*upload
	jobs    *jobs
	// base is the context jobs run under: a closed browser does not stop an update;
	// stopping the server does (the update then undoes what it changed).
	base context.Context
}

type session struct {
	csrf    string
	created time.Time
}

// TokenFile is where the login token is kept, readable by its owner only.
func TokenFile(root string) string { return filepath.Join(update.StateDir(root), "console-token") }

// New makes a console with a new login token, written to TokenFile (mode 0600). base
// bounds the jobs it runs.
func New(base context.Context, o Options) (*Server, error) {
	if o.MaxUpload == 0 {
		o.MaxUpload = 64 << 30
	}
	if o.MaxChunk == 0 {
		o.MaxChunk = 16 << 20
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Command == "" {
		o.Command = "imgup serve"
	}
	if o.ChunkIdle == 0 {
		o.ChunkIdle = 60 * time.Second
	}
	s := &Server{o: o, token: randomHex(24), sessions: map[string]*session{}, jobs: newJobs(), base: base, active: map[string]*upload{}}
	if err := os.MkdirAll(update.StateDir(o.Root), 0o755); err != nil {
		return nil, i18n.Errorf("cannot create %s: %w", update.StateDir(o.Root), err)
	}
	tf := TokenFile(o.Root)
	os.Remove(tf) // a planted file or symlink is replaced, not followed
	f, err := os.OpenFile(tf, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, i18n.Errorf("cannot write the login token to %s: %w", tf, err)
	}
	_, err = f.WriteString(s.token + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, i18n.Errorf("cannot write the login token to %s: %w", tf, err)
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	sub, _ := fs.Sub(assets, "static")
	s.static = http.StripPrefix("/static/", http.FileServer(http.FS(noDirs{sub})))
	return s, nil
}

// Token is the login token (for the URL the front end prints).
func (s *Server) Token() string { return s.token }

// Close removes the token file: the printed URL stops working with the server.
func (s *Server) Close() error {
	s.jobs.wait()
	return os.Remove(TokenFile(s.o.Root))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// noDirs serves files only: a folder is not listed.
type noDirs struct{ fs.FS }

func (n noDirs) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.IsDir() {
		f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}
