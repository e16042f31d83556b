// Package swarmrig builds a real multi-node Docker Swarm on this machine, for the
// end-to-end tests and the benchmarks: each node is a dockerd of its own in a network
// namespace of its own, joined by a bridge in the root namespace. The machine's own
// engine is never touched and never in swarm mode.
//
// The recipe (tried on Engine 20.10): for each node a network namespace with a veth
// pair to a bridge, addresses from one private /24; forwarding allowed on that bridge
// (iptables -I FORWARD -i BR -o BR -j ACCEPT: br_netfilter is on and docker's FORWARD
// policy is DROP); dockerd started with nsenter --net (ip netns exec remounts /sys and
// hides the cgroups) and unshare --uts (a hostname of its own), with its own config
// file (storage-driver vfs: the machine's daemon.json sets data-root and the storage
// driver, and flags would clash), data-root, exec-root, pidfile, socket and cgroup
// parent. Then docker swarm init on the first node and swarm join on the others.
// Close tears it all down: containers, daemons, mounts, namespaces, links, the
// iptables rule, the files.
//
// It needs root, iproute2, nsenter, unshare and iptables.
package swarmrig

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Rig is a running swarm of nodes.
type Rig struct {
	// Nodes are the swarm's nodes; the first is the manager.
	Nodes  []*Node
	id     string
	bridge string
	dir    string
	undo   []func()
}

// Node is one node: its hostname, its address on the rig's network, and its engine's
// socket.
type Node struct {
	Name string
	IP   string
	// Host is the engine's address as DOCKER_HOST takes it (unix:///…/docker.sock).
	Host string
	dir  string
	ns   string
	cmd  *exec.Cmd
}

// Start builds a swarm of n nodes (one manager, n-1 workers). On error it tears down
// what it built.
func Start(n int) (r *Rig, err error) {
	for _, tool := range []string{"ip", "nsenter", "unshare", "iptables", "dockerd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("swarmrig: %s is not installed", tool)
		}
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("swarmrig: needs root (network namespaces, dockerd)")
	}
	b := make([]byte, 2)
	rand.Read(b)
	id := hex.EncodeToString(b)
	r = &Rig{id: id, bridge: "imgsw" + id + "br"}
	r.dir, err = os.MkdirTemp("", "imgup-swarmrig-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			r.Close()
			r = nil
		}
	}()
	net := fmt.Sprintf("192.168.%d", 200+int(b[0])%50)
	if err := r.sh("ip", "link", "add", r.bridge, "type", "bridge"); err != nil {
		return r, err
	}
	r.undo = append(r.undo, func() { exec.Command("ip", "link", "del", r.bridge).Run() })
	if err := r.sh("ip", "addr", "add", net+".1/24", "dev", r.bridge); err != nil {
		return r, err
	}
	if err := r.sh("ip", "link", "set", r.bridge, "up"); err != nil {
		return r, err
	}
	if err := r.sh("iptables", "-I", "FORWARD", "-i", r.bridge, "-o", r.bridge, "-j", "ACCEPT"); err != nil {
		return r, err
	}
	r.undo = append(r.undo, func() {
		exec.Command("iptables", "-D", "FORWARD", "-i", r.bridge, "-o", r.bridge, "-j", "ACCEPT").Run()
	})
	for i := 1; i <= n; i++ {
		node, err := r.startNode(i, net)
		if err != nil {
			return r, err
		}
		r.Nodes = append(r.Nodes, node)
	}
	for _, node := range r.Nodes {
		if err := waitEngine(node, 60*time.Second); err != nil {
			return r, err
		}
	}
	m := r.Nodes[0]
	if _, err := r.Docker(m, "swarm", "init", "--advertise-addr", m.IP); err != nil {
		return r, err
	}
	token, err := r.Docker(m, "swarm", "join-token", "-q", "worker")
	if err != nil {
		return r, err
	}
	for _, w := range r.Nodes[1:] {
		if _, err := r.Docker(w, "swarm", "join", "--token", token, m.IP+":2377"); err != nil {
			return r, err
		}
	}
	return r, r.waitReady(60 * time.Second)
}

