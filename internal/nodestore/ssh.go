package nodestore

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
	"google.golang.org/grpc"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// dialSSH opens an ssh connection to u's host: keys from the agent (SSH_AUTH_SOCK) or
// ~/.ssh/id_*, the host key checked against ~/.ssh/known_hosts, never a password.
func dialSSH(ctx context.Context, u *url.URL) (*ssh.Client, error) {
	home, _ := os.UserHomeDir()
	name := u.User.Username()
	if name == "" {
		if cu, err := user.Current(); err == nil {
			name = cu.Username
		}
	}
	var signers []ssh.Signer
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			defer c.Close()
			if s, err := agent.NewClient(c).Signers(); err == nil {
				signers = append(signers, s...)
			}
		}
	}
	for _, f := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		b, err := os.ReadFile(filepath.Join(home, ".ssh", f))
		if err != nil {
			continue
		}
		if s, err := ssh.ParsePrivateKey(b); err == nil {
			signers = append(signers, s)
		}
	}
	if len(signers) == 0 {
		return nil, i18n.Errorf("ssh: no key: neither an ssh agent (SSH_AUTH_SOCK) nor a key without passphrase in ~/.ssh/id_ed25519, id_ecdsa or id_rsa")
	}
	hostKeys, err := knownhosts.New(filepath.Join(home, ".ssh", "known_hosts"))
	if err != nil {
		return nil, i18n.Errorf("ssh: cannot read known_hosts: %v", err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "22")
	}
	cfg := &ssh.ClientConfig{
		User:            name,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback: hostKeys,
		Timeout:         dialTimeout,
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", host)
	if err != nil {
		return nil, i18n.Errorf("ssh: %v", err)
	}
	// The handshake is bounded too: a host that accepts and then says nothing.
	if dl, ok := dctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, host, cfg)
	if err != nil {
		conn.Close()
		return nil, i18n.Errorf("ssh: %v", err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// sshDialer makes gRPC reach the node's containerd socket through the ssh connection.
func sshDialer(sc *ssh.Client, sock string) []grpc.DialOption {
	return []grpc.DialOption{grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return sc.DialContext(ctx, "unix", sock)
	})}
}
