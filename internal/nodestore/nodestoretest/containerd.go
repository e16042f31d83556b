// Package nodestoretest starts private containerd daemons (Debian's containerd 1.6 at
// /usr/bin/containerd) for tests: each with its own root, state and socket under a
// temporary folder, the native snapshotter, and no CRI plugin. It never touches the
// machine's own containerd at /run/containerd.
package nodestoretest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
)

// Daemon is one private containerd.
type Daemon struct {
	Dir  string
	Sock string
	// Addr is what nodestore.Dial takes: unix://SOCK.
	Addr string
}

// Start runs a private containerd as a node, without the CRI plugin; the test's
// cleanup stops it.
func Start(t testing.TB) *Daemon { t.Helper(); return start(t, false) }

// StartCRI runs a private containerd with its CRI plugin (native snapshotter, no CNI,
// no pause image: enough to list images as the kubelet does, not to run pods).
func StartCRI(t testing.TB) *Daemon { t.Helper(); return start(t, true) }

func start(t testing.TB, cri bool) *Daemon {
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
	disabled := []string{"io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
		"io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs",
		"io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"}
	if !cri {
		disabled = append(disabled, "io.containerd.grpc.v1.cri")
	}
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
	if cri {
		cfg += fmt.Sprintf(`[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "imgup.invalid/pause:1"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
`, filepath.Join(dir, "cni", "bin"), filepath.Join(dir, "cni", "conf"))
	}
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

// CRIImage is an image as the CRI plugin lists it to the kubelet.
type CRIImage struct {
	ID          string
	RepoTags    []string
	RepoDigests []string
	Pinned      bool
}

// CRIImages asks the daemon's CRI plugin (StartCRI) for its images, as the kubelet's
// ListImages does (runtime.v1.ImageService). The messages are read with protowire: a
// test needs four fields, not the CRI API module.
func (d *Daemon) CRIImages(t testing.TB) []CRIImage {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+d.Sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var resp []byte
	if err := conn.Invoke(ctx, "/runtime.v1.ImageService/ListImages", []byte{}, &resp, grpc.ForceCodec(rawCodec{})); err != nil {
		t.Fatalf("CRI ListImages: %v", err)
	}
	var out []CRIImage
	for _, img := range fields(t, resp)[1] { // ListImagesResponse.images = 1
		var ci CRIImage
		f := fields(t, img)
		if v := f[1]; len(v) > 0 { // Image.id = 1
			ci.ID = string(v[0])
		}
		for _, v := range f[2] { // repo_tags = 2
			ci.RepoTags = append(ci.RepoTags, string(v))
		}
		for _, v := range f[3] { // repo_digests = 3
			ci.RepoDigests = append(ci.RepoDigests, string(v))
		}
		ci.Pinned = len(f[8]) > 0 && len(f[8][0]) > 0 && f[8][0][0] == 1 // pinned = 8
		out = append(out, ci)
	}
	return out
}

// fields splits a protobuf message into its fields' raw values, by number.
func fields(t testing.TB, b []byte) map[protowire.Number][][]byte {
	t.Helper()
	out := map[protowire.Number][][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("CRI answer: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			var x uint64
			x, n = protowire.ConsumeVarint(b)
			v = []byte{byte(x)}
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			t.Fatalf("CRI answer: %v", protowire.ParseError(n))
		}
		b = b[n:]
		out[num] = append(out[num], v)
	}
	return out
}

// rawCodec sends and receives messages as bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }
