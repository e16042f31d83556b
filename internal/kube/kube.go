// Package kube is imgup's narrow seam to a Kubernetes cluster: the API (client-go:
// pods, workloads, logs) and each node's containerd (internal/nodestore). Cluster is
// an engine.Client, as engine.Cluster is for a swarm, so the stages take a cluster
// like an engine: Load imports into every node's containerd (each node its own
// delta), ImageID is an image every node holds, Containers are the pods' containers.
package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/nodestore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// Config says which cluster and namespace: a kubeconfig file ("" for client-go's
// default rules: KUBECONFIG, ~/.kube/config), a context in it, the namespace.
type Config struct {
	Kubeconfig, Context, Namespace string
	// Snapshotter is the one the kubelet's containerd unpacks with ("" for
	// containerd's default).
	Snapshotter string
}

// Node is a cluster node: how imgup reaches its containerd, or why it cannot.
type Node struct {
	Name string
	// Addr is its containerd's address from imgup.yaml's nodes:.
	Addr string
	// Schedulable: Ready and not cordoned, so pods may be placed there.
	Schedulable bool
	// Err says why imgup cannot reach it ("" when Store is set).
	Err   string
	Store *nodestore.Node
	// Labels and Taints decide which workloads' pods it may run (Placement).
	Labels map[string]string
	Taints []corev1.Taint
}

// Cluster is a Kubernetes namespace seen as one engine.
type Cluster struct {
	core   coreAPI
	apps   appsAPI
	host   string
	NS     string
	Config Config
	Nodes  []*Node

	// Qualified are the workload names two kinds share: their pods' service is
	// kind/name ("deployment/web"), as the deployment names them.
	Qualified map[string]bool

	mu sync.Mutex
	// writes are what the last load wrote to each node.
	writes []engine.NodeWrite
	// pods maps a container's ID to its pod and name, from the last listing (Logs).
	pods map[string][2]string
}

// Dial reads the kubeconfig, lists the cluster's nodes, and dials each node's
// containerd at the address addrs (imgup.yaml's nodes:) gives it. A node imgup
// cannot reach is said in its Err, not an error.
func Dial(ctx context.Context, cfg Config, addrs map[string]string) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cfg.Kubeconfig != "" {
		rules.ExplicitPath = cfg.Kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cfg.Context}).ClientConfig()
	if err != nil {
		return nil, i18n.Errorf("the kubeconfig: %v", err)
	}
	rc.Timeout = 30 * time.Second
	// client-go's default limit (5 requests a second, bursts of 10) spaced the
	// verification's passes 3.6 s apart while the downtime watch polled: imgup's
	// reads of one namespace are few and bounded, so the limit is lifted.
	rc.QPS, rc.Burst = 100, 200
	core, apps, err := newAPIs(rc)
	if err != nil {
		return nil, err
	}
	c := &Cluster{core: core, apps: apps, host: rc.Host, NS: cfg.Namespace, Config: cfg}
	if c.NS == "" {
		c.NS = "default"
	}
	nodes, err := core.Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, i18n.Errorf("the Kubernetes API at %s: %v", rc.Host, err)
	}
	var wg sync.WaitGroup
	for _, kn := range nodes.Items {
		n := &Node{Name: kn.Name, Addr: addrs[kn.Name], Schedulable: ready(kn) && !kn.Spec.Unschedulable, Labels: kn.Labels, Taints: kn.Spec.Taints}
		c.Nodes = append(c.Nodes, n)
		if n.Addr == "" {
			n.Err = "imgup.yaml names no address for it (nodes: " + n.Name + ": unix:///run/containerd/containerd.sock or ssh://user@host/run/containerd/containerd.sock)"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := nodestore.Dial(ctx, n.Addr)
			if err != nil {
				n.Err = engine.FirstLine(err.Error())
				return
			}
			n.Store = s
		}()
	}
	wg.Wait()
	sort.Slice(c.Nodes, func(i, j int) bool { return c.Nodes[i].Name < c.Nodes[j].Name })
	return c, nil
}

func ready(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// reached are the nodes whose containerd imgup reaches.
func (c *Cluster) reached() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Store != nil {
			out = append(out, n)
		}
	}
	return out
}

// SelfDelta: Load's import asks each node which blobs it has.
func (c *Cluster) SelfDelta() {}

var _ engine.SelfDelta = (*Cluster)(nil)

func (c *Cluster) Info(ctx context.Context) (engine.Info, error) {
	// Containerd: a load needs every layer of the stream; the import sends each
	// node only the blobs it lacks itself.
	return engine.Info{Host: c.host, ServerVersion: "kubernetes", Containerd: true}, nil
}

// Load imports one docker-save tar into every reachable node's containerd, each node
// sent the blobs it lacks, and pins the images (and the others of the same
// repositories, which a rollback needs) against the kubelet's image cleanup.
func (c *Cluster) Load(ctx context.Context, tar io.Reader) ([]string, error) {
	nodes := c.reached()
	if len(nodes) == 0 {
		return nil, i18n.Errorf("imgup reaches no node's containerd: give each node's address in imgup.yaml (nodes:)")
	}
	stores := make([]*nodestore.Node, len(nodes))
	for i, n := range nodes {
		stores[i] = n.Store
	}
	res, err := nodestore.ImportTar(ctx, stores, tar, nodestore.ImportOptions{Snapshotter: c.Config.Snapshotter})
	if err != nil {
		return nil, err
	}
	var refs []string
	repos := map[string]bool{}
	var writes []engine.NodeWrite
	for _, r := range res {
		writes = append(writes, engine.NodeWrite{Node: r.Node, Written: r.Written, Missing: r.Missing, Skipped: r.Skipped})
		for _, img := range r.Images {
			if !contains(refs, img.Name) {
				refs = append(refs, img.Name)
			}
			if n, err := reference.ParseNormalizedNamed(img.Name); err == nil {
				repos[n.Name()] = true
			}
		}
	}
	c.mu.Lock()
	c.writes = writes
	c.mu.Unlock()
	return refs, c.pin(ctx, repos)
}

