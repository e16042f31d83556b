package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
)

// Member is one node's engine in a Cluster.
type Member struct {
	// Name is the node's hostname as the swarm lists it.
	Name   string
	Client Client
	// Addr is how imgup reaches it: imgup.yaml's address, or "" for the manager.
	Addr string
}

// Label names the node for a message: "node3 (ssh://ops@10.0.0.3)".
func (m Member) Label() string {
	if m.Addr == "" {
		return m.Name
	}
	return m.Name + " (" + m.Addr + ")"
}

// Members is implemented by a client that speaks for several engines: a delta load
// reads each one's layers.
type Members interface {
	Members() []Member
}

// Cluster is a swarm seen as one engine: the manager answers for the swarm, and every
// reachable node's engine holds images and runs task containers. Images go to every
// node (a load is streamed to all at once); an image is there only when every node
// has it under that name with the same ID; the containers are those of every node
// that belong to a current task (shut-down tasks' containers are history, not what
// runs).
type Cluster struct {
	Manager SwarmClient
	// Engines are the reachable nodes' engines, the manager's included.
	Engines []Member

	mu sync.Mutex
	// lost are the nodes that stopped answering while imgup listed containers, with
	// why; a node answering again is no longer lost.
	lost map[string]string
}

// Lost are the nodes (with their address and error) that did not answer the last
// listing of containers: what runs there is not known. A listing goes on without
// them; only the manager not answering fails it.
func (c *Cluster) Lost() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.Engines {
		if why, ok := c.lost[m.Name]; ok {
			out = append(out, fmt.Sprintf("%s: %s", m.Label(), why))
		}
	}
	return out
}

// IsLost tells whether the node did not answer the last listing.
func (c *Cluster) IsLost(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.lost[name]
	return ok
}

// Member is the member of that node name.
func (c *Cluster) Member(name string) (Member, bool) {
	for _, m := range c.Engines {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// SwarmClient is a client that is also a swarm manager.
type SwarmClient interface {
	Client
	Swarm
}

func (c *Cluster) Members() []Member { return c.Engines }

func (c *Cluster) Info(ctx context.Context) (Info, error) { return c.Manager.Info(ctx) }

func (c *Cluster) SwarmState(ctx context.Context) (string, string, bool, error) {
	return c.Manager.SwarmState(ctx)
}
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) { return c.Manager.Nodes(ctx) }

// Load streams the tar to every node's engine at once: one read, one stream, as many
// copies as nodes. A node that fails fails the load.
func (c *Cluster) Load(ctx context.Context, tar io.Reader) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		refs []string
		err  error
	}
	res := make([]result, len(c.Engines))
	writers := make([]*io.PipeWriter, len(c.Engines))
	ws := make([]io.Writer, len(c.Engines))
	var wg sync.WaitGroup
	for i, m := range c.Engines {
		pr, pw := io.Pipe()
		writers[i], ws[i] = pw, pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			refs, err := m.Client.Load(ctx, pr)
			if err != nil {
				err = fmt.Errorf("node %s: %w", m.Label(), err)
			}
			pr.CloseWithError(errNodeDone)
			res[i] = result{refs, err}
		}()
	}
	_, err := io.Copy(io.MultiWriter(ws...), tar)
	for _, w := range writers {
		w.CloseWithError(err)
	}
	wg.Wait()
	var refs []string
	var errs []error
	seen := map[string]bool{}
	for _, r := range res {
		for _, ref := range r.refs {
			if !seen[ref] {
				seen[ref] = true
				refs = append(refs, ref)
			}
		}
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	if len(errs) > 0 {
		return refs, errors.Join(errs...)
	}
	if err != nil && !errors.Is(err, errNodeDone) {
		return refs, err
	}
	return refs, nil
}

// errNodeDone ends a copy to a node whose engine stopped reading.
var errNodeDone = errors.New("the node's engine stopped reading")

// ImageID is the ID every node has under ref, or "" when a node lacks it or has
// another image under that name.
func (c *Cluster) ImageID(ctx context.Context, ref string) (string, error) {
	id := ""
	for i, m := range c.Engines {
		got, err := m.Client.ImageID(ctx, ref)
		if err != nil {
			return "", fmt.Errorf("node %s: %w", m.Name, err)
		}
		if got == "" || (i > 0 && got != id) {
			return "", nil
		}
		id = got
	}
	return id, nil
}

// NodeImageIDs is, per node, the ID it has under ref ("" when none).
func (c *Cluster) NodeImageIDs(ctx context.Context, ref string) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range c.Engines {
		id, err := m.Client.ImageID(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", m.Name, err)
		}
		out[m.Name] = id
	}
	return out, nil
}

