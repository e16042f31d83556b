package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/moby/moby/client"
)

// Docker is the real engine.
type Docker struct {
	c *client.Client
}

// Dial connects to the engine that getenv's DOCKER_HOST names (else the local socket),
// with DOCKER_CERT_PATH's TLS files and DOCKER_API_VERSION when set, and checks that it
// answers. The front end passes the environment; this package never reads it.
func Dial(ctx context.Context, getenv func(string) string) (*Docker, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var opts []client.Opt
	host := getenv("DOCKER_HOST")
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	if p := getenv("DOCKER_CERT_PATH"); p != "" {
		opts = append(opts, client.WithTLSClientConfig(filepath.Join(p, "ca.pem"), filepath.Join(p, "cert.pem"), filepath.Join(p, "key.pem")))
	}
	if v := getenv("DOCKER_API_VERSION"); v != "" {
		opts = append(opts, client.WithAPIVersion(v))
	}
	c, err := client.New(opts...)
	if err != nil {
		return nil, i18n.Errorf("cannot set up the Docker client: %w (check DOCKER_HOST, DOCKER_CERT_PATH)", err)
	}
	d := &Docker{c: c}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		c.Close()
		return nil, unreachable(c.DaemonHost(), host, err)
	}
	return d, nil
}

// Unreachable is returned when no engine answers.
type Unreachable struct {
	Host string
	Err  error
	// Node: Host is a swarm node's address from imgup.yaml's nodes:, not DOCKER_HOST.
	Node bool
}

func (e *Unreachable) Error() string { return e.In(i18n.EN) }

// In is the error in tr's language.
func (e *Unreachable) In(tr *i18n.Printer) string {
	hint := tr.T("is dockerd running (systemctl status docker)? is DOCKER_HOST right?")
	if e.Node {
		hint = tr.T("is dockerd running on the node, and is its address in imgup.yaml (nodes:) right?")
	}
	if strings.Contains(e.Err.Error(), "permission denied") {
		hint = tr.T("run as root or as a member of the docker group")
	} else if strings.Contains(e.Err.Error(), "not supported") {
		hint = tr.T("imgup needs Docker Engine 19.03 (API 1.40) or later")
	}
	var cause error = e.Err
	var op *net.OpError
	if errors.As(e.Err, &op) {
		cause = op // "dial unix /var/run/docker.sock: connect: permission denied"
	}
	return tr.Sprintf("cannot reach the Docker engine at %s: %v; %s", e.Host, FirstLine(cause.Error()), hint)
}

func (e *Unreachable) Unwrap() error { return e.Err }

func unreachable(host, env string, err error) error {
	if env != "" {
		host = env + " (DOCKER_HOST)"
	}
	return &Unreachable{Host: host, Err: err}
}

// FirstLine is the first line of an error message: imgup reports an error in one line,
// whatever a library below it wrote.
func FirstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func (d *Docker) Close() error { return d.c.Close() }

func (d *Docker) Info(ctx context.Context) (Info, error) {
	r, err := d.c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return Info{}, err
	}
	info := Info{Host: d.c.DaemonHost(), ServerVersion: r.Info.ServerVersion, APIVersion: d.c.ClientVersion(), RootDir: r.Info.DockerRootDir}
	for _, kv := range r.Info.DriverStatus {
		if len(kv) == 2 && kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			info.Containerd = true
		}
	}
	return info, nil
}

// message is one line of the engine's JSON message stream.
type message struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

func (d *Docker) Load(ctx context.Context, tar io.Reader) ([]string, error) {
	res, err := d.c.ImageLoad(ctx, tar, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, i18n.Errorf("engine refused the load: %w", err)
	}
	defer res.Close()
	return decodeLoad(res)
}

// decodeLoad reads the load response: a 200 OK that may still carry an error.
func decodeLoad(r io.Reader) ([]string, error) {
	var loaded []string
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return loaded, i18n.Errorf("reading the engine's answer to the load: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return loaded, i18n.Errorf("engine: %s", m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return loaded, i18n.Errorf("engine: %s", m.Error)
		}
		for _, line := range strings.Split(m.Stream, "\n") {
			if ref, ok := strings.CutPrefix(line, "Loaded image: "); ok {
				loaded = append(loaded, strings.TrimSpace(ref))
			} else if id, ok := strings.CutPrefix(line, "Loaded image ID: "); ok {
				loaded = append(loaded, strings.TrimSpace(id))
			}
		}
	}
	return loaded, nil
}

func (d *Docker) ImageID(ctx context.Context, ref string) (string, error) {
	r, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return r.ID, nil
}

func (d *Docker) ImageLayers(ctx context.Context, ref string) ([]string, error) {
	r, err := d.c.ImageInspect(ctx, ref)
	if err != nil {
		return nil, err
	}
	return r.RootFS.Layers, nil
}

func (d *Docker) Save(ctx context.Context, refs []string) (io.ReadCloser, error) {
	return d.c.ImageSave(ctx, refs)
}

func (d *Docker) Images(ctx context.Context) ([]Image, error) {
	r, err := d.c.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, s := range r.Items {
		out = append(out, Image{ID: s.ID, Tags: s.RepoTags, Created: time.Unix(s.Created, 0), Size: s.Size})
	}
	return out, nil
}

func (d *Docker) Containers(ctx context.Context) ([]Container, error) {
	r, err := d.c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, s := range r.Items {
		in, err := d.c.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			continue // removed since the list
		} else if err != nil {
			return nil, err
		}
		c := in.Container
		ct := Container{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Image: s.Image, ImageID: c.Image,
			RestartCount: c.RestartCount, Labels: s.Labels}
		if c.Config != nil {
			ct.Image, ct.Env = c.Config.Image, c.Config.Env
		}
		if st := c.State; st != nil {
			ct.State = string(st.Status)
			ct.ExitCode = st.ExitCode
			ct.StartedAt, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
			if st.Health != nil {
				ct.Health = string(st.Health.Status)
			}
		}
		out = append(out, ct)
	}
	return out, nil
}

func (d *Docker) Logs(ctx context.Context, id string, lines int) (string, error) {
	r, err := d.c.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(lines)})
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return "", err
	}
	return demux(b), nil
}

// demux strips the 8-byte frame headers of a non-TTY container's log stream.
func demux(b []byte) string {
	var out strings.Builder
	for len(b) >= 8 && (b[0] == 0 || b[0] == 1 || b[0] == 2) && b[1] == 0 && b[2] == 0 && b[3] == 0 {
		n := int(binary.BigEndian.Uint32(b[4:8]))
		if 8+n > len(b) {
			break
		}
		out.Write(b[8 : 8+n])
		b = b[8+n:]
	}
	if out.Len() == 0 {
		return string(b) // a TTY container's log has no frames
	}
	return out.String()
}

func (d *Docker) RemoveImage(ctx context.Context, ref string) error {
	// As docker rmi does: the image's untagged parents go with it.
	_, err := d.c.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	return err
}

func (d *Docker) ContainerStates(ctx context.Context) ([]Container, error) {
	r, err := d.c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, s := range r.Items {
		c := Container{ID: s.ID, Image: s.Image, ImageID: s.ImageID, State: string(s.State), Labels: s.Labels}
		// Engines before API 1.52 say health only in the status text.
		switch {
		case strings.Contains(s.Status, "(healthy)"):
			c.Health = "healthy"
		case strings.Contains(s.Status, "(unhealthy)"):
			c.Health = "unhealthy"
		case strings.Contains(s.Status, "(health: starting)"):
			c.Health = "starting"
		}
		out = append(out, c)
	}
	return out, nil
}
