// Package nodestore is each Kubernetes node's image store: the containerd that the
// kubelet asks for images, reached through its socket (local, or over ssh), in the
// namespace k8s.io. One small function per node operation, the node first: Dial, Have,
// Import, Images, Pin, Unpin, Remove. A cluster is a list of nodes; a loop over them
// reads like the runbook. Nothing here knows Kubernetes.
//
// Import writes to each node only the blobs that node's content store lacks (asked by
// digest, content.Info), then the config, a manifest with containerd's garbage-collection
// labels, and an image record the kubelet sees (io.cri-containerd.image=managed,
// pinned), unpacked with the node's snapshotter. No registry digest ref is made, so the
// kubelet reports the config digest as the image ID.
package nodestore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	apitypes "github.com/containerd/containerd/api/types"
	containerd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/ssh"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// Namespace is where the kubelet's CRI keeps its images.
const Namespace = "k8s.io"

// Labels the CRI plugin reads on an image record.
const (
	// LabelManaged marks an image the CRI plugin lists to the kubelet.
	LabelManaged = "io.cri-containerd.image"
	// LabelPinned keeps an image from the kubelet's image garbage collection.
	LabelPinned = "io.cri-containerd.pinned"
)

// dialTimeout bounds connecting to a node (ssh handshake, first gRPC answer).
const dialTimeout = 5 * time.Second

// Node is one node's containerd.
type Node struct {
	// Addr is the address it was dialed at; errors name the node by it.
	Addr string
	// Version is the containerd daemon's version ("1.6.20~ds1").
	Version string
	c       *containerd.Client
	ssh     *ssh.Client
	// platform is what the node runs (its task runtime's platforms): an ssh node may be
	// arm64 when imgup runs on amd64.
	platform platforms.MatchComparer
}

func (n *Node) String() string { return n.Addr }

// Close ends the node's connections.
func (n *Node) Close() error {
	err := n.c.Close()
	if n.ssh != nil {
		n.ssh.Close()
	}
	return err
}

// fail names the node in err, once.
func (n *Node) fail(err error) error {
	var ne *nodeError
	if err == nil || errors.As(err, &ne) {
		return err
	}
	return &nodeError{addr: n.Addr, err: err}
}

type nodeError struct {
	addr string
	err  error
}

func (e *nodeError) Error() string { return i18n.Errorf("node %s: %w", e.addr, e.err).Error() }
func (e *nodeError) Unwrap() error { return e.err }

// In is the error in tr's language.
func (e *nodeError) In(tr *i18n.Printer) string {
	return i18n.Localize(tr, i18n.Errorf("node %s: %w", e.addr, e.err))
}

