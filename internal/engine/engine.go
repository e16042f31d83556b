package engine

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// Client lists the Engine calls imgup makes.
type Client interface {
	// Info tells which engine answers and where it keeps images.
	Info(ctx context.Context) (Info, error)
	// Load sends a docker-save tar to the engine and returns the references (or, for
	// images saved by ID, the IDs) the engine reports as loaded.
	Load(ctx context.Context, tar io.Reader) ([]string, error)
	// ImageID returns the ID of the image ref names, or "" when the engine has none.
	ImageID(ctx context.Context, ref string) (string, error)
	// Images lists every image with its tags and creation time.
	Images(ctx context.Context) ([]Image, error)
	// ImageLayers returns the diffIDs of an image's layers, bottom first.
	ImageLayers(ctx context.Context, ref string) ([]string, error)
	// Save streams the images as one docker-save tar (for making a vendor bundle).
	Save(ctx context.Context, refs []string) (io.ReadCloser, error)
	// Containers lists all containers (running or not), inspected.
	Containers(ctx context.Context) ([]Container, error)
	// ContainerStates lists all containers in one call: ID, labels, state and health
	// only (no restart count or start time), for polling.
	ContainerStates(ctx context.Context) ([]Container, error)
	// RemoveImage removes one reference (and the image, when it was its last name).
	RemoveImage(ctx context.Context, ref string) error
	// Logs returns the last lines a container wrote (stdout and stderr).
	Logs(ctx context.Context, id string, lines int) (string, error)
	Close() error
}

// SelfDelta is a client whose Load itself sends each node only what that node lacks
// (a Kubernetes cluster's import into each node's containerd): its stream carries
// every layer, and no inventory is read for it.
type SelfDelta interface {
	SelfDelta()
}

// Info describes the engine.
type Info struct {
	Host          string
	ServerVersion string
	APIVersion    string
	// RootDir is where the engine keeps images (DockerRootDir).
	RootDir string
	// Containerd is set when images live in the containerd image store (Engine 29+
	// default), which imports every layer of a load.
	Containerd bool
}

// Image is one image the engine holds.
type Image struct {
	ID      string
	Tags    []string
	Created time.Time
	Size    int64
}

// Container is one container, as `docker ps -a` and `docker inspect` show it.
type Container struct {
	ID      string
	Name    string
	Image   string // the reference the container was created from
	ImageID string
	// State is created, running, restarting, exited, paused or dead.
	State string
	// Health is healthy, unhealthy, starting, or "" when there is no healthcheck.
	Health       string
	ExitCode     int
	RestartCount int
	StartedAt    time.Time
	Labels       map[string]string
	// Env is the container's environment (KEY=VALUE), from inspect.
	Env []string
	// Node is the swarm node that runs it ("" for a single engine).
	Node string
}

// Compose labels that compose (v1 and v2) puts on the containers it creates.
const (
	LabelProject    = "com.docker.compose.project"
	LabelService    = "com.docker.compose.service"
	LabelConfig     = "com.docker.compose.project.config_files"
	LabelWorkingDir = "com.docker.compose.project.working_dir"
	LabelVersion    = "com.docker.compose.version"
	LabelOneoff     = "com.docker.compose.oneoff"
)

// ShortID is the 12 hex digits of an image or container ID that docker ps shows.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Repository is the repository name of an image reference as compose files and
// docker ps write it ("docker.io/library/redis:7" -> "redis"), or "" when ref is no
// valid reference.
func Repository(ref string) string {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	return reference.FamiliarName(n)
}

// Labels imgup gives a Kubernetes pod's container (internal/kube): its namespace,
// its workload's name and kind, its pod and the container's name in it.
const (
	LabelKubeNamespace = "io.kubernetes.pod.namespace"
	LabelKubeWorkload  = "imgup.kube.workload"
	LabelKubeKind      = "imgup.kube.kind"
	LabelKubePod       = "io.kubernetes.pod.name"
	LabelKubeContainer = "io.kubernetes.container.name"
)

// Service is the service the container runs for: its compose service, for a swarm
// task its stack's service without the stack's prefix, for a pod its workload ("" for
// none).
func (c Container) Service() string {
	if s := c.Labels[LabelService]; s != "" {
		return s
	}
	if w := c.Labels[LabelKubeWorkload]; w != "" {
		return w
	}
	if ns, svc := c.Labels[LabelStack], c.Labels[LabelSwarmSvc]; ns != "" && svc != "" {
		return strings.TrimPrefix(svc, ns+"_")
	}
	return ""
}

// Project is the container's compose project, its swarm stack, or its pod's namespace.
func (c Container) Project() string {
	if p := c.Labels[LabelProject]; p != "" {
		return p
	}
	if ns := c.Labels[LabelKubeNamespace]; ns != "" {
		return ns
	}
	return c.Labels[LabelStack]
}

// Managed is what a Kubernetes cluster says of one workload of a namespace: the Helm
// release that made it (meta.helm.sh/release-name), app.kubernetes.io/managed-by,
// and whether kubectl apply made it (its last-applied-configuration annotation).
type Managed struct {
	Kind, Name  string
	HelmRelease string
	ManagedBy   string
	LastApplied bool
}

// NodeWrites is an engine whose load writes into several nodes' image stores of its
// own (a Kubernetes cluster's containerds): what the last load wrote to each.
type NodeWrites interface {
	LastWrites() []NodeWrite
}

// NodeWrite is what a load wrote to one node's store: Written bytes, Missing the size
// of the blobs it lacked, Skipped the blobs it had and was not sent.
type NodeWrite struct {
	Node             string
	Written, Missing int64
	Skipped          int
}
