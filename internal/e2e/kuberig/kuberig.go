//go:build e2e

// Package kuberig builds a real Kubernetes cluster on this machine for the end-to-end
// tests: etcd, kube-apiserver, kube-controller-manager and kube-scheduler in the root
// network namespace, bound to the address of a bridge of the rig's own, and nodes that
// are each a containerd and a kubelet in a network namespace of their own, joined to
// that bridge by a veth pair. Nothing leaves the machine and nothing is downloaded: the
// Kubernetes binaries are built from source by scripts/k8s-bins.sh, etcd, containerd,
// runc and the CNI plugins are Debian's, and the pause image is a program of this
// package imported with ctr. The machine's Docker and its containerd are never touched.
//
// Every name the rig makes starts with "imk" and four hex digits (netns, links, the
// iptables rule's bridge, the CNI network) or lives under its temp folder; Close tears
// it all down. One rig runs at a time on a machine (/tmp/imgup-kuberig.lock). See
// README.md for what each setting is for.
package kuberig

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Version is the Kubernetes release the rig runs (internal/e2e/kuberig/k8sbin/go.mod).
const Version = "v1.34.4"

// PauseRef is the sandbox image every node's containerd holds.
const PauseRef = "imgup.invalid/kuberig-pause:1"

// Options tune Start.
type Options struct {
	// Nodes is the number of worker nodes (default 2).
	Nodes int
	// Bin is the folder of the Kubernetes binaries (default $IMGUP_K8S_BIN, else
	// ~/.cache/imgup-k8s/<Version>/bin, where scripts/k8s-bins.sh builds them).
	Bin string
	// Logf, when set, receives progress lines (t.Logf).
	Logf func(format string, args ...any)
}

// Cluster is a running cluster.
type Cluster struct {
	// Kubeconfig is an admin kubeconfig (a system:masters token).
	Kubeconfig string
	// Server is the API server's URL.
	Server string
	// Nodes are the worker nodes, node1…nodeN.
	Nodes []*Node
	// Dir is the rig's temp folder: configs, data and every daemon's log.
	Dir string
	// Bin is the folder of the Kubernetes binaries (kubectl among them) and helm.
	Bin string

	id, bridge, subnet string
	lock               *os.File
	procs              []*proc
	undo               []func()
	logf               func(string, ...any)
}

// Node is one worker: a containerd and a kubelet in the network namespace Netns.
type Node struct {
	Name  string
	Netns string
	// IP is the node's address (on eth0 in Netns, the kubelet's --node-ip).
	IP string
	// Containerd is the path of the node's containerd socket (namespace k8s.io).
	Containerd string
	// Dir is the node's folder (containerd's root and state, the kubelet's root).
	Dir string

	containerd, kubelet, mountns *proc
}

type proc struct {
	name, log string
	cmd       *exec.Cmd
	done      chan struct{}
}

// Start builds and starts a cluster and waits until its nodes are Ready and the default
// service account exists. On error it tears down what it built.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("kuberig: needs root (network namespaces, containerd, kubelet)")
	}
	for _, tool := range []string{"ip", "nsenter", "iptables", "etcd", "containerd", "containerd-shim-runc-v2", "runc", "ctr", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("kuberig: %s is not installed (scripts/test.sh installs what the rig needs)", tool)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return nil, errors.New("kuberig: the CNI plugins are not installed: apt-get install containernetworking-plugins")
	}
	if o.Nodes == 0 {
		o.Nodes = 2
	}
	c = &Cluster{Bin: o.Bin, logf: o.Logf}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if c.Bin == "" {
		c.Bin = os.Getenv("IMGUP_K8S_BIN")
	}
	if c.Bin == "" {
		home, _ := os.UserHomeDir()
		c.Bin = filepath.Join(home, ".cache", "imgup-k8s", Version, "bin")
	}
	for _, b := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl", "helm"} {
		if _, err := os.Stat(filepath.Join(c.Bin, b)); err != nil {
			return nil, fmt.Errorf("kuberig: %s is not built in %s: run scripts/k8s-bins.sh", b, c.Bin)
		}
	}
	if c.lock, err = lockFile(ctx, "/tmp/imgup-kuberig.lock"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
			c = nil
		}
	}()
	b := make([]byte, 2)
	rand.Read(b)
	c.id = "imk" + hex.EncodeToString(b)
	c.bridge = c.id + "br"
	c.subnet = fmt.Sprintf("10.213.%d", int(b[0])%200)
	if c.Dir, err = os.MkdirTemp("", "imgup-kuberig-"); err != nil {
		return c, err
	}
	os.Chmod(c.Dir, 0o755)
	if err := c.network(); err != nil {
		return c, err
	}
	if err := c.controlPlane(ctx); err != nil {
		return c, err
	}
	pause, err := c.pauseArchive(ctx)
	if err != nil {
		return c, err
	}
	for i := 1; i <= o.Nodes; i++ {
		n, err := c.startNode(ctx, i, pause)
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, n)
	}
	return c, c.waitReady(ctx)
}

