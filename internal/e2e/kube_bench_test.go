//go:build e2e && bench

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/e2e/kuberig"
	"github.com/encoo-tools/imgup/internal/history"
)

// TestKubeBench measures a whole update of a namespace on the 2-node Kubernetes rig
// (kuberig), imgup against the way by hand, in interleaved rounds
// (scripts/bench-kube.sh runs it and prints the table for docs/benchmarks.md):
//
//   - imgup: imgup apply --yes -C DIR archive-2.tar (each node's containerd is
//     written the blobs it lacks, the tag edited, kubectl apply, every pod checked);
//   - by hand: ctr -n k8s.io images import of the whole archive on node1, then on
//     node2 (kuberig's Import: the native snapshotter, and the label the CRI plugin
//     lists), sed on the manifests, kubectl apply -f, and kubectl rollout status of
//     the Deployment, the StatefulSet and the DaemonSet.
//
// The namespace holds a Deployment (2 replicas, maxUnavailable 0, maxSurge 1, a
// readinessProbe, one pod per node), a StatefulSet (1 replica) and a DaemonSet, all
// on one image, :1 → :2. The image has a 64 MiB base layer of random bytes (seeded:
// the same bytes in :1 and :2) and an application layer that differs: the testapp
// binary and 4 MiB of random bytes seeded by the version. Before each update the
// cluster runs :1 and neither node has :2: after each, the manifests are put back to
// :1 with kubectl apply, the pods on :2 are waited out, and :2 is removed from both
// nodes' containerd (ctr images rm --sync), its blobs and snapshot checked gone.
//
// Measured per update: the wall time until the command returns (imgup apply; the
// last rollout status); when every pod runs :2, Ready (polled, the same test for both
// ways); the images' way to both nodes (imgup: until it says what it wrote to each
// node, its plan's read of the archive included; by hand, the two imports); what
// each node's content store gained (the blobs it lacked, from the store's folder)
// and what imgup says it wrote there; and, polled every 100 ms from this process, the
// time the Deployment had fewer than 2 Ready pods that are not being deleted. The
// machine's load average is noted with each update.
//
// IMGUP_BENCH_ROUNDS sets the rounds (5); IMGUP_BENCH_ARCHIVE=plain writes the
// archives with kuberig.WriteImage instead of docker save; IMGUP_BENCH_OUT receives
// the table.
func TestKubeBench(t *testing.T) {
	rounds := benchRounds(5)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Minute)
	defer cancel()
	unlock, err := kuberig.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	c, err := kuberig.Start(ctx, kuberig.Options{Nodes: 2, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	work := t.TempDir()
	app := filepath.Join(work, "testapp")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", app, "github.com/encoo-tools/imgup/internal/e2e/testapp")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building testapp: %v: %s", err, out)
	}
	prog, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	// The archives: by default what `docker save` of this machine's engine writes
	// (Docker 20.10: the classic layout, a folder per layer with its v1 json), as an
	// operator receives them; IMGUP_BENCH_ARCHIVE=plain writes them with
	// kuberig.WriteImage (config, <diffID>/layer.tar, manifest.json; no v1 json).
	form := os.Getenv("IMGUP_BENCH_ARCHIVE")
	if form == "" {
		form = "docker"
	}
	repo := "imgup.invalid/kube-bench-" + form
	base := seeded(0, 64<<20)
	var eng *dockertest.Engine
	ctxDir := filepath.Join(work, "ctx")
	if form == "docker" {
		eng = dockertest.New(t)
		os.MkdirAll(ctxDir, 0o755)
		for name, b := range map[string][]byte{"base.bin": base, "testapp": prog} {
			if err := os.WriteFile(filepath.Join(ctxDir, name), b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	} else if form != "plain" {
		t.Fatalf("IMGUP_BENCH_ARCHIVE=%s: docker or plain", form)
	}
	image := func(tag string) (string, string) {
		path := filepath.Join(work, "archive-"+tag+".tar")
		v, _ := strconv.Atoi(tag)
		assets := seeded(uint64(v), 4<<20)
		if form == "docker" {
			if err := os.WriteFile(filepath.Join(ctxDir, "assets.bin"), assets, 0o644); err != nil {
				t.Fatal(err)
			}
			// The base layer is the same in every version (the build cache, the same
			// bytes); the application layer is new.
			ref := eng.Ref("kube-bench", tag)
			df := "FROM scratch\nCOPY base.bin /base.bin\nCOPY testapp assets.bin /\nENV MODE=ok VERSION=" + tag + "\nENTRYPOINT [\"/testapp\"]\n"
			if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
				t.Fatal(err)
			}
			dockertest.Docker(t, "build", "-q", "-t", ref, ctxDir)
			id := eng.ImageID(t, ref)
			dockertest.Docker(t, "tag", ref, repo+":"+tag)
			eng.Save(t, path, repo+":"+tag)
			// rmi -f by ID removes both names when the test ends.
			t.Cleanup(func() { eng.Remove(t, id) })
			return path, id
		}
		id, err := kuberig.WriteImage(path, kuberig.Image{
			Ref:        repo + ":" + tag,
			Base:       []map[string][]byte{{"base.bin": base}},
			Files:      map[string][]byte{"testapp": prog, "assets.bin": assets},
			Entrypoint: []string{"/testapp"},
			Env:        []string{"MODE=ok", "VERSION=" + tag},
		})
		if err != nil {
			t.Fatal(err)
		}
		return path, id
	}
	// The name containerd gives the images.
	cname := repo
	tar1, id1 := image("1")
	tar2, id2 := image("2")
	arch2 := readArchive(t, tar2)
	st, _ := os.Stat(tar2)
	t.Logf("archive-2.tar: %d bytes; layers %v; config %d bytes", st.Size(), arch2.layerSizes, arch2.configSize)
	if err := c.ImportAll(ctx, tar1); err != nil {
		t.Fatal(err)
	}

	ns := "bench"
	dir := filepath.Join(work, "deploy")
	os.MkdirAll(dir, 0o755)
	manifests := func(tag string) {
		for name, text := range map[string]string{"web.yaml": benchWeb, "store.yaml": benchStore} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(text, "IMAGE", repo+":"+tag)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	manifests("1")
	settings := "kubernetes:\n  kubeconfig: " + c.Kubeconfig + "\n  namespace: " + ns + "\n  snapshotter: native\nnodes:\n"
	for _, n := range c.Nodes {
		settings += "  " + n.Name + ": unix://" + n.Containerd + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl := func(timeout time.Duration, args ...string) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(cctx, filepath.Join(c.Bin, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	kubectl(time.Minute, "create", "namespace", ns)
	kubectl(time.Minute, "apply", "-n", ns, "-f", "web.yaml", "-f", "store.yaml")
	// 2 web, 1 store, 2 agent pods.
	waitPods(ctx, t, c, ns, id1, 5, []string{id2})

	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}

	// absent2 checks that neither node has :2: no image, no blob of its own (the
	// application layer, the config), no snapshot of its application layer.
	chain2 := arch2.chainIDs[len(arch2.chainIDs)-1]
	own2 := []string{arch2.layerDigests[len(arch2.layerDigests)-1], id2}
	absent2 := func() error {
		for _, n := range c.Nodes {
			out, err := c.Ctr(ctx, n, "images", "ls", "-q")
			if err != nil {
				return err
			}
			if strings.Contains(out, repo+":2") || strings.Contains(out, id2) {
				return fmt.Errorf("%s has %s:2", n.Name, repo)
			}
			blobs := contentBlobs(t, n)
			for _, d := range own2 {
				if _, ok := blobs[d]; ok {
					return fmt.Errorf("%s has blob %s", n.Name, d)
				}
			}
			if out, err := c.Ctr(ctx, n, "snapshots", "--snapshotter", "native", "ls"); err != nil {
				return err
			} else if strings.Contains(out, chain2) {
				return fmt.Errorf("%s has the snapshot of :2's application layer", n.Name)
			}
		}
		return nil
	}
	if err := absent2(); err != nil {
		t.Fatal(err)
	}
	// back1 brings the cluster back to :1 and removes :2 from both nodes.
	back1 := func() {
		t.Helper()
		start := time.Now()
		manifests("1")
		kubectl(time.Minute, "apply", "-n", ns, "-f", "web.yaml", "-f", "store.yaml")
		waitPods(ctx, t, c, ns, id1, 5, []string{id2})
		// The kubelet removes the exited containers of deleted pods; until then they
		// hold the snapshots of :2.
		for _, n := range c.Nodes {
			for deadline := time.Now().Add(3 * time.Minute); ; {
				out, err := c.Ctr(ctx, n, "containers", "ls")
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(out, repo+":2") && !strings.Contains(out, id2) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: containers of :2 are left after 3m:\n%s", n.Name, out)
				}
				time.Sleep(time.Second)
			}
			// The CRI plugin names an image by its ID too (sha256:…) once it has
			// seen it: that record holds the blobs as well.
			for _, name := range []string{cname + ":2", id2} {
				if out, err := c.Ctr(ctx, n, "images", "rm", "--sync", name); err != nil && !strings.Contains(err.Error(), "not found") {
					t.Fatalf("%s: ctr images rm: %v %s", n.Name, err, out)
				}
			}
		}
		for deadline := time.Now().Add(time.Minute); ; {
			err := absent2()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				for _, n := range c.Nodes {
					for _, args := range [][]string{{"images", "ls"}, {"leases", "ls"}, {"containers", "ls"}, {"content", "ls"}, {"snapshots", "--snapshotter", "native", "ls"}} {
						out, err := c.Ctr(ctx, n, args...)
						t.Logf("%s: ctr %s: %v\n%s", n.Name, strings.Join(args, " "), err, out)
					}
				}
				t.Fatalf("after the reset: %v", err)
			}
			time.Sleep(time.Second)
		}
		t.Logf("back to :1, :2 gone from both nodes, in %s", time.Since(start).Round(100*time.Millisecond))
	}

	env := append(os.Environ(), "PATH="+c.Bin+":"+os.Getenv("PATH"), "LC_ALL=C")
	var runs []kubeBenchRun
	for r := 1; r <= rounds; r++ {
		ways := []string{"imgup", "hand"}
		if r%2 == 0 {
			ways = []string{"hand", "imgup"}
		}
		for _, how := range ways {
			run := kubeBenchRun{round: r, how: how, missing: map[string]int64{}, wrote: map[string]int64{}, load: loadAvg()}
			before := map[string]map[string]int64{}
			for _, n := range c.Nodes {
				before[n.Name] = contentBlobs(t, n)
			}
			poll := pollReady(ctx, hc, cfg.Host, ns, id2, 5)
			start := time.Now()
			if how == "imgup" {
				cmd := exec.CommandContext(ctx, imgupBin, "apply", "--yes", "--timeout", "300s", "-C", dir, tar2)
				cmd.Env = env
				out := &stampWriter{start: start}
				cmd.Stdout, cmd.Stderr = out, out
				err := cmd.Run()
				run.seconds = time.Since(start).Seconds()
				if err != nil {
					t.Fatalf("imgup apply: %v\n%s", err, out.String())
				}
				for _, m := range wroteRE.FindAllStringSubmatch(out.String(), -1) {
					for _, n := range c.Nodes {
						if m[1] == n.Name || strings.Contains(m[1], n.Containerd) {
							run.wrote[n.Name] = humanBytes(m[2], m[3])
						}
					}
				}
				// The images are in both nodes when apply says what it wrote there (the
				// plan's read of the archive, then the load).
				for _, m := range wroteAtRE.FindAllStringSubmatch(out.String(), -1) {
					run.images, _ = strconv.ParseFloat(m[1], 64)
				}
				if recs, err := history.List(dir); err == nil && len(recs) > 0 {
					var stages []string
					for _, s := range recs[0].Stages {
						stages = append(stages, fmt.Sprintf("%s %.1fs", s.Name, s.Seconds))
					}
					t.Logf("imgup's stages: %s", strings.Join(stages, ", "))
				}
				if r == 1 {
					t.Logf("imgup apply, round 1:\n%s", out.String())
				}
			} else {
				for _, n := range c.Nodes {
					if err := c.Import(ctx, n, tar2); err != nil {
						t.Fatal(err)
					}
				}
				run.images = time.Since(start).Seconds()
				sh(t, fmt.Sprintf("cd %s && sed -i 's#%s:1#%s:2#' web.yaml store.yaml", dir, repo, repo))
				kubectl(5*time.Minute, "apply", "-n", ns, "-f", "web.yaml", "-f", "store.yaml")
				for _, w := range []string{"deployment/web", "statefulset/store", "daemonset/agent"} {
					kubectl(5*time.Minute, "rollout", "status", "-n", ns, "--timeout", "300s", w)
				}
				run.seconds = time.Since(start).Seconds()
				for _, n := range c.Nodes {
					run.wrote[n.Name] = st.Size()
				}
			}
			p := poll()
			run.below, run.minReady, run.samples, run.failed, run.allAt = p.below, p.fewest, p.polls, p.failed, p.allAt
			waitPods(ctx, t, c, ns, id2, 5, []string{id1})
			for _, n := range c.Nodes {
				for d, size := range contentBlobs(t, n) {
					if _, ok := before[n.Name][d]; !ok {
						run.missing[n.Name] += size
					}
				}
			}
			t.Logf("round %d, %s: %.1f s (images to both nodes %.1f s; every pod on :2, Ready, at %.1f s); Deployment below 2 Ready %.1f s (fewest %d, %d polls, %d failed); per node: missing %v, wrote %v",
				r, how, run.seconds, run.images, run.allAt, run.below, run.minReady, run.samples, run.failed, run.missing, run.wrote)
			runs = append(runs, run)
			back1()
		}
	}
	table := kubeBenchTable(runs, c.Nodes, st.Size(), arch2)
	t.Log("\n" + table)
	if out := os.Getenv("IMGUP_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(table), 0o644)
	}
}

type kubeBenchRun struct {
	round          int
	how            string
	seconds        float64
	images         float64
	below          float64
	minReady       int
	samples        int
	failed         int
	allAt          float64
	load           string // /proc/loadavg's 1-minute figure when the update started
	missing, wrote map[string]int64
}

func kubeBenchTable(runs []kubeBenchRun, nodes []*kuberig.Node, archive int64, a benchArchive) string {
	pick := func(how string) []kubeBenchRun {
		var out []kubeBenchRun
		for _, r := range runs {
			if r.how == how {
				out = append(out, r)
			}
		}
		return out
	}
	med := func(rs []kubeBenchRun, f func(kubeBenchRun) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	whole := func(r kubeBenchRun) float64 { return r.seconds }
	images := func(r kubeBenchRun) float64 { return r.images }
	below := func(r kubeBenchRun) float64 { return r.below }
	allAt := func(r kubeBenchRun) float64 { return r.allAt }
	im, hand := pick("imgup"), pick("hand")
	var b strings.Builder
	fmt.Fprintf(&b, "| way | whole update, median s | rounds (s) | every pod on :2 and Ready, median s | rounds (s) | images to both nodes, median s | rounds (s) | Deployment below 2 Ready, median s | rounds (s) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, w := range []struct {
		name string
		rs   []kubeBenchRun
	}{{"imgup apply", im}, {"by hand (ctr import on each node, sed, kubectl apply, rollout status ×3)", hand}} {
		fmt.Fprintf(&b, "| %s | %.1f | %s | %.1f | %s | %.1f | %s | %.1f | %s |\n", w.name, med(w.rs, whole), secs(w.rs, whole), med(w.rs, allAt), secs(w.rs, allAt),
			med(w.rs, images), secs(w.rs, images), med(w.rs, below), secs(w.rs, below))
	}
	fmt.Fprintf(&b, "\nimgup / by hand: %.2f for the whole update, %.2f until every pod is on :2, %.2f for the images' way to the nodes.\n\n",
		med(im, whole)/med(hand, whole), med(im, allAt)/med(hand, allAt), med(im, images)/med(hand, images))
	fmt.Fprintf(&b, "| node | its missing blobs (imgup rounds), median MB | imgup wrote (its report), median MB | ratio, worst round | by hand: ctr import writes, MB (every blob of the archive) | by hand / missing |\n|---|---|---|---|---|---|\n")
	for _, n := range nodes {
		miss := med(im, func(r kubeBenchRun) float64 { return float64(r.missing[n.Name]) })
		wrote := med(im, func(r kubeBenchRun) float64 { return float64(r.wrote[n.Name]) })
		worst := 0.0
		for _, r := range im {
			if x := float64(r.wrote[n.Name]) / float64(r.missing[n.Name]); x > worst {
				worst = x
			}
		}
		handMiss := med(hand, func(r kubeBenchRun) float64 { return float64(r.missing[n.Name]) })
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.3f | %.2f | %.1f |\n", n.Name, miss/1e6, wrote/1e6, worst, float64(archive)/1e6, float64(archive)/handMiss)
	}
	fmt.Fprintf(&b, "\nThe archive: %.2f MB (layers %s MB, config %d B). Polls of the Deployment per update (median): imgup %.0f, by hand %.0f; fewest Ready pods seen: imgup %d, by hand %d.\n",
		float64(archive)/1e6, mbList(a.layerSizes), a.configSize,
		med(im, func(r kubeBenchRun) float64 { return float64(r.samples) }), med(hand, func(r kubeBenchRun) float64 { return float64(r.samples) }),
		minOf(im), minOf(hand))
	fmt.Fprintf(&b, "\nAll rounds (s):\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "- round %d, %s (load average %s): whole %.2f, every pod on :2 at %.2f, images %.2f, below 2 Ready %.1f; per node missing/wrote MB:", r.round, r.how, r.load, r.seconds, r.allAt, r.images, r.below)
		for _, n := range nodes {
			fmt.Fprintf(&b, " %s %.2f/%.2f", n.Name, float64(r.missing[n.Name])/1e6, float64(r.wrote[n.Name])/1e6)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func minOf(rs []kubeBenchRun) int {
	m := -1
	for _, r := range rs {
		if m < 0 || r.minReady < m {
			m = r.minReady
		}
	}
	return m
}

func mbList(sizes []int64) string {
	var s []string
	for _, x := range sizes {
		s = append(s, fmt.Sprintf("%.2f", float64(x)/1e6))
	}
	return strings.Join(s, " + ")
}

// wroteAtRE finds the stamp of apply's line per node (stampWriter's).
var wroteAtRE = regexp.MustCompile(`(?m)^\[ *([0-9.]+)s\] .*wrote .* to its containerd`)

// wroteRE finds apply's line per node: "node node1: wrote 4.2 MB to its containerd".
var wroteRE = regexp.MustCompile(`node (\S+): wrote ([0-9.]+) (B|kB|MB|GB) to its containerd`)

func humanBytes(v, unit string) int64 {
	f, _ := strconv.ParseFloat(v, 64)
	return int64(f * map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit])
}

// seeded is n random bytes from a seed: the same bytes on every run.
func seeded(seed uint64, n int) []byte {
	var key [32]byte
	key[0] = byte(seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// contentBlobs lists the node's containerd content store: size by digest.
func contentBlobs(t *testing.T, n *kuberig.Node) map[string]int64 {
	t.Helper()
	dir := filepath.Join(n.Dir, "containerd", "root", "io.containerd.content.v1.content", "blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			out["sha256:"+e.Name()] = info.Size()
		}
	}
	return out
}

// benchArchive is what the test reads of a docker-save archive.
type benchArchive struct {
	layerSizes   []int64
	layerDigests []string
	chainIDs     []string
	configSize   int64
}

func readArchive(t *testing.T, path string) benchArchive {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var a benchArchive
	sizes := map[string]int64{}
	var manifest []struct {
		Config string
		Layers []string
	}
	var configs = map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sizes[h.Name] = h.Size
		switch {
		case h.Name == "manifest.json":
			b, _ := io.ReadAll(tr)
			json.Unmarshal(b, &manifest)
		case strings.HasSuffix(h.Name, ".json"):
			configs[h.Name], _ = io.ReadAll(tr)
		}
	}
	if len(manifest) != 1 {
		t.Fatalf("%s: %d images", path, len(manifest))
	}
	var config struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	json.Unmarshal(configs[manifest[0].Config], &config)
	a.configSize = sizes[manifest[0].Config]
	for i, l := range manifest[0].Layers {
		a.layerSizes = append(a.layerSizes, sizes[l])
		d := config.RootFS.DiffIDs[i]
		a.layerDigests = append(a.layerDigests, d) // uncompressed: the blob is the diff
		if i == 0 {
			a.chainIDs = append(a.chainIDs, d)
		} else {
			a.chainIDs = append(a.chainIDs, digestOf(a.chainIDs[i-1]+" "+d))
		}
	}
	return a
}

// pollReady polls, every 100 ms until the returned func is called, the pods of ns.
// It sums the time the Deployment web had fewer than 2 pods Ready and not being
// deleted (from each poll that saw fewer to the next poll), and notes when the
// namespace first held exactly want pods not being deleted, all Ready, all running
// image id: the update done, the same test for both ways. The returned func waits
// for that (3 minutes at most) before it stops polling.
func pollReady(ctx context.Context, hc *http.Client, host, ns, id string, want int) func() kubePoll {
	stop := make(chan struct{})
	done := make(chan kubePoll, 1)
	stopped := false
	url := strings.TrimSuffix(host, "/") + "/api/v1/namespaces/" + ns + "/pods"
	start := time.Now()
	go func() {
		res := kubePoll{fewest: -1}
		var below time.Duration
		var last time.Time
		lastBelow := false
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			ready, all, err := readyPods(ctx, hc, url, id, want)
			now := time.Now()
			if err != nil {
				res.failed++
			} else {
				res.polls++
				if lastBelow {
					below += now.Sub(last)
				}
				last, lastBelow = now, ready < 2
				if res.fewest < 0 || ready < res.fewest {
					res.fewest = ready
				}
				if all && res.allAt == 0 {
					res.allAt = now.Sub(start).Seconds()
				}
			}
			select {
			case <-stop:
				if res.allAt == 0 && time.Since(start) < 3*time.Minute {
					<-tick.C
					continue
				}
				res.below = below.Seconds()
				done <- res
				return
			case <-tick.C:
			}
		}
	}()
	return func() kubePoll {
		if !stopped {
			stopped = true
			close(stop)
		}
		return <-done
	}
}

// kubePoll is what pollReady saw: below, the seconds the Deployment had fewer than 2
// Ready pods; fewest, the fewest it had; allAt, the seconds from the start until
// every pod ran the new image, Ready (0: never seen).
type kubePoll struct {
	below, allAt          float64
	fewest, polls, failed int
}

// readyPods counts the Ready pods of the Deployment web (app=web, not being
// deleted), and says whether the namespace holds want pods not being deleted (those
// being deleted, as kubectl rollout status and imgup do, are not counted), all
// Ready, every container on image id.
func readyPods(ctx context.Context, hc *http.Client, url, id string, want int) (int, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, false, fmt.Errorf("%s", resp.Status)
	}
	var list corev1.PodList
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return 0, false, err
	}
	web, good, live := 0, 0, 0
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			live++
		}
		ready := false
		for _, c := range p.Status.Conditions {
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		if p.DeletionTimestamp != nil || !ready {
			continue
		}
		if p.Labels["app"] == "web" {
			web++
		}
		onID := len(p.Status.ContainerStatuses) > 0
		for _, c := range p.Status.ContainerStatuses {
			onID = onID && c.ImageID == id
		}
		if onID {
			good++
		}
	}
	return web, good == want && live == want, nil
}

