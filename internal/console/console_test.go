package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/update"
)

// fakeEngine answers what the pages ask: no containers, no images.
type fakeEngine struct{ engine.Client }

func (fakeEngine) Containers(context.Context) ([]engine.Container, error) { return nil, nil }
func (fakeEngine) Images(context.Context) ([]engine.Image, error)         { return nil, nil }
func (fakeEngine) ImageID(context.Context, string) (string, error)        { return "", nil }
func (fakeEngine) Info(context.Context) (engine.Info, error)              { return engine.Info{}, nil }
func (fakeEngine) Close() error                                           { return nil }

type harness struct {
	t    *testing.T
	root string
	srv  *Server
	ts   *httptest.Server
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	root := t.TempDir()
	if err := deploytest.Write(root, deploytest.Options{}); err != nil {
		t.Fatal(err)
	}
	return startHarness(t, root, o)
}

func startHarness(t *testing.T, root string, o Options) *harness {
	t.Helper()
	o.Root = root
	o.Service = &update.Service{Dial: func(context.Context) (engine.Client, error) { return fakeEngine{}, nil }}
	o.Target = update.Target{Dir: root}
	srv, err := New(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return &harness{t: t, root: root, srv: srv, ts: ts}
}

// client logs in with the token and returns a client holding the session cookie, and
// the session's CSRF token.
func (h *harness) client() (*http.Client, string) {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(h.ts.URL + "/login?token=" + h.srv.Token())
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/upload" && resp.Request.URL.Path != "/" {
		h.t.Fatalf("login: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	i := bytes.Index(body, []byte(`name="csrf-token" content="`))
	if i < 0 {
		h.t.Fatalf("no csrf token in %s", body)
	}
	rest := body[i+len(`name="csrf-token" content="`):]
	return c, string(rest[:bytes.IndexByte(rest, '"')])
}

func (h *harness) do(c *http.Client, method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestTokenRequired(t *testing.T) {
	h := newHarness(t, Options{})
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/", "/upload", "/plan", "/history", "/api/upload?name=a.tar", "/history/x/report.md", "/jobs/x/events"} {
		if resp, _ := h.do(anon, "GET", p, nil, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", p, resp.StatusCode)
		}
		if resp, _ := h.do(anon, "GET", p, nil, map[string]string{"Authorization": "Bearer nope"}); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong bearer token: %d, want 401", p, resp.StatusCode)
		}
	}
	if resp, _ := h.do(anon, "GET", "/login?token="+strings.Repeat("0", 48), nil, nil); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("a wrong login token: %d with cookies %v, want 401 and none", resp.StatusCode, resp.Cookies())
	}
	if resp, _ := h.do(anon, "GET", "/", nil, map[string]string{"Cookie": cookieName + "=forged"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a forged session cookie: %d, want 401", resp.StatusCode)
	}
	resp, _ := h.do(anon, "GET", "/login?token="+h.srv.Token(), nil, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure without TLS", ck)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("security headers missing: %v", resp.Header)
	}
	// An open redirect through next= is refused.
	resp, _ = h.do(anon, "GET", "/login?next=//evil.example/&token="+h.srv.Token(), nil, nil)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("login with next=//evil.example/ redirects to %q", loc)
	}
	st, err := os.Stat(TokenFile(h.root))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want mode 0600", st, err)
	}
	if b, _ := os.ReadFile(TokenFile(h.root)); strings.TrimSpace(string(b)) != h.srv.Token() {
		t.Errorf("the token file does not hold the token")
	}
	// The bearer token works for scripts.
	if resp, _ := h.do(anon, "GET", "/history", nil, map[string]string{"Authorization": "Bearer " + h.srv.Token()}); resp.StatusCode != 200 {
		t.Errorf("bearer token: %d", resp.StatusCode)
	}
}