// network makes the bridge (the control plane's address is its .1) and lets traffic
// between its ports through FORWARD (br_netfilter is on and Docker's policy is DROP).
func (c *Cluster) network() error {
	if err := c.sh("ip", "link", "add", c.bridge, "type", "bridge"); err != nil {
		return err
	}
	c.undo = append(c.undo, func() { exec.Command("ip", "link", "del", c.bridge).Run() })
	if err := c.sh("ip", "addr", "add", c.subnet+".1/24", "dev", c.bridge); err != nil {
		return err
	}
	if err := c.sh("ip", "link", "set", c.bridge, "up"); err != nil {
		return err
	}
	rule := []string{"FORWARD", "-i", c.bridge, "-o", c.bridge, "-j", "ACCEPT"}
	if err := c.sh(append([]string{"iptables", "-I"}, rule...)...); err != nil {
		return err
	}
	c.undo = append(c.undo, func() { exec.Command("iptables", append([]string{"-D"}, rule...)...).Run() })
	return nil
}

// token is the static bearer token of a user; the API server reads them from tokens.csv.
func (c *Cluster) token(user string) string { return c.id + "-" + strings.ReplaceAll(user, ":", "-") }

func (c *Cluster) controlPlane(ctx context.Context) error {
	cp := filepath.Join(c.Dir, "control-plane")
	if err := os.MkdirAll(cp, 0o700); err != nil {
		return err
	}
	ip := c.subnet + ".1"
	c.Server = "https://" + ip + ":6443"
	p, err := writePKI(cp, []net.IP{net.ParseIP(ip), net.ParseIP("10.96.0.1"), net.ParseIP("127.0.0.1")})
	if err != nil {
		return err
	}
	tokens := fmt.Sprintf("%s,admin,admin,system:masters\n", c.token("admin"))
	for i := 1; i <= 16; i++ {
		node := fmt.Sprintf("node%d", i)
		tokens += fmt.Sprintf("%s,system:node:%s,%s,system:nodes\n", c.token("system:node:"+node), node, node)
	}
	if err := os.WriteFile(filepath.Join(cp, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.Dir, "admin.kubeconfig")
	if err := c.writeKubeconfig(c.Kubeconfig, "admin"); err != nil {
		return err
	}
	etcd := c.start("etcd", cp, nil, "etcd", "--name", c.id, "--data-dir", filepath.Join(cp, "etcd"),
		"--listen-client-urls", "http://"+ip+":2379", "--advertise-client-urls", "http://"+ip+":2379",
		"--listen-peer-urls", "http://"+ip+":2380", "--initial-advertise-peer-urls", "http://"+ip+":2380",
		"--initial-cluster", c.id+"=http://"+ip+":2380", "--log-level", "warn")
	if etcd == nil {
		return c.startErr("etcd")
	}
	if err := c.waitFor(ctx, etcd, 30*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", ip+":2379", time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	}); err != nil {
		return err
	}
	api := c.start("kube-apiserver", cp, nil, filepath.Join(c.Bin, "kube-apiserver"),
		"--etcd-servers", "http://"+ip+":2379", "--etcd-prefix", "/"+c.id,
		"--bind-address", ip, "--advertise-address", ip, "--secure-port", "6443",
		"--cert-dir", filepath.Join(cp, "apiserver-certs"),
		"--tls-cert-file", p.ServingCert, "--tls-private-key-file", p.ServingKey,
		"--token-auth-file", filepath.Join(cp, "tokens.csv"),
		"--authorization-mode", "Node,RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", p.SAKey, "--service-account-signing-key-file", p.SAKey,
		"--service-cluster-ip-range", "10.96.0.0/24",
		"--allow-privileged", "--enable-priority-and-fairness=false", "--profiling=false",
		"--kubelet-preferred-address-types", "InternalIP", "--v", "1")
	if api == nil {
		return c.startErr("kube-apiserver")
	}
	if err := c.waitFor(ctx, api, 90*time.Second, func() bool {
		out, err := c.Kubectl(ctx, "get", "--raw", "/readyz")
		return err == nil && out == "ok"
	}); err != nil {
		return err
	}
	if c.start("kube-controller-manager", cp, nil, filepath.Join(c.Bin, "kube-controller-manager"),
		"--kubeconfig", c.Kubeconfig, "--bind-address", ip, "--leader-elect=false",
		"--service-account-private-key-file", p.SAKey, "--root-ca-file", p.CA,
		"--allocate-node-cidrs=false", "--profiling=false", "--v", "1") == nil {
		return c.startErr("kube-controller-manager")
	}
	if c.start("kube-scheduler", cp, nil, filepath.Join(c.Bin, "kube-scheduler"),
		"--kubeconfig", c.Kubeconfig, "--bind-address", ip, "--leader-elect=false", "--profiling=false", "--v", "1") == nil {
		return c.startErr("kube-scheduler")
	}
	c.logf("kuberig: control plane of %s up at %s (%s)", c.id, c.Server, c.Dir)
	return nil
}

func (c *Cluster) writeKubeconfig(path, user string) error {
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kuberig
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: kuberig
  context:
    cluster: kuberig
    user: %s
current-context: kuberig
`, c.Server, filepath.Join(c.Dir, "control-plane", "ca.crt"), user, c.token(user), user)
	return os.WriteFile(path, []byte(kc), 0o600)
}

// pauseArchive builds the pause program (static) and writes its image archive.
func (c *Cluster) pauseArchive(ctx context.Context) (string, error) {
	bin := filepath.Join(c.Dir, "pause")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/encoo-tools/imgup/internal/e2e/kuberig/pause")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("kuberig: building the pause program: %v: %s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	archive := filepath.Join(c.Dir, "pause.tar")
	_, err = WriteImage(archive, Image{Ref: PauseRef, Files: map[string][]byte{"pause": prog}, Entrypoint: []string{"/pause"}})
	return archive, err
}

func (c *Cluster) startNode(ctx context.Context, i int, pause string) (*Node, error) {
	n := &Node{Name: fmt.Sprintf("node%d", i), IP: fmt.Sprintf("%s.%d", c.subnet, 10+i), Netns: fmt.Sprintf("%sn%d", c.id, i)}
	n.Dir = filepath.Join(c.Dir, n.Name)
	n.Containerd = filepath.Join(n.Dir, "containerd.sock")
	veth := fmt.Sprintf("%sv%d", c.id, i)
	for _, d := range []string{"cni", "containerd/root", "containerd/state", "kubelet", "logs", "cni-data", "opt"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := c.sh("ip", "netns", "add", n.Netns); err != nil {
		return nil, err
	}
	c.undo = append(c.undo, func() { exec.Command("ip", "netns", "del", n.Netns).Run() })
	steps := [][]string{
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", n.Netns},
		{"ip", "link", "set", veth, "master", c.bridge, "up"},
		{"ip", "-n", n.Netns, "addr", "add", n.IP + "/24", "dev", "eth0"},
		{"ip", "-n", n.Netns, "link", "set", "eth0", "up"},
		{"ip", "-n", n.Netns, "link", "set", "lo", "up"},
		{"ip", "-n", n.Netns, "route", "add", "default", "via", c.subnet + ".1"},
	}
	for _, s := range steps {
		if err := c.sh(s...); err != nil {
			return nil, err
		}
	}
	c.undo = append(c.undo, func() { exec.Command("ip", "link", "del", veth).Run() })

	// The pods' network: a bridge inside the node's namespace, addresses from a /24 of
	// the node's own (host-local, its leases under the node's folder).
	conflist := fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "%s",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "10.88.%d.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
`, c.id, filepath.Join(n.Dir, "cni-data"), i)
	if err := os.WriteFile(filepath.Join(n.Dir, "cni", "10-kuberig.conflist"), []byte(conflist), 0o644); err != nil {
		return nil, err
	}
	state := filepath.Join(n.Dir, "containerd", "state")
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
oom_score = 0

[grpc]
  address = %q

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
    max_conf_num = 1
`, filepath.Join(n.Dir, "containerd", "root"), state, n.Containerd, filepath.Join(n.Dir, "opt"),
		PauseRef, filepath.Join(state, "runc"), filepath.Join(n.Dir, "cni"))
	cfg := filepath.Join(n.Dir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	var err error
	if n.mountns, err = c.mountNamespace(ctx, n); err != nil {
		return nil, err
	}
	inNS := n.nsenter()
	n.containerd = c.start(n.Name+"-containerd", n.Dir, inNS, "containerd", "--config", cfg)
	if n.containerd == nil {
		return nil, c.startErr(n.Name + "-containerd")
	}
	c.undo = append(c.undo, func() { c.stopNode(n) })
	if err := c.waitFor(ctx, n.containerd, 30*time.Second, func() bool {
		_, err := c.Ctr(ctx, n, "version")
		return err == nil
	}); err != nil {
		return nil, err
	}
	if err := c.Import(ctx, n, pause); err != nil {
		return nil, err
	}

	kubeconfig := filepath.Join(n.Dir, "kubelet.kubeconfig")
	if err := c.writeKubeconfig(kubeconfig, "system:node:"+n.Name); err != nil {
		return nil, err
	}
	kcfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
failSwapOn: false
cgroupsPerQOS: false
enforceNodeAllocatable: []
localStorageCapacityIsolation: false
podLogsDir: %s
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
makeIPTablesUtilChains: false
resolvConf: ""
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 20s
`, n.IP, n.Containerd, filepath.Join(n.Dir, "logs"))
	kcfgPath := filepath.Join(n.Dir, "kubelet.yaml")
	if err := os.WriteFile(kcfgPath, []byte(kcfg), 0o644); err != nil {
		return nil, err
	}
	n.kubelet = c.start(n.Name+"-kubelet", n.Dir, inNS, filepath.Join(c.Bin, "kubelet"),
		"--config", kcfgPath, "--kubeconfig", kubeconfig, "--root-dir", filepath.Join(n.Dir, "kubelet"),
		"--cert-dir", filepath.Join(n.Dir, "kubelet", "pki"), "--hostname-override", n.Name,
		"--node-ip", n.IP, "--v", "1")
	if n.kubelet == nil {
		return nil, c.startErr(n.Name + "-kubelet")
	}
	c.logf("kuberig: %s started (netns %s, %s, containerd %s)", n.Name, n.Netns, n.IP, n.Containerd)
	return n, nil
}

