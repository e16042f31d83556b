package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// DialNode connects to one swarm node's engine at addr: unix:///path, tcp://host:port,
// or ssh://[user@]host[:port], which goes through the system's ssh client and
// `docker system dial-stdio` on the node, as the docker CLI does (keys and
// known_hosts are ssh's own; imgup never asks for a password: BatchMode).
func DialNode(ctx context.Context, addr string) (*Docker, error) {
	if !strings.HasPrefix(addr, "ssh://") {
		d, err := Dial(ctx, func(k string) string {
			if k == "DOCKER_HOST" {
				return addr
			}
			return ""
		})
		var u *Unreachable
		if errors.As(err, &u) {
			u.Host, u.Node = addr, true
		}
		return d, err
	}
	u, err := url.Parse(addr)
	if err != nil || u.Hostname() == "" {
		return nil, i18n.Errorf("%s: not an ssh://[user@]host[:port] address", addr)
	}
	// ConnectTimeout: a node whose packets are dropped is said in seconds, by ssh.
	args := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=" + strconv.Itoa(sshConnectTimeout)}
	if u.Port() != "" {
		args = append(args, "-p", u.Port())
	}
	target := u.Hostname()
	if u.User != nil && u.User.Username() != "" {
		target = u.User.Username() + "@" + target
	}
	args = append(args, "--", target, "docker", "system", "dial-stdio")
	said := &tailBuffer{}
	c, err := client.New(client.WithHost("http://"+u.Hostname()), client.WithDialContext(func(ctx context.Context, _, _ string) (net.Conn, error) {
		cmd := exec.Command("ssh", args...)
		cmd.Stderr = said
		return dialCommand(cmd)
	}))
	if err != nil {
		return nil, err
	}
	d := &Docker{c: c}
	pctx, cancel := context.WithTimeout(ctx, time.Duration(sshConnectTimeout+10)*time.Second)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		if s := said.String(); s != "" {
			// ssh's own words say why (refused, timed out, host key, permission).
			err = fmt.Errorf("%w; ssh said: %s", err, s)
		}
		return nil, &Unreachable{Host: addr, Err: err, Node: true}
	}
	return d, nil
}

// sshConnectTimeout is ssh's ConnectTimeout for a node, in seconds.
const sshConnectTimeout = 5

// tailBuffer keeps the last lines a child wrote to its stderr.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2048 {
		t.buf = t.buf[len(t.buf)-2048:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(t.buf)), "\n", " / ")), " ")
}

// cmdConn is a command's stdin and stdout as a connection.
type cmdConn struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  io.ReadCloser
	once sync.Once
}

func dialCommand(cmd *exec.Cmd) (net.Conn, error) {
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &cmdConn{cmd: cmd, in: in, out: out}, nil
}

func (c *cmdConn) Read(p []byte) (int, error)  { return c.out.Read(p) }
func (c *cmdConn) Write(p []byte) (int, error) { return c.in.Write(p) }
func (c *cmdConn) Close() error {
	c.once.Do(func() {
		c.in.Close()
		c.out.Close()
		if c.cmd.Process != nil {
			c.cmd.Process.Kill()
		}
		c.cmd.Wait()
	})
	return nil
}
func (c *cmdConn) LocalAddr() net.Addr                { return cmdAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr               { return cmdAddr{} }
func (c *cmdConn) SetDeadline(t time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return nil }

type cmdAddr struct{}

func (cmdAddr) Network() string { return "cmd" }
func (cmdAddr) String() string  { return "ssh" }