func TestCSRFRequired(t *testing.T) {
	h := newHarness(t, Options{})
	c, csrf := h.client()
	cases := []struct{ method, path, body, ctype string }{
		{"PUT", "/api/upload?name=a.tar&size=3&offset=0", "abc", "application/octet-stream"},
		{"DELETE", "/api/upload?name=a.tar", "", ""},
		{"POST", "/apply", "file=a.tar&fingerprint=x", "application/x-www-form-urlencoded"},
		{"POST", "/rollback", "id=x&fingerprint=x", "application/x-www-form-urlencoded"},
		{"POST", "/logout", "", "application/x-www-form-urlencoded"},
	}
	for _, k := range cases {
		for _, bad := range []string{"", "wrong"} {
			hdr := map[string]string{"Content-Type": k.ctype}
			if bad != "" {
				hdr["X-CSRF-Token"] = bad
			}
			resp, body := h.do(c, k.method, k.path, strings.NewReader(k.body), hdr)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s with CSRF token %q: %d %s, want 403", k.method, k.path, bad, resp.StatusCode, body)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(h.root, "image", "a.tar")); err == nil {
		t.Error("a request without its CSRF token wrote a file")
	}
	resp, _ := h.do(c, "PUT", "/api/upload?name=a.tar&size=3&offset=0", strings.NewReader("abc"), map[string]string{"X-CSRF-Token": csrf})
	if resp.StatusCode != 200 {
		t.Errorf("with the CSRF token: %d", resp.StatusCode)
	}
}

func TestUploadNamesStayInImage(t *testing.T) {
	h := newHarness(t, Options{})
	c, csrf := h.client()
	for _, name := range []string{"../x.tar", "..", ".", "a/b.tar", `..\x.tar`, "/etc/passwd", ".hidden.tar", "x\x00.tar", "x\n.tar", "x\x1b[31m.tar", strings.Repeat("a", 201), "%2e%2e/x.tar", "x..tar/../../y"} {
		q := url.Values{"name": {name}, "size": {"3"}, "offset": {"0"}}
		resp, body := h.do(c, "PUT", "/api/upload?"+q.Encode(), strings.NewReader("abc"), map[string]string{"X-CSRF-Token": csrf})
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("upload name %q: %d %s, want 400", name, resp.StatusCode, body)
		}
	}
	var found []string
	filepath.WalkDir(filepath.Dir(h.root), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Base(p) == "x.tar" || filepath.Base(p) == "y" || strings.HasSuffix(p, ".part")) {
			found = append(found, p)
		}
		return nil
	})
	if len(found) > 0 {
		t.Errorf("refused uploads left files: %v", found)
	}
}

func TestUploadLimits(t *testing.T) {
	h := newHarness(t, Options{MaxUpload: 1000, MaxChunk: 100})
	c, csrf := h.client()
	hdr := map[string]string{"X-CSRF-Token": csrf}
	if resp, body := h.do(c, "PUT", "/api/upload?name=big.tar&size=1001&offset=0", strings.NewReader("a"), hdr); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "--max-upload") {
		t.Errorf("a file over --max-upload: %d %s, want 413", resp.StatusCode, body)
	}
	if resp, body := h.do(c, "PUT", "/api/upload?name=big.tar&size=1000&offset=0", strings.NewReader(strings.Repeat("a", 101)), hdr); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a chunk over the limit: %d %s, want 413", resp.StatusCode, body)
	}
	// A body longer than it says is cut at the limit too (no Content-Length).
	pr, pw := io.Pipe()
	go func() { pw.Write(bytes.Repeat([]byte("a"), 300)); pw.Close() }()
	if resp, body := h.do(c, "PUT", "/api/upload?name=big2.tar&size=1000&offset=0", pr, hdr); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a streamed chunk over the limit: %d %s, want 413", resp.StatusCode, body)
	}
	// A form over the limit is refused before it is parsed.
	big := "csrf=" + csrf + "&file=" + strings.Repeat("a", formLimit)
	if resp, _ := h.do(c, "POST", "/apply", strings.NewReader(big), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); resp.StatusCode < 400 {
		t.Errorf("an oversize form: %d", resp.StatusCode)
	}
}