func (r *Rig) startNode(i int, net string) (*Node, error) {
	n := &Node{Name: fmt.Sprintf("node%d", i), IP: fmt.Sprintf("%s.%d", net, 10+i), ns: fmt.Sprintf("imgsw%sn%d", r.id, i)}
	n.dir = filepath.Join(r.dir, n.Name)
	sock := filepath.Join(n.dir, "docker.sock")
	n.Host = "unix://" + sock
	veth := fmt.Sprintf("imgsw%sv%d", r.id, i)
	if err := os.MkdirAll(n.dir, 0o700); err != nil {
		return nil, err
	}
	if err := r.sh("ip", "netns", "add", n.ns); err != nil {
		return nil, err
	}
	r.undo = append(r.undo, func() { exec.Command("ip", "netns", "del", n.ns).Run() })
	steps := [][]string{
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", n.ns},
		{"ip", "link", "set", veth, "master", r.bridge, "up"},
		{"ip", "-n", n.ns, "addr", "add", n.IP + "/24", "dev", "eth0"},
		{"ip", "-n", n.ns, "link", "set", "eth0", "up"},
		{"ip", "-n", n.ns, "link", "set", "lo", "up"},
		{"ip", "-n", n.ns, "route", "add", "default", "via", net + ".1"},
	}
	for _, s := range steps {
		if err := r.sh(s...); err != nil {
			return nil, err
		}
	}
	r.undo = append(r.undo, func() { exec.Command("ip", "link", "del", veth).Run() })
	cfg := filepath.Join(n.dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte(`{"storage-driver":"vfs"}`), 0o644); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(n.dir, "dockerd.log"))
	if err != nil {
		return nil, err
	}
	dockerd := fmt.Sprintf("hostname %s && exec dockerd --config-file %s --data-root %s --exec-root %s --pidfile %s -H %s --cgroup-parent %s",
		n.Name, cfg, filepath.Join(n.dir, "data"), filepath.Join(n.dir, "exec"), filepath.Join(n.dir, "dockerd.pid"), n.Host, n.ns)
	n.cmd = exec.Command("nsenter", "--net=/var/run/netns/"+n.ns, "unshare", "--uts", "sh", "-c", dockerd)
	n.cmd.Stdout, n.cmd.Stderr = log, log
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	log.Close()
	r.undo = append(r.undo, func() { r.stopNode(n) })
	return n, nil
}

// stopNode removes the node's containers, leaves the swarm, stops its dockerd (and the
// containerd it started) and unmounts what it left mounted.
func (r *Rig) stopNode(n *Node) {
	r.Docker(n, "swarm", "leave", "--force")
	if out, err := r.Docker(n, "ps", "-aq"); err == nil && out != "" {
		r.Docker(n, append([]string{"rm", "-f"}, strings.Fields(out)...)...)
	}
	if n.cmd != nil && n.cmd.Process != nil {
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { n.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	unmountUnder(n.dir)
	// The cgroups the node's containers ran in (cgroupfs driver): empty now.
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/devices"} {
		matches, _ := filepath.Glob(filepath.Join(root, n.ns, "*"))
		for _, m := range matches {
			syscall.Rmdir(m)
		}
		syscall.Rmdir(filepath.Join(root, n.ns))
	}
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

// Docker runs the docker CLI against a node's engine.
func (r *Rig) Docker(n *Node, args ...string) (string, error) {
	cmd := exec.Command("docker", append([]string{"-H", n.Host}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(out.String()), fmt.Errorf("docker -H %s %s: %v: %s", n.Host, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Manager is the swarm's manager node.
func (r *Rig) Manager() *Node { return r.Nodes[0] }

// Node is the node of that name, or nil.
func (r *Rig) Node(name string) *Node {
	for _, n := range r.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Load loads a docker save archive into every node (the way an operator would by
// hand: docker load on each).
func (r *Rig) Load(path string) error {
	for _, n := range r.Nodes {
		if _, err := r.Docker(n, "load", "-i", path); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops one node's engine (a node that goes away); the swarm marks it down.
func (r *Rig) Stop(n *Node) {
	if n.cmd != nil && n.cmd.Process != nil {
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		n.cmd.Wait()
		n.cmd = nil
	}
}

func (r *Rig) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := r.Docker(r.Manager(), "node", "ls", "--format", "{{.Status}}")
		if err == nil && strings.Count(out, "Ready") == len(r.Nodes) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("swarmrig: the nodes are not all ready after %s: %s %v", timeout, out, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func waitEngine(n *Node, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if exec.Command("docker", "-H", n.Host, "version").Run() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(n.dir, "dockerd.log"))
			lines := strings.Split(strings.TrimSpace(string(log)), "\n")
			if len(lines) > 5 {
				lines = lines[len(lines)-5:]
			}
			return fmt.Errorf("swarmrig: the engine of %s does not answer after %s; its log ends:\n%s", n.Name, timeout, strings.Join(lines, "\n"))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (r *Rig) sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("swarmrig: %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Close tears the rig down, last built first, and removes its files.
func (r *Rig) Close() error {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i]()
	}
	r.undo = nil
	if r.dir != "" {
		killShimsUnder(r.dir)
		unmountUnder(r.dir)
		return os.RemoveAll(r.dir)
	}
	return nil
}

// killShimsUnder ends the containerd shims of the rig's nodes: a node whose engine a
// test stopped (a lost node) leaves its containers' shims running, reparented to init.
func killShimsUnder(dir string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 1 {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if args := strings.Split(string(b), "\x00"); strings.HasSuffix(args[0], "containerd-shim-runc-v2") && strings.Contains(string(b), dir+string(filepath.Separator)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
