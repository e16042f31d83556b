//go:build e2e

package nodestore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
	"github.com/encoo-tools/imgup/internal/nodestore/nodestoretest"
)

// sshServer is an ssh server in the test that lets the holder of user's key open
// direct-streamlocal channels (what `ssh -L` to a unix socket opens): a node's sshd.
func sshServer(t *testing.T, user ssh.PublicKey) (addr string, host ssh.PublicKey) {
	t.Helper()
	_, hk, _ := ed25519.GenerateKey(rand.Reader)
	hs, err := ssh.NewSignerFromKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if bytes.Equal(k.Marshal(), user.Marshal()) {
			return nil, nil
		}
		return nil, io.EOF
	}}
	cfg.AddHostKey(hs)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for nc := range chans {
					var p struct {
						Path string
						R0   string
						R1   uint32
					}
					if nc.ChannelType() != "direct-streamlocal@openssh.com" || ssh.Unmarshal(nc.ExtraData(), &p) != nil {
						nc.Reject(ssh.UnknownChannelType, "no")
						continue
					}
					u, err := net.Dial("unix", p.Path)
					if err != nil {
						nc.Reject(ssh.ConnectionFailed, err.Error())
						continue
					}
					ch, creqs, err := nc.Accept()
					if err != nil {
						u.Close()
						continue
					}
					go ssh.DiscardRequests(creqs)
					go func() { io.Copy(ch, u); ch.CloseWrite() }()
					go func() { io.Copy(u, ch); u.Close() }()
				}
			}()
		}
	}()
	return l.Addr().String(), hs.PublicKey()
}

// A node over ssh: the key from ~/.ssh, the host key checked against known_hosts, the
// containerd socket dialed through the connection; a wrong host key or a missing socket
// fails naming the node and saying ssh's reason.
func TestDialSSH(t *testing.T) {
	ctx := context.Background()
	d := nodestoretest.Start(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), pem.EncodeToMemory(block), 0o600)
	userKey, _ := ssh.NewPublicKey(pub)
	addr, hostKey := sshServer(t, userKey)
	knownHosts := func(k ssh.PublicKey) {
		os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, k)+"\n"), 0o600)
	}
	knownHosts(hostKey)
	url := "ssh://tester@" + addr + d.Sock
	n, err := Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !strings.HasPrefix(n.Version, "1.") {
		t.Errorf("version %q", n.Version)
	}
	// An import streams through the ssh connection like through a local socket.
	img, err := random.Image(1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.tar")
	os.WriteFile(path, archivetest.Classic(t, []archivetest.Image{{Img: img, Tags: []string{"acme/ssh:1"}}}, nil), 0o644)
	res, err := Import(ctx, []*Node{n}, path, ImportOptions{Snapshotter: "native"})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := Images(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if id := archivetest.ID(t, img); imgs["docker.io/acme/ssh:1"].String() != id || res[0].Written < 2<<20 {
		t.Errorf("over ssh: %v, %+v; want config %s", imgs, res[0], id)
	}
	if _, err := Dial(ctx, "ssh://tester@"+addr+"/nonexistent.sock"); err == nil || !strings.HasPrefix(err.Error(), "node ssh://tester@"+addr+"/nonexistent.sock: no containerd at /nonexistent.sock") {
		t.Errorf("missing socket: %v", err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	wrong, _ := ssh.NewSignerFromKey(other)
	knownHosts(wrong.PublicKey())
	if _, err := Dial(ctx, url); err == nil || !strings.HasPrefix(err.Error(), "node "+url+": ssh: ") || !strings.Contains(err.Error(), "key mismatch") {
		t.Errorf("wrong host key: %v", err)
	}
}