// TestUploadResume breaks an upload off in the middle of a chunk, restarts the server,
// and finishes it: the file is whole, with the sha256 of the original.
func TestUploadResume(t *testing.T) {
	h := newHarness(t, Options{MaxChunk: 1 << 20})
	data := make([]byte, 3<<20+12345)
	rand.NewChaCha8([32]byte{1}).Read(data)
	want := sha256.Sum256(data)
	c, csrf := h.client()
	hdr := map[string]string{"X-CSRF-Token": csrf}
	put := func(h *harness, c *http.Client, off int, body io.Reader) (int, uploadStatus) {
		t.Helper()
		resp, b := h.do(c, "PUT", fmt.Sprintf("/api/upload?name=app.tar.gz&size=%d&offset=%d", len(data), off), body, hdr)
		var st uploadStatus
		json.Unmarshal([]byte(b), &st)
		return resp.StatusCode, st
	}
	if code, st := put(h, c, 0, bytes.NewReader(data[:1<<20])); code != 200 || st.Offset != 1<<20 {
		t.Fatalf("first chunk: %d %+v", code, st)
	}
	// The second chunk breaks off after 300000 bytes.
	pr, pw := io.Pipe()
	go func() {
		pw.Write(data[1<<20 : 1<<20+300000])
		pw.CloseWithError(errors.New("cable pulled"))
	}()
	req, _ := http.NewRequest("PUT", h.ts.URL+fmt.Sprintf("/api/upload?name=app.tar.gz&size=%d&offset=%d", len(data), 1<<20), pr)
	req.Header.Set("X-CSRF-Token", csrf)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
	}
	// A chunk at the wrong offset is refused with the offset to send from.
	code, st := put(h, c, 0, bytes.NewReader(data[:10]))
	if code != http.StatusConflict {
		t.Fatalf("a chunk at the wrong offset: %d %+v, want 409", code, st)
	}
	// The server restarts: a new console on the same root.
	h.ts.Close()
	h.srv.Close()
	h2 := startHarness(t, h.root, Options{MaxChunk: 1 << 20})
	c2, csrf2 := h2.client()
	hdr["X-CSRF-Token"] = csrf2
	resp, b := h2.do(c2, "GET", "/api/upload?name=app.tar.gz", nil, nil)
	var state uploadStatus
	json.Unmarshal([]byte(b), &state)
	if resp.StatusCode != 200 || state.Offset < 1<<20 || state.Offset > 1<<20+300000 {
		t.Fatalf("resume state: %d %+v", resp.StatusCode, state)
	}
	off := int(state.Offset)
	for off < len(data) {
		end := min(off+1<<20, len(data))
		code, st = put(h2, c2, off, bytes.NewReader(data[off:end]))
		if code != 200 {
			t.Fatalf("chunk at %d: %d %+v", off, code, st)
		}
		off = int(st.Offset)
	}
	if !st.Done || st.SHA256 != hex.EncodeToString(want[:]) {
		t.Fatalf("finished upload %+v, want sha256 %x", st, want)
	}
	got, err := os.ReadFile(filepath.Join(h.root, "image", "app.tar.gz"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("image/app.tar.gz differs from what was sent (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(h.root, ".imgup", "uploads", "app.tar.gz.part")); err == nil {
		t.Error("the part file is left behind")
	}
	// The same name again is refused: an archive is never overwritten.
	if code, _ := put(h2, c2, 0, bytes.NewReader(data[:10])); code != http.StatusConflict {
		t.Errorf("uploading over image/app.tar.gz: %d, want 409", code)
	}
}

// TestHostileTextIsInert puts markup in a file name and in a recorded update: every
// page shows it as text.
func TestHostileTextIsInert(t *testing.T) {
	h := newHarness(t, Options{})
	evil := `<script>alert(1)<`
	os.MkdirAll(filepath.Join(h.root, "image"), 0o755)
	if err := os.WriteFile(filepath.Join(h.root, "image", evil+".tar"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := history.Begin(h.root, &history.Record{Kind: "apply", Updates: []history.Service{{Stack: "console", Service: "web", From: "a:1", To: `evil/<script>alert(2)</script>:1`}}})
	if err != nil {
		t.Fatal(err)
	}
	j.Set(history.Verified, func(r *history.Record) { r.Error = `<img src=x onerror=alert(3)>` })
	c, _ := h.client()
	for _, p := range []string{"/upload", "/plan", "/history", "/plan?file=" + url.QueryEscape(evil+".tar")} {
		resp, body := h.do(c, "GET", p, nil, nil)
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		for _, raw := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s renders %q as markup", p, raw)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;alert") {
			t.Errorf("GET %s does not show the name as text", p)
		}
	}
}

// TestStaticServesNoListing: the embedded assets are served; folders are not listed.
func TestStaticServesNoListing(t *testing.T) {
	h := newHarness(t, Options{})
	anon := &http.Client{}
	for p, want := range map[string]int{"/static/console.js": 200, "/static/console.css": 200, "/static/": 404, "/static/../templates/layout.html": 404, "/templates/layout.html": 404} {
		resp, _ := h.do(anon, "GET", p, nil, nil)
		if resp.StatusCode != want && !(want == 404 && resp.StatusCode == 401) {
			t.Errorf("GET %s: %d, want %d", p, resp.StatusCode, want)
		}
	}
}

// TestShellApplyShowsAsRunning: while another imgup holds the deployment's lock (an
// apply in a shell), every page says so, and the console starts no job.
func TestShellApplyShowsAsRunning(t *testing.T) {
	h := newHarness(t, Options{})
	lock, err := history.Acquire(t.Context(), h.root, "imgup apply", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c, csrf := h.client()
	_, body := h.do(c, "GET", "/history", nil, nil)
	if !strings.Contains(body, "imgup apply (pid") || !strings.Contains(body, "is changing this deployment") {
		t.Errorf("the history page does not show the shell's apply:\n%s", body)
	}
	lock.Release()
	_, body = h.do(c, "GET", "/history", nil, nil)
	if strings.Contains(body, "is changing this deployment") {
		t.Error("the banner stays after the lock is released")
	}
	_ = csrf
}

// TestBothLanguages: the browser's Accept-Language picks Chinese, the switch picks
// either and is remembered; everything the script shows has both languages.
func TestBothLanguages(t *testing.T) {
	h := newHarness(t, Options{})
	c, _ := h.client()
	_, body := h.do(c, "GET", "/upload", nil, map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
	if !strings.Contains(body, "上传镜像包和更新包") || !strings.Contains(body, `lang="zh-CN"`) || !strings.Contains(body, "历史与回退") {
		t.Errorf("Accept-Language zh does not give Chinese:\n%s", body)
	}
	_, body = h.do(c, "GET", "/upload?lang=en", nil, map[string]string{"Accept-Language": "zh-CN"})
	if !strings.Contains(body, "Upload archives and bundles") {
		t.Error("?lang=en does not switch to English")
	}
	_, body = h.do(c, "GET", "/history", nil, map[string]string{"Accept-Language": "zh-CN"})
	if !strings.Contains(body, "History") || strings.Contains(body, "历史与回退") {
		t.Error("the switch to English is not remembered")
	}
	_, body = h.do(c, "GET", "/history?lang=zh", nil, nil)
	if !strings.Contains(body, "还没有更新") {
		t.Error("?lang=zh does not switch to Chinese")
	}
	for _, s := range jsText {
		if !i18n.Has(s) {
			t.Errorf("console.js text %q has no Chinese", s)
		}
	}
	for _, m := range (planView{}).Methods() {
		if !i18n.Has(m.Help.Format) {
			t.Errorf("restart choice %s: %q has no Chinese", m.Name, m.Help.Format)
		}
	}
	// An upload's error comes in the reader's language.
	c2, csrf := h.client()
	resp, body := h.do(c2, "PUT", "/api/upload?name=../x.tar&size=3&offset=0", strings.NewReader("abc"), map[string]string{"X-CSRF-Token": csrf, "Accept-Language": "zh"})
	if resp.StatusCode != 400 || !strings.Contains(body, "是路径，不是文件名") {
		t.Errorf("a Chinese upload error: %d %s", resp.StatusCode, body)
	}
}
