//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
)

// BenchmarkSwarmNodeDelta measures what imgup's load writes to each node of a 3-node
// swarm when one node lacks the base the others have (scripts/bench-swarm-delta.sh runs
// it; the table goes into docs/benchmarks.md). Each round builds a new application
// layer (4 MiB) on a 64 MiB base, removes every test image from one worker (the two
// workers take turns: interleaved rounds), and applies the archive (base and
// application). A node is due only the layers it lacks: the application layer, and
// the base too on the node that lost it; the ratio is the bytes imgup wrote to its
// engine over the size of the layers it lacked (the layers' tar entries, as the
// archive holds them).
func BenchmarkSwarmNodeDelta(b *testing.B) {
	rounds := benchRounds(4)
	rig := startRig(b)
	eng := dockertest.New(b)
	work := b.TempDir()
	base := eng.Ref("acme/base", "1")
	eng.Build(b, base, "ok", 64<<20)
	baseTar := filepath.Join(work, "base.tar")
	eng.Save(b, baseTar, base)
	baseLayers := layerBytes(b, baseTar)
	if err := rig.Load(baseTar); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(work, "stack")
	os.MkdirAll(dir, 0o755)
	// The service runs on the manager: the workers hold no container of the images,
	// so that a round can remove them from one worker.
	compose := fmt.Sprintf(`version: "3.8"
services:
  web:
    image: %s/acme/app:${APP_VERSION}
    deploy:
      placement:
        constraints: [node.role==manager]
`+testHealth, eng.Prefix)
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(compose), 0o644)
	os.WriteFile(filepath.Join(dir, ".systemconfig"), []byte("APP_VERSION=0\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(nodesYAML(rig)), 0o644)
	first := eng.Ref("acme/app", "0")
	firstID := eng.BuildOn(b, first, base, 4<<20)
	firstTar := filepath.Join(work, "app-0.tar")
	eng.Save(b, firstTar, first)
	if err := rig.Load(firstTar); err != nil {
		b.Fatal(err)
	}
	stack := "imgupdelta" + eng.Run
	stackDeploy(b, rig, dir, stack, "APP_VERSION=0")
	waitTasks(b, rig, stack+"_web", firstID, 1)

	type row struct {
		round     int
		node      string
		lacks     string
		sent, due float64
	}
	var rows []row
	worst := 0.0
	for r := 1; r <= rounds; r++ {
		ref := eng.Ref("acme/app", strconv.Itoa(r))
		id := eng.BuildOn(b, ref, base, 4<<20)
		tar := filepath.Join(work, fmt.Sprintf("app-%d.tar", r))
		eng.Save(b, tar, ref)
		all := layerBytes(b, tar)
		appLayer := all - baseLayers
		// One worker loses every test image: it lacks the base again.
		bare := rig.Nodes[1+(r-1)%2]
		if ids, _ := rig.Docker(bare, "images", "-q", "--filter", "reference="+eng.Prefix+"/*/*"); ids != "" {
			if _, err := rig.Docker(bare, append([]string{"rmi", "-f"}, strings.Fields(ids)...)...); err != nil {
				b.Fatal(err)
			}
		}
		c := exec.Command(imgupBin, "apply", "--yes", "--timeout", "300s", "-C", dir, tar)
		c.Env = append(os.Environ(), "DOCKER_HOST="+rig.Manager().Host)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Run(); err != nil {
			b.Fatalf("imgup apply: %v\n%s", err, out.String())
		}
		waitTasks(b, rig, stack+"_web", id, 1)
		got := map[string]float64{}
		for _, m := range regexp.MustCompile(`node (\S+): sent ([0-9.]+) (B|kB|MB|GB) of`).FindAllStringSubmatch(out.String(), -1) {
			v, _ := strconv.ParseFloat(m[2], 64)
			got[m[1]] = v * map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m[3]]
		}
		for _, n := range rig.Nodes {
			due, lacks := appLayer, "the application layer"
			if n == bare {
				due, lacks = all, "the base and the application layer"
			}
			ratio := got[n.Name] / due
			if ratio > worst {
				worst = ratio
			}
			rows = append(rows, row{round: r, node: n.Name, lacks: lacks, sent: got[n.Name], due: due})
			b.Logf("round %d: %s (lacks %s, %.1f MB) was sent %.1f MB: %.3f×", r, n.Name, lacks, due/1e6, got[n.Name]/1e6, ratio)
		}
	}
	var t strings.Builder
	t.WriteString("| round | node | lacks | its missing layers, MB | imgup sent it, MB | ratio |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&t, "| %d | %s | %s | %.2f | %.2f | %.3f |\n", r.round, r.node, r.lacks, r.due/1e6, r.sent/1e6, r.sent/r.due)
	}
	fmt.Fprintf(&t, "\nWorst ratio of bytes sent to a node over its missing layers: %.3f (goal ≤ 1.1).\n", worst)
	b.Log("\n" + t.String())
	if out := os.Getenv("IMGUP_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(t.String()), 0o644)
	}
}

// layerBytes is the size of the layer entries (*/layer.tar, blobs of a layer) of a
// docker save tar: what a node that lacks every layer of it is due, metadata aside.
func layerBytes(b testing.TB, tar string) float64 {
	b.Helper()
	out, err := exec.Command("tar", "-tvf", tar).Output()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasPrefix(f[0], "-") {
			continue
		}
		name := f[len(f)-1]
		if strings.HasSuffix(name, "/layer.tar") {
			v, _ := strconv.ParseFloat(f[2], 64)
			total += v
		}
	}
	return total
}
