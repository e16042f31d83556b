package console

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
)

const (
	cookieName = "imgup_session"
	// formLimit bounds every request body but an upload chunk's.
	formLimit  = 1 << 20
	sessionTTL = 12 * time.Hour
)

// Handler is the console's HTTP handler: every path needs a session (or the token as
// a bearer), every state-changing request its CSRF token.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /login", s.login)
	m.HandleFunc("POST /login", s.login)
	m.Handle("GET /static/", s.static)
	auth := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, s.authed(h)) }
	auth("GET /{$}", s.overview)
	auth("GET /upload", s.uploadPage)
	auth("GET /api/upload", s.uploadState)
	auth("PUT /api/upload", s.uploadChunk)
	auth("DELETE /api/upload", s.uploadCancel)
	auth("GET /plan", s.planPage)
	auth("POST /apply", s.startApply)
	auth("GET /jobs/{id}", s.jobPage)
	auth("GET /jobs/{id}/events", s.jobEvents)
	auth("GET /history", s.historyPage)
	auth("GET /history/{id}/report.md", s.report)
	auth("GET /history/{id}/report.json", s.report)
	auth("GET /rollback", s.rollbackPage)
	auth("POST /rollback", s.startRollback)
	auth("POST /logout", s.logout)
	return headers(m)
}

// headers sets what every response carries: no framing, no sniffing, no referrer (a
// login URL holds the token), scripts and styles from the console only.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		if r.Body != nil && r.Method != http.MethodPut {
			r.Body = http.MaxBytesReader(w, r.Body, formLimit)
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) tokenOK(t string) bool {
	return len(t) > 0 && subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

// login takes the token (from the URL imgup serve printed, or the form) and starts a
// session; the token leaves the address bar at once.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	t := r.URL.Query().Get("token")
	if r.Method == http.MethodPost {
		t = r.PostFormValue("token")
	}
	if t == "" {
		s.render(w, r, http.StatusUnauthorized, "login", nil, page{Title: "Log in"})
		return
	}
	if !s.tokenOK(t) {
		s.o.Log.Warn("console: a login with a wrong token", "remote", r.RemoteAddr)
		s.render(w, r, http.StatusUnauthorized, "login", nil, page{Title: "Log in", Error: "That token is not this console's. Copy the URL imgup serve printed, or the token in the deployment's .imgup/console-token."})
		return
	}
	id := randomHex(32)
	s.mu.Lock()
	now := time.Now()
	for k, v := range s.sessions {
		if now.Sub(v.created) > sessionTTL {
			delete(s.sessions, k)
		}
	}
	// Sessions are bounded: past maxSessions, the oldest is logged out.
	for len(s.sessions) >= maxSessions {
		oldest := ""
		for k, v := range s.sessions {
			if oldest == "" || v.created.Before(s.sessions[oldest].created) {
				oldest = k
			}
		}
		delete(s.sessions, oldest)
	}
	s.sessions[id] = &session{csrf: randomHex(32), created: now}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteStrictMode, MaxAge: int(sessionTTL.Seconds())})
	next := r.URL.Query().Get("next")
	if u, err := url.Parse(next); err != nil || next == "" || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// maxSessions bounds the sessions a console keeps.
const maxSessions = 64

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// sessionOf returns the request's session, or nil.
func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[c.Value]
	if ss == nil || time.Since(ss.created) > sessionTTL {
		return nil
	}
	return ss
}

type ctxKey struct{}

// authed lets through a request with a session cookie, or with the token as a bearer
// (scripts). A state-changing request with a cookie needs the session's CSRF token,
// in the X-CSRF-Token header or the csrf form field; a bearer cannot be sent by
// another site's page, so it needs none.
func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			if !s.tokenOK(b) {
				http.Error(w, i18n.New(langOf(w, r)).T("401 unauthorized: wrong token"), http.StatusUnauthorized)
				return
			}
			h(w, r.WithContext(withSession(r, &session{})))
			return
		}
		ss := s.sessionOf(r)
		if ss == nil {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasSuffix(r.URL.Path, "/events") {
				s.render(w, r, http.StatusUnauthorized, "login", nil, page{Title: "Log in", Next: r.URL.RequestURI()})
				return
			}
			http.Error(w, i18n.New(langOf(w, r)).T("401 unauthorized: log in with the URL imgup serve printed"), http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get("X-CSRF-Token")
			if got == "" && r.Method == http.MethodPost {
				got = r.PostFormValue("csrf")
			}
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) != 1 {
				http.Error(w, "403 forbidden: missing or wrong CSRF token; reload the page and try again", http.StatusForbidden)
				return
			}
		}
		h(w, r.WithContext(withSession(r, ss)))
	})
}
