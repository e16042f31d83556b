//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/encoo-tools/imgup/internal/deploy/deploytest"
	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

// browser finds Debian's chromium-headless-shell or chromium; scripts/test.sh installs
// it. Without one the test fails: the console is proven in a real browser or not at all.
func browser(t *testing.T) string {
	for _, p := range []string{os.Getenv("IMGUP_BROWSER"), "/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium-headless-shell", "/usr/bin/chromium", "/usr/lib/chromium/chromium"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("no chromium-headless-shell or chromium: run scripts/test.sh, which installs it (apt-get install chromium-headless-shell)")
	return ""
}

// console is an imgup serve process.
type consoleProc struct {
	cmd *exec.Cmd
	url string // the login URL it printed
	out *strings.Builder
	mu  sync.Mutex
}

func startConsole(t *testing.T, dir, listen string, env ...string) *consoleProc {
	t.Helper()
	cmd := exec.Command(imgupBin, "serve", "-C", dir, "--listen", listen)
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	c := &consoleProc{cmd: cmd, out: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{c}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`http://\S+/login\?token=\S+`).FindString(sc.Text()); m != "" {
				found <- m
			}
		}
	}()
	select {
	case c.url = <-found:
	case <-time.After(20 * time.Second):
		t.Fatalf("imgup serve printed no URL:\n%s", c.log())
	}
	return c
}

type lockedWriter struct{ c *consoleProc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.out.Write(b)
}

func (c *consoleProc) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func (c *consoleProc) base() string {
	u, _ := url.Parse(c.url)
	return u.Scheme + "://" + u.Host
}

// shoot saves a screenshot of the page under docs/console/ for the README.
func shoot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join("..", "..", "docs", "console", name+".png"), png, 0o644)
	})
}

// text reads an element's text into *v.
func text(sel string, v *string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		*v, err = chromedp.Text(chromedp.CSS(sel))(ctx, t)
		return err
	})
}

// evalBool evaluates a script that answers true or false into *v.
func evalBool(script string, v *bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		*v, err = chromedp.Evaluate[bool](script)(ctx, t)
		return err
	})
}