// Images are the manager's images (prune and status read the manager; RemoveImage
// acts on every node).
func (c *Cluster) Images(ctx context.Context) ([]Image, error) { return c.Manager.Images(ctx) }

func (c *Cluster) ImageLayers(ctx context.Context, ref string) ([]string, error) {
	return c.Manager.ImageLayers(ctx, ref)
}

func (c *Cluster) Save(ctx context.Context, refs []string) (io.ReadCloser, error) {
	return c.Manager.Save(ctx, refs)
}

// RemoveImage removes the reference on every node that has it.
func (c *Cluster) RemoveImage(ctx context.Context, ref string) error {
	var errs []error
	for _, m := range c.Engines {
		if id, err := m.Client.ImageID(ctx, ref); err != nil || id == "" {
			continue
		}
		if err := m.Client.RemoveImage(ctx, ref); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", m.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Containers are every node's containers, inspected, with Node set; a swarm task's
// container is listed only while its task is meant to run.
func (c *Cluster) Containers(ctx context.Context) ([]Container, error) {
	return c.gather(ctx, func(ctx context.Context, cl Client) ([]Container, error) { return cl.Containers(ctx) })
}

// ContainerStates is Containers for polling: one call per node.
func (c *Cluster) ContainerStates(ctx context.Context) ([]Container, error) {
	return c.gather(ctx, func(ctx context.Context, cl Client) ([]Container, error) { return cl.ContainerStates(ctx) })
}

func (c *Cluster) gather(ctx context.Context, list func(context.Context, Client) ([]Container, error)) ([]Container, error) {
	current, err := c.currentTasks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([][]Container, len(c.Engines))
	errs := make([]error, len(c.Engines))
	var wg sync.WaitGroup
	for i, m := range c.Engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A node whose connection hangs (packets dropped) is lost after a while,
			// not waited for.
			nctx, cancel := context.WithTimeout(ctx, nodeListTimeout)
			defer cancel()
			cs, err := list(nctx, m.Client)
			if err != nil {
				errs[i] = fmt.Errorf("node %s: %w", m.Label(), err)
				return
			}
			for _, ct := range cs {
				if task := ct.Labels[LabelSwarmTask]; task != "" && !current[task] {
					continue
				}
				ct.Node = m.Name
				out[i] = append(out[i], ct)
			}
		}()
	}
	wg.Wait()
	c.mu.Lock()
	for i, m := range c.Engines {
		switch {
		case errs[i] != nil && any(m.Client) == any(c.Manager):
			c.mu.Unlock()
			return nil, errs[i]
		case errs[i] != nil:
			if c.lost == nil {
				c.lost = map[string]string{}
			}
			c.lost[m.Name] = FirstLine(errors.Unwrap(errs[i]).Error())
		default:
			delete(c.lost, m.Name)
		}
	}
	c.mu.Unlock()
	var all []Container
	for _, cs := range out {
		all = append(all, cs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all, nil
}

// nodeListTimeout bounds one node's answer to a listing of its containers.
const nodeListTimeout = 15 * time.Second

// currentTasks are the IDs of the tasks the swarm means to run: one call to the
// manager, as the downtime watch asks four times a second.
func (c *Cluster) currentTasks(ctx context.Context) (map[string]bool, error) {
	ts, err := c.Manager.Tasks(ctx, "")
	if err != nil {
		return nil, i18n.Errorf("the swarm manager: %w", err)
	}
	cur := map[string]bool{}
	for _, t := range ts {
		if t.DesiredState == "running" {
			cur[t.ID] = true
		}
	}
	return cur, nil
}

// Logs asks each node for the container until one has it (a lost node is skipped).
func (c *Cluster) Logs(ctx context.Context, id string, lines int) (string, error) {
	last := errors.New("no node has container " + ShortID(id))
	for _, m := range c.Engines {
		c.mu.Lock()
		_, lost := c.lost[m.Name]
		c.mu.Unlock()
		if lost {
			continue
		}
		s, err := m.Client.Logs(ctx, id, lines)
		if err == nil {
			return s, nil
		}
		last = err
	}
	return "", last
}

func (c *Cluster) Services(ctx context.Context, stack string) ([]Service, error) {
	return c.Manager.Services(ctx, stack)
}

func (c *Cluster) Tasks(ctx context.Context, serviceID string) ([]Task, error) {
	return c.Manager.Tasks(ctx, serviceID)
}

// Close closes every node's client (the manager's among them).
func (c *Cluster) Close() error {
	var errs []error
	closed := false
	for _, m := range c.Engines {
		if any(m.Client) == any(c.Manager) {
			closed = true
		}
		errs = append(errs, m.Client.Close())
	}
	if !closed {
		errs = append(errs, c.Manager.Close())
	}
	return errors.Join(errs...)
}