// kernelTunables are the sysctls the kubelet sets machine-wide when they differ
// (vm.overcommit_memory=1, kernel.panic_on_oops=1, …) and refuses to start without when
// protectKernelDefaults is on. The node's mount namespace shows it these values instead.
var kernelTunables = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// mountNamespace starts the process that holds the node's mount namespace, where its
// containerd and kubelet run: a private copy of the machine's mounts (propagation
// slave: nothing mounted in it shows outside, and it all goes when its last process
// exits) with tmpfs over /run/containerd (the shims' sockets; the machine's containerd
// is out of reach), /var/lib (the CNI cache) and /var/log (the kubelet's links), and the
// kernel tunables bound read-only to the values the kubelet expects.
func (c *Cluster) mountNamespace(ctx context.Context, n *Node) (*proc, error) {
	dir := filepath.Join(n.Dir, "sysctl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// /run/containerd is missing on a machine whose only containerd is Docker's (in
	// /run/docker/containerd): made empty, as a mount point.
	script := "set -e\nfor d in /run/containerd /var/lib /var/log; do mkdir -p $d; mount -t tmpfs -o mode=0755 " + c.id + " $d; done\n"
	for key, v := range kernelTunables {
		f := filepath.Join(dir, strings.ReplaceAll(key, "/", "."))
		if err := os.WriteFile(f, []byte(v+"\n"), 0o444); err != nil {
			return nil, err
		}
		script += fmt.Sprintf("mount --bind -o ro %s /proc/sys/%s\n", f, key)
	}
	ready := filepath.Join(n.Dir, "mountns.ready")
	script += "touch " + ready + "\nexec sleep infinity\n"
	p := c.start(n.Name+"-mountns", n.Dir, []string{"nsenter", "--net=/var/run/netns/" + n.Netns}, "unshare", "--mount", "--propagation", "slave", "sh", "-c", script)
	if p == nil {
		return nil, c.startErr(n.Name + "-mountns")
	}
	return p, c.waitFor(ctx, p, 10*time.Second, func() bool {
		_, err := os.Stat(ready)
		return err == nil
	})
}

// stopNode stops a node: the kubelet, then every container of its containerd (so that
// the shims exit), then containerd; then what is left: shims of this containerd, the
// containers' cgroups, mounts under the node's folder. The node's mount namespace goes
// with its holder, stopped after this.
func (c *Cluster) stopNode(n *Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.stop(n.kubelet, 10*time.Second)
	var ids []string
	if out, err := c.Ctr(ctx, n, "containers", "ls", "-q"); err == nil {
		ids = strings.Fields(out)
	}
	for _, id := range ids {
		c.Ctr(ctx, n, "tasks", "kill", "-s", "SIGKILL", id)
	}
	for _, id := range ids {
		for try := 0; try < 20; try++ {
			if _, err := c.Ctr(ctx, n, "tasks", "delete", "-f", id); err == nil || strings.Contains(err.Error(), "not found") {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	c.stop(n.containerd, 10*time.Second)
	killShims(n.Containerd)
	for _, root := range []string{"/sys/fs/cgroup/*", "/sys/fs/cgroup/*/*", "/sys/fs/cgroup/*/*/*"} {
		for _, id := range ids {
			matches, _ := filepath.Glob(filepath.Join(root, id))
			for _, m := range matches {
				syscall.Rmdir(m)
			}
		}
	}
	// containerd's default parent of the containers' cgroups; removed when empty (rmdir
	// fails on a cgroup that still holds one).
	parents, _ := filepath.Glob("/sys/fs/cgroup/*/k8s.io")
	for _, p := range parents {
		syscall.Rmdir(p)
	}
	unmountUnder(n.Dir)
}

// killShims kills the runc shims this containerd started (their command line names
// its socket), should one outlive the containers.
func killShims(socket string) {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid := 0
		if _, err := fmt.Sscan(d.Name(), &pid); err != nil || pid <= 1 {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && strings.HasSuffix(args[0], "containerd-shim-runc-v2") && bytes.Contains(b, []byte("\x00"+socket+"\x00")) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// start runs a daemon in its own process group, its output in DIR/NAME.log; in NS when
// ns is the nsenter prefix. Nil when it could not start (the error is in the log).
func (c *Cluster) start(name, dir string, ns []string, argv ...string) *proc {
	p := &proc{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	log, err := os.Create(p.log)
	if err != nil {
		return nil
	}
	defer log.Close()
	argv = append(append([]string{}, ns...), argv...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		fmt.Fprintf(log, "kuberig: %v\n", err)
		return nil
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	c.procs = append(c.procs, p)
	grace := 10 * time.Second
	if name == "kube-apiserver" {
		// Its graceful shutdown takes more than 10 s here; the cluster's data is thrown
		// away anyway.
		grace = 2 * time.Second
	}
	c.undo = append(c.undo, func() { c.stop(p, grace) })
	return p
}

func (c *Cluster) startErr(name string) error {
	return fmt.Errorf("kuberig: %s did not start: %s", name, tail(filepath.Join(c.Dir, name+".log")))
}

// stop sends SIGTERM to the daemon's process group, then SIGKILL after grace.
func (c *Cluster) stop(p *proc, grace time.Duration) {
	if p == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		if p.name != "kube-apiserver" {
			c.logf("kuberig: %s did not stop within %s of SIGTERM: killed", p.name, grace)
		}
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// waitFor polls ok until it holds, the daemon exits, or timeout.
func (c *Cluster) waitFor(ctx context.Context, p *proc, timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if ok() {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("kuberig: %s exited (%v); its log ends:\n%s", p.name, p.cmd.ProcessState, tail(p.log))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kuberig: %s not ready after %s; its log ends:\n%s", p.name, timeout, tail(p.log))
		}
	}
}

// waitReady waits until every node is Ready and the default service account exists.
func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(120 * time.Second)
	var last string
	for {
		for _, p := range c.procs {
			select {
			case <-p.done:
				return fmt.Errorf("kuberig: %s exited (%v); its log ends:\n%s", p.name, p.cmd.ProcessState, tail(p.log))
			default:
			}
		}
		out, err := c.Kubectl(ctx, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}`)
		last = fmt.Sprint(out, err)
		ready := 0
		for _, f := range strings.Fields(out) {
			if strings.HasSuffix(f, "=True") {
				ready++
			}
		}
		if ready == len(c.Nodes) {
			if _, err := c.Kubectl(ctx, "get", "serviceaccount", "default", "-n", "default"); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			var logs string
			for _, n := range c.Nodes {
				logs += "\n" + n.Name + " kubelet:\n" + tail(n.kubelet.log)
			}
			return fmt.Errorf("kuberig: the nodes are not all Ready after 120s: %s%s", last, logs)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Kubectl runs kubectl with the admin kubeconfig and returns its trimmed stdout.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return run(ctx, nil, filepath.Join(c.Bin, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
}

// KubectlIn is Kubectl with stdin.
func (c *Cluster) KubectlIn(ctx context.Context, stdin []byte, args ...string) (string, error) {
	return run(ctx, stdin, filepath.Join(c.Bin, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
}

// Helm runs the helm CLI (Helm v4, built by scripts/k8s-bins.sh) with the admin kubeconfig.
func (c *Cluster) Helm(ctx context.Context, args ...string) (string, error) {
	return run(ctx, nil, filepath.Join(c.Bin, "helm"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
}

// Ctr runs ctr against the node's containerd in namespace k8s.io, in the node's
// namespaces (as on the node: ctr run's FIFOs must be where the shims look).
func (c *Cluster) Ctr(ctx context.Context, n *Node, args ...string) (string, error) {
	argv := append(n.nsenter(), "ctr", "--address", n.Containerd, "--namespace", "k8s.io")
	return run(ctx, nil, argv[0], append(argv[1:], args...)...)
}

// nsenter is the command prefix that runs a program in the node's network and mount
// namespaces.
func (n *Node) nsenter() []string {
	return []string{"nsenter", "--net=/var/run/netns/" + n.Netns, fmt.Sprintf("--mount=/proc/%d/ns/mnt", n.mountns.cmd.Process.Pid)}
}

// Import imports an image archive into the node's containerd the way an operator does
// by hand (ctr images import, unpacked with the node's native snapshotter) and labels
// its images io.cri-containerd.image=managed, so that the kubelet lists them.
func (c *Cluster) Import(ctx context.Context, n *Node, archive string) error {
	out, err := c.Ctr(ctx, n, "images", "import", "--snapshotter", "native", archive)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		// "unpacking NAME (sha256:…)...done"
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "unpacking" {
			if _, err := c.Ctr(ctx, n, "images", "label", f[1], "io.cri-containerd.image=managed"); err != nil {
				return err
			}
		}
	}
	return nil
}

// ImportAll imports the archive into every node.
func (c *Cluster) ImportAll(ctx context.Context, archive string) error {
	for _, n := range c.Nodes {
		if err := c.Import(ctx, n, archive); err != nil {
			return err
		}
	}
	return nil
}

func run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(out.String()), fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func (c *Cluster) sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("kuberig: %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// tail is the last lines of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 12 {
		lines = lines[len(lines)-12:]
	}
	return strings.Join(lines, "\n")
}

// unmountUnder lazily unmounts every mount below dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

// Close tears the cluster down, last built first, and removes its files.
func (c *Cluster) Close() error {
	for i := len(c.undo) - 1; i >= 0; i-- {
		c.undo[i]()
	}
	c.undo = nil
	var err error
	if c.Dir != "" {
		unmountUnder(c.Dir)
		err = os.RemoveAll(c.Dir)
		c.Dir = ""
	}
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
	return err
}