func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}
func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// TestConsoleInABrowser drives the web console in a real browser against a sample
// deployment on the real engine: log in with the printed token, upload a 60 MB
// archive whose connection is cut (and the console restarted), resume it, read the
// plan's diff, apply and watch the live view reach the verification table from a
// second tab after the first one closed, download the report, and roll back.
func TestConsoleInABrowser(t *testing.T) {
	heavy(t)
	exe := browser(t)
	eng := dockertest.New(t)
	s := startSample(t, eng, "ui", deploytest.Options{})
	oldWeb := s.containers(t)[eng.Project("ui")+"/console-web"].Image
	web := eng.Ref("encoo/console-web-v4-pvt", "4.1.76383")
	webID := eng.Build(t, web, "ok", 60<<20)
	archive := filepath.Join(t.TempDir(), "console-web-v4-pvt-4.1.76383.tar")
	eng.Save(t, archive, web)
	eng.Remove(t, web)
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	wantSum := hex.EncodeToString(sum[:])
	size := len(data)
	os.MkdirAll(filepath.Join("..", "..", "docs", "console"), 0o755)

	// The browser reaches the console through a cable the test can cut.
	port := freePort(t)
	srv := startConsole(t, s.dir, "127.0.0.1:"+port)
	cable := newCable(t, "127.0.0.1:"+port)
	base := "http://" + cable.addr

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1360, 900))...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	// A tab lives as long as the context of its first run: open it without a timeout.
	ctx, cancelTab := chromedp.NewContext(bctx)
	defer cancelTab()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(what string, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// A bound for a hang, not a speed test: a step that applies or rolls back the
		// 12-container sample waits on a restart, which on 2 cores beside the swarm,
		// Kubernetes and vendor tests once took past 3 minutes.
		limit := 6 * time.Minute
		if d, err := time.ParseDuration(os.Getenv("IMGUP_STEP_TIMEOUT")); err == nil {
			limit = d
		}
		tctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		if err := chromedp.Do(tctx, steps...); err != nil {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			page, perr := chromedp.Run(sctx, chromedp.Evaluate[string]("document.body.innerText"))
			if perr != nil {
				page = perr.Error()
			}
			t.Fatalf("%s: %v\nthe page says:\n%s\nconsole log:\n%s", what, err, page, srv.log())
		}
	}

	// 1. Log in with the token: the overview shows the status table.
	var overview string
	run("log in", ctx, chromedp.Navigate(cable.login(srv)), visible("table"), text("main", &overview), shoot("overview"))
	if !strings.Contains(overview, "console-web") || !strings.Contains(overview, "Everything agrees") {
		t.Fatalf("overview:\n%s", overview)
	}

	// 2. Upload; the connection is cut when a third of the file has gone through.
	cable.cutAfter(int64(size / 3))
	var info string
	run("upload until the cut", ctx, chromedp.Navigate(base+"/upload"),
		chromedp.SetUploadFiles(chromedp.ID("files"), []string{archive}),
		visible(".upload button.resume"), text(".upload .info", &info), shoot("upload-broken"))
	if !strings.Contains(info, "connection broke") {
		t.Fatalf("after the cut the upload says %q", info)
	}
	// The console restarts (a new token); the operator logs in again and drops the
	// same file: it continues from what the server has.
	srv.cmd.Process.Kill()
	srv.cmd.Wait()
	srv = startConsole(t, s.dir, "127.0.0.1:"+port)
	received := partSize(t, s.dir, filepath.Base(archive))
	if received < int64(size/4) || received >= int64(size) {
		t.Fatalf("after the cut the server holds %d bytes of %d", received, size)
	}
	sent := cable.sent()
	cable.reconnect()
	var unfinished string
	run("resume after a restart", ctx, chromedp.Navigate(cable.login(srv)), visible("table"), chromedp.Navigate(base+"/upload"),
		text("main", &unfinished),
		chromedp.SetUploadFiles(chromedp.ID("files"), []string{archive}),
		visible(".upload.done .sha256"), text(".upload .sha256", &info), shoot("upload"))
	if !strings.Contains(unfinished, "Unfinished uploads") {
		t.Errorf("the upload page does not list the broken upload:\n%s", unfinished)
	}
	if info != wantSum {
		t.Fatalf("the upload's sha256 is %s, want %s", info, wantSum)
	}
	if resent := cable.sent() - sent; resent > int64(size)-received+int64(size/10) {
		t.Errorf("the resumed upload sent %d bytes for the %d missing: it did not continue", resent, int64(size)-received)
	}
	if got, err := os.ReadFile(filepath.Join(s.dir, "image", filepath.Base(archive))); err != nil || sha256.Sum256(got) != sum {
		t.Fatalf("image/%s is not the archive (%v)", filepath.Base(archive), err)
	}

	// 3. The plan shows the exact bytes that change.
	var del, ins string
	run("plan", ctx, click(".upload.done a.button"), visible(".diff"),
		text(".diff pre.del del", &del), text(".diff pre.ins ins", &ins), shoot("plan"))
	if del != "4.1.70000" || ins != "4.1.76383" {
		t.Fatalf("the plan's first diff marks %q -> %q, want 4.1.70000 -> 4.1.76383", del, ins)
	}

	// 4. Apply; the first tab closes, a second one watches the job to the end.
	var jobURL string
	run("apply", ctx, click("#reviewed"), click("#apply"), visible("#stages li"), chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
		jobURL, err = chromedp.Location()(ctx, t)
		return err
	}))
	cancelTab()
	tab, closeTab := chromedp.NewContext(bctx)
	defer closeTab()
	if err := chromedp.Do(tab); err != nil {
		t.Fatal(err)
	}
	var result string
	run("watch the apply", tab, chromedp.Navigate(jobURL), visible("#final"), text("#result", &result), shoot("apply"))
	if !strings.Contains(result, "Done") || !strings.Contains(result, "updated") {
		t.Fatalf("the apply's result:\n%s", result)
	}
	after := s.waitHealthy(t, 30*time.Second)
	if got := after[eng.Project("ui")+"/console-web"].Image; got != webID {
		t.Fatalf("console-web runs %s after the apply, want %s", got, webID)
	}

	// 5. History: the report downloads; roll back.
	id := regexp.MustCompile(`update (\S+)\.`).FindStringSubmatch(result)
	if id == nil {
		t.Fatalf("no update id in %q", result)
	}
	var report string
	run("history and rollback", tab, chromedp.Navigate(base+"/history"), visible("table"), shoot("history"),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) (err error) {
			report, err = chromedp.Evaluate[string](fmt.Sprintf(`fetch("/history/%s/report.md").then(r => r.text())`, id[1]), chromedp.EvalAwaitPromise)(ctx, t)
			return err
		}),
		click("a.button.danger"), visible(".diff"), shoot("rollback"),
		click("#reviewed"), click("#rollback"), visible("#final"), text("#result", &result))
	if !strings.Contains(report, "# imgup apply "+id[1]) || !strings.Contains(report, "4.1.76383") {
		t.Errorf("the report:\n%s", report)
	}
	if !strings.Contains(result, "Done") {
		t.Fatalf("the rollback's result:\n%s", result)
	}
	after = s.waitHealthy(t, 30*time.Second)
	if got := after[eng.Project("ui")+"/console-web"].Image; got != oldWeb {
		t.Fatalf("console-web runs %s after the rollback, want %s", got, oldWeb)
	}
	if b := s.file(t, "docker-compose.service.yml"); string(s.files["docker-compose.service.yml"]) != b {
		t.Error("docker-compose.service.yml is not as before after the rollback")
	}

	// The same console in Chinese, by its switch.
	var zh string
	run("the console in Chinese", tab, chromedp.Navigate(base+"/?lang=zh"), visible("table"), text("main", &zh), shoot("overview-zh"),
		chromedp.Navigate(base+"/history"), visible("table"), shoot("history-zh"))
	if !strings.Contains(zh, "现在运行的是什么") || !strings.Contains(zh, "全部一致") {
		t.Errorf("the overview in Chinese:\n%s", zh)
	}
	// The overview fits a 1280 px and an 800 px window in both languages: the container
	// and its state are on screen without scrolling sideways.
	for _, w := range []int64{1280, 800} {
		for _, lang := range []string{"en", "zh"} {
			var fits bool
			run(fmt.Sprintf("the overview at %d px in %s", w, lang), tab, chromedp.EmulateViewport(w, 900), chromedp.Navigate(base+"/?lang="+lang), visible("table"),
				evalBool(`(() => { const th = document.querySelectorAll("table.overview th"); return th.length > 2 && th[2].getBoundingClientRect().right <= window.innerWidth; })()`, &fits),
				shoot(fmt.Sprintf("overview-%d-%s", w, lang)))
			if !fits {
				t.Errorf("at %d px in %s the container's state is off screen", w, lang)
			}
		}
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// partSize is how much of an unfinished upload the server holds.
func partSize(t *testing.T, root, name string) int64 {
	st, err := os.Stat(filepath.Join(root, ".imgup", "uploads", name+".part"))
	if err != nil {
		t.Fatalf("no unfinished upload of %s: %v", name, err)
	}
	return st.Size()
}

// cable is a TCP proxy between the browser and the console: it counts the bytes the
// browser sends, and cuts every connection once armed and past a count, as a pulled
// network cable would.
type cable struct {
	addr, to string
	mu       sync.Mutex
	total    int64
	cutAt    int64 // 0: not armed
	down     bool  // cut: new connections are dropped too, until reconnect
	conns    []net.Conn
}

func newCable(t *testing.T, to string) *cable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := &cable{addr: ln.Addr().String(), to: to}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			down := c.down
			c.mu.Unlock()
			if down {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(in, out); in.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := in.Read(buf)
					if n > 0 {
						c.mu.Lock()
						c.total += int64(n)
						cut := c.cutAt > 0 && c.total >= c.cutAt
						c.mu.Unlock()
						if cut {
							c.cut()
							return
						}
						if _, err := out.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						out.Close()
						return
					}
				}
			}()
		}
	}()
	return c
}

// cutAfter arms the cable: n more bytes from the browser, then every connection drops.
func (c *cable) cutAfter(n int64) {
	c.mu.Lock()
	c.cutAt = c.total + n
	c.mu.Unlock()
}

func (c *cable) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cutAt, c.down = 0, true
	for _, x := range c.conns {
		x.Close()
	}
	c.conns = nil
}

// reconnect plugs the cable back in.
func (c *cable) reconnect() {
	c.mu.Lock()
	c.down = false
	c.mu.Unlock()
}

func (c *cable) sent() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// login is the console's login URL through the cable.
func (c *cable) login(p *consoleProc) string {
	u, _ := url.Parse(p.url)
	u.Host = c.addr
	return u.String()
}