// LastWrites is what the last load wrote to each node's containerd.
func (c *Cluster) LastWrites() []engine.NodeWrite {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// pin pins, on every node, every image of those repositories: the new version and
// the one it replaces.
func (c *Cluster) pin(ctx context.Context, repos map[string]bool) error {
	var errs []error
	for _, n := range c.reached() {
		imgs, err := nodestore.Images(ctx, n.Store)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for name := range imgs {
			if r, err := reference.ParseNormalizedNamed(name); err == nil && repos[r.Name()] {
				if err := nodestore.Pin(ctx, n.Store, name); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// containerdName is the name the CRI gives an image: docker.io/library/redis:7.
func containerdName(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(n).String()
}

// NodeImageIDs is, per node, the config digest it holds under ref ("" when none or
// when imgup cannot reach the node).
func (c *Cluster) NodeImageIDs(ctx context.Context, ref string) (map[string]string, error) {
	name := containerdName(ref)
	out := map[string]string{}
	for _, n := range c.Nodes {
		out[n.Name] = ""
		if n.Store == nil {
			continue
		}
		imgs, err := nodestore.Images(ctx, n.Store)
		if err != nil {
			return nil, err
		}
		if d, ok := imgs[name]; ok {
			out[n.Name] = d.String()
		}
		if strings.HasPrefix(ref, "sha256:") {
			// An image ID, as Docker takes one: any image with that config.
			for _, d := range imgs {
				if d.String() == ref {
					out[n.Name] = ref
				}
			}
		}
	}
	return out, nil
}

// NodeImages are the images node n's containerd holds: name -> config digest.
func (c *Cluster) NodeImages(ctx context.Context, n *Node) (map[string]string, error) {
	if n.Store == nil {
		return nil, nil
	}
	imgs, err := nodestore.Images(ctx, n.Store)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(imgs))
	for name, d := range imgs {
		out[name] = d.String()
	}
	return out, nil
}

// ImageID is the config digest of ref only when every node pods may be placed on
// holds it (an unreachable one among them: "").
func (c *Cluster) ImageID(ctx context.Context, ref string) (string, error) {
	ids, err := c.NodeImageIDs(ctx, ref)
	if err != nil {
		return "", err
	}
	id := ""
	for _, n := range c.Nodes {
		if !n.Schedulable {
			continue
		}
		got := ids[n.Name]
		if got == "" || (id != "" && got != id) {
			return "", nil
		}
		id = got
	}
	return id, nil
}

// Images are the first reachable node's images.
func (c *Cluster) Images(ctx context.Context) ([]engine.Image, error) {
	nodes := c.reached()
	if len(nodes) == 0 {
		return nil, nil
	}
	imgs, err := nodestore.Images(ctx, nodes[0].Store)
	if err != nil {
		return nil, err
	}
	byID := map[string]*engine.Image{}
	var out []engine.Image
	for name, d := range imgs {
		img := byID[d.String()]
		if img == nil {
			img = &engine.Image{ID: d.String()}
			byID[d.String()] = img
		}
		img.Tags = append(img.Tags, name)
	}
	for _, img := range byID {
		out = append(out, *img)
	}
	return out, nil
}

var errNotHere = errors.New("not on a Kubernetes cluster")

func (c *Cluster) ImageLayers(ctx context.Context, ref string) ([]string, error) {
	return nil, errNotHere
}

func (c *Cluster) Save(ctx context.Context, refs []string) (io.ReadCloser, error) {
	return nil, errNotHere
}

// RemoveImage removes the name on every reachable node that has it.
func (c *Cluster) RemoveImage(ctx context.Context, ref string) error {
	name := containerdName(ref)
	var errs []error
	for _, n := range c.reached() {
		imgs, err := nodestore.Images(ctx, n.Store)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, ok := imgs[name]; ok {
			errs = append(errs, nodestore.Remove(ctx, n.Store, name))
		}
	}
	return errors.Join(errs...)
}

// Close closes every node's connection.
func (c *Cluster) Close() error {
	var errs []error
	for _, n := range c.reached() {
		errs = append(errs, n.Store.Close())
	}
	return errors.Join(errs...)
}

// Logs is the last lines of a pod's container, through the API.
func (c *Cluster) Logs(ctx context.Context, id string, lines int) (string, error) {
	c.mu.Lock()
	pc, ok := c.pods[id]
	c.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("no pod has container %s", engine.ShortID(id))
	}
	return c.logs(ctx, pc[0], pc[1], lines, false)
}

func (c *Cluster) logs(ctx context.Context, pod, container string, lines int, previous bool) (string, error) {
	n := int64(lines)
	b, err := c.core.Pods(c.NS).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &n, Previous: previous}).DoRaw(ctx)
	return string(b), err
}