// Dial connects to a node's containerd: unix:///run/containerd/containerd.sock (or
// k3s's /run/k3s/containerd/containerd.sock), or ssh://user@host[:port]/path/to.sock,
// whose socket is dialed through the ssh connection. It asks the daemon its version, so
// a node that does not answer fails here.
func Dial(ctx context.Context, addr string) (*Node, error) {
	n := &Node{Addr: addr}
	opts := []containerd.Opt{containerd.WithDefaultNamespace(Namespace), containerd.WithTimeout(dialTimeout)}
	var sock string
	switch {
	case strings.HasPrefix(addr, "unix://"):
		sock = strings.TrimPrefix(addr, "unix://")
	case strings.HasPrefix(addr, "/"):
		sock = addr
	case strings.HasPrefix(addr, "ssh://"):
		u, err := url.Parse(addr)
		if err != nil || u.Host == "" || u.Path == "" {
			return nil, n.fail(i18n.Errorf("not an ssh://user@host[:port]/path/to/containerd.sock address"))
		}
		sc, err := dialSSH(ctx, u)
		if err != nil {
			return nil, n.fail(err)
		}
		n.ssh, sock = sc, u.Path
		opts = append(opts, containerd.WithExtraDialOpts(sshDialer(sc, u.Path)))
	default:
		return nil, n.fail(i18n.Errorf("not a containerd address: use unix:///path/to/containerd.sock or ssh://user@host/path/to/containerd.sock"))
	}
	// The socket first: a missing or refusing socket is said at once, in the system's
	// words, not after gRPC's wait for a connection.
	var probe net.Conn
	var err error
	if n.ssh != nil {
		probe, err = n.ssh.Dial("unix", sock)
	} else {
		probe, err = net.DialTimeout("unix", sock, dialTimeout)
	}
	if err != nil {
		if n.ssh != nil {
			n.ssh.Close()
		}
		return nil, n.fail(i18n.Errorf("no containerd at %s: %v", sock, err))
	}
	probe.Close()
	c, err := containerd.New(sock, opts...)
	if err != nil {
		if n.ssh != nil {
			n.ssh.Close()
		}
		return nil, n.fail(err)
	}
	n.c = c
	vctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	v, err := c.Version(vctx)
	if err != nil {
		n.Close()
		return nil, n.fail(i18n.Errorf("containerd does not answer at %s: %v", sock, err))
	}
	n.Version = v.Version
	n.platform = platforms.Default()
	// The filter's comma is an AND in containerd's filter syntax.
	if resp, err := c.IntrospectionService().Plugins(vctx, "type==io.containerd.runtime.v2,id==task"); err == nil && len(resp.Plugins) > 0 {
		if ps := apitypes.OCIPlatformFromProto(resp.Plugins[0].Platforms); len(ps) > 0 {
			n.platform = platforms.Ordered(ps...)
		}
	}
	return n, nil
}

// Have says which of digests the node's content store holds (content.Info by digest).
func Have(ctx context.Context, n *Node, digests []digest.Digest) (map[digest.Digest]bool, error) {
	out := make(map[digest.Digest]bool, len(digests))
	cs := n.c.ContentStore()
	for _, d := range digests {
		ok, err := has(ctx, cs, d)
		if err != nil {
			return nil, n.fail(err)
		}
		out[d] = ok
	}
	return out, nil
}

func has(ctx context.Context, cs content.Store, d digest.Digest) (bool, error) {
	_, err := cs.Info(ctx, d)
	switch {
	case err == nil:
		return true, nil
	case errdefs.IsNotFound(err):
		return false, nil
	}
	return false, err
}

// Images lists the node's images: name -> config digest (the image ID the kubelet
// reports). An image whose manifest or config is not in the store is left out.
func Images(ctx context.Context, n *Node) (map[string]digest.Digest, error) {
	imgs, err := n.c.ImageService().List(ctx)
	if err != nil {
		return nil, n.fail(err)
	}
	out := make(map[string]digest.Digest, len(imgs))
	for _, img := range imgs {
		cfg, err := img.Config(ctx, n.c.ContentStore(), n.platform)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, n.fail(fmt.Errorf("%s: %w", img.Name, err))
		}
		out[img.Name] = cfg.Digest
	}
	return out, nil
}

// Pin keeps the image from the kubelet's image garbage collection.
func Pin(ctx context.Context, n *Node, name string) error {
	return n.fail(setLabel(ctx, n, name, LabelPinned, "pinned"))
}

// Unpin gives the image back to the kubelet's image garbage collection.
func Unpin(ctx context.Context, n *Node, name string) error {
	return n.fail(setLabel(ctx, n, name, LabelPinned, ""))
}

func setLabel(ctx context.Context, n *Node, name, key, value string) error {
	is := n.c.ImageService()
	img, err := is.Get(ctx, name)
	if err != nil {
		return err
	}
	if img.Labels == nil {
		img.Labels = map[string]string{}
	}
	if value == "" {
		delete(img.Labels, key)
	} else {
		img.Labels[key] = value
	}
	_, err = is.Update(ctx, img, "labels."+key)
	return err
}

// Remove deletes the image record; containerd's garbage collection then frees the
// blobs and snapshots no other image uses.
func Remove(ctx context.Context, n *Node, name string) error {
	return n.fail(n.c.ImageService().Delete(ctx, name, images.SynchronousDelete()))
}