// benchWeb is the Deployment: 2 replicas, one per node, never fewer than 2 available
// during an update (maxUnavailable 0), Ready when testapp answers.
const benchWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  progressDeadlineSeconds: 240
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: IMAGE
        imagePullPolicy: Never
        readinessProbe:
          exec: {command: [/testapp, health]}
          periodSeconds: 1
`

// benchStore is a StatefulSet (1 replica, its headless Service) and a DaemonSet.
const benchStore = `apiVersion: v1
kind: Service
metadata:
  name: store
spec:
  clusterIP: None
  selector: {app: store}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: store
spec:
  serviceName: store
  replicas: 1
  selector:
    matchLabels: {app: store}
  template:
    metadata:
      labels: {app: store}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - name: store
        image: IMAGE
        imagePullPolicy: Never
        readinessProbe:
          exec: {command: [/testapp, health]}
          periodSeconds: 1
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 2
      containers:
      - name: agent
        image: IMAGE
        imagePullPolicy: Never
        readinessProbe:
          exec: {command: [/testapp, health]}
          periodSeconds: 1
`

// digestOf is the sha256 digest of s ("sha256:…").
func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// stampWriter keeps what a command writes, each line prefixed by the seconds since
// start when it came.
type stampWriter struct {
	start   time.Time
	partial bool
	buf     bytes.Buffer
}

func (w *stampWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !w.partial {
			fmt.Fprintf(&w.buf, "[%5.2fs] ", time.Since(w.start).Seconds())
		}
		w.buf.Write(line)
		w.partial = line[len(line)-1] != '\n'
	}
	return len(b), nil
}

func (w *stampWriter) String() string { return w.buf.String() }

// loadAvg is the machine's load average over the last minute.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
