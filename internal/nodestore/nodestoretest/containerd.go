// Package nodestoretest starts private containerd daemons (Debian's containerd 1.6 at
// /usr/bin/containerd) for tests: each with its own root, state and socket under a
// temporary folder, the native snapshotter, and no CRI plugin. It never touches the
// machine's own containerd at /run/containerd.
package nodestoretest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Daemon is one private containerd.
type Daemon struct {
	Dir  string
	Sock string
	// Addr is what nodestore.Dial takes: unix://SOCK.
	Addr string
}

// Start runs a private containerd as a node; the test's cleanup stops it.
func Start(t testing.TB) *Daemon {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("a private containerd needs root")
	}
	bin, err := exec.LookPath("containerd")
	if err != nil {
		t.Fatal("containerd is not installed (apt-get install containerd)")
	}
	// A short folder: a unix socket's path is limited to 107 bytes.
	dir, err := os.MkdirTemp("", "imgup-ctrd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Dir: dir, Sock: filepath.Join(dir, "c.sock")}
	d.Addr = "unix://" + d.Sock
	disabled := []string{"io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs",
		"io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["%s"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), strings.Join(disabled, `", "`), d.Sock, d.Sock+".ttrpc", filepath.Join(dir, "opt"))
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log.Close()
		if os.Getenv("IMGUP_TEST_KEEP") == "" {
			os.RemoveAll(dir)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.Dial("unix", d.Sock); err == nil {
			c.Close()
			return d
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Fatalf("containerd ended at start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not open %s in 15 s", d.Sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Ctr runs ctr against the daemon in namespace k8s.io and returns its output.
func (d *Daemon) Ctr(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ctr", append([]string{"-a", d.Sock, "-n", "k8s.io"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
