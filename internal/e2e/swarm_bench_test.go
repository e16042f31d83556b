//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/history"

	"github.com/encoo-tools/imgup/internal/e2e/dockertest"
	"github.com/encoo-tools/imgup/internal/e2e/swarmrig"
)

// BenchmarkSwarmUpdate measures an update of a 3-node offline swarm, imgup against
// the way by hand, in interleaved rounds on the same rig (scripts/bench-swarm.sh runs
// it and writes the table into docs/benchmarks.md):
//
//   - imgup: imgup apply of the .tar.gz (the images to every node, only the layers
//     each lacks; docker stack deploy; every task verified);
//   - by hand: the .tar.gz copied to each node, docker load on each, .systemconfig
//     edited, docker stack deploy, and waiting until every task runs the new image,
//     healthy.
//
// The image is 250 MB: a 240 MB base every node has, and a 10 MB application layer
// that changes each round. The service has 3 replicas and updates start-first.
func BenchmarkSwarmUpdate(b *testing.B) {
	rounds := benchRounds(3)
	rig := startRig(b)
	eng := dockertest.New(b)
	work := b.TempDir()
	base := eng.Ref("acme/base", "1")
	eng.Build(b, base, "ok", 240<<20)
	version := 0
	newApp := func() (string, string, string) {
		version++
		ref := eng.Ref("acme/app", strconv.Itoa(version))
		id := eng.BuildOn(b, ref, base, 10<<20)
		file := filepath.Join(work, fmt.Sprintf("app-%d.tar.gz", version))
		sh(b, fmt.Sprintf("docker save %s | gzip -1 > %s", ref, file))
		return ref, id, file
	}
	// Every node starts with the base and the first version, loaded by hand.
	_, firstID, first := newApp()
	if err := rig.Load(first); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(work, "stack")
	os.MkdirAll(dir, 0o755)
	compose := fmt.Sprintf(`version: "3.8"
services:
  web:
    image: %s/acme/app:${APP_VERSION}
    command: ["serve"]
    deploy:
      replicas: 3
      update_config:
        order: start-first
        parallelism: 3
`+testHealth, eng.Prefix)
	os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(compose), 0o644)
	os.WriteFile(filepath.Join(dir, ".systemconfig"), []byte("APP_VERSION=1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "imgup.yaml"), []byte(nodesYAML(rig)), 0o644)
	stack := "imgupbench" + eng.Run
	deploy := func(v int) {
		stackDeploy(b, rig, dir, stack, fmt.Sprintf("APP_VERSION=%d", v))
	}
	deploy(1)
	waitTasks(b, rig, stack+"_web", firstID, 3)

	type result struct {
		// seconds is the whole update; load the images' way to every node (imgup's
		// load stage; by hand, the copies and the docker loads).
		seconds, load, unavailable float64
		sent                       int64
	}
	var imgupRuns, handRuns []result
	for r := 0; r < rounds; r++ {
		for _, how := range []string{"imgup", "hand"} {
			_, id, file := newApp()
			start := time.Now()
			var res result
			if how == "imgup" {
				cmd := exec.Command(imgupBin, "apply", "--yes", "--json", "--timeout", "300s", "-C", dir, file)
				cmd.Env = append(os.Environ(), "DOCKER_HOST="+rig.Manager().Host)
				var out, errb bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil {
					b.Fatalf("imgup apply: %v\n%s\n%s", err, out.String(), errb.String())
				}
				res.seconds = time.Since(start).Seconds()
				var v struct {
					Services []struct {
						Service, Downtime string
						Updated           bool
					} `json:"services"`
				}
				json.Unmarshal(out.Bytes(), &v)
				for _, s := range v.Services {
					if s.Updated && s.Downtime != "" && s.Downtime != "-" {
						if d, err := time.ParseDuration(s.Downtime); err == nil && d.Seconds() > res.unavailable {
							res.unavailable = d.Seconds()
						}
					}
				}
				res.sent = sentBytes(errb.String())
				if recs, err := history.List(dir); err == nil && len(recs) > 0 {
					for _, st := range recs[0].Stages {
						if st.Name == "load" {
							res.load = st.Seconds
						}
					}
				}
				imgupRuns = append(imgupRuns, res)
			} else {
				for _, n := range rig.Nodes {
					// The copy to each node (scp over a real network), then docker load there.
					dst := filepath.Join(work, n.Name+".tar.gz")
					sh(b, fmt.Sprintf("cp %s %s", file, dst))
					if _, err := rig.Docker(n, "load", "-i", dst); err != nil {
						b.Fatal(err)
					}
					os.Remove(dst)
				}
				res.load = time.Since(start).Seconds()
				os.WriteFile(filepath.Join(dir, ".systemconfig"), []byte(fmt.Sprintf("APP_VERSION=%d\n", version)), 0o644)
				deploy(version)
				waitTasks(b, rig, stack+"_web", id, 3)
				res.seconds = time.Since(start).Seconds()
				handRuns = append(handRuns, res)
			}
			b.Logf("round %d, %s: %.1f s (images to every node %.1f s), unavailable %.1f s, sent %d bytes", r+1, how, res.seconds, res.load, res.unavailable, res.sent)
			os.Remove(file)
		}
	}
	med := func(rs []result, f func(result) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	whole := func(r result) float64 { return r.seconds }
	load := func(r result) float64 { return r.load }
	table := fmt.Sprintf("| way | whole update, median s | rounds (s) | images to every node, median s | rounds (s) |\n|---|---|---|---|---|\n"+
		"| imgup apply | %.1f | %s | %.1f | %s |\n| by hand (copy, docker load on each node, edit, stack deploy, wait) | %.1f | %s | %.1f | %s |\n\n"+
		"imgup / by hand: %.2f for the whole update, %.2f for the images' way to the nodes. imgup's bytes sent to each node per update (median): %.1f MB, against a %.1f MB application layer every node lacks. "+
		"Summed unavailability of the 3-replica service (start-first) during imgup's updates (median): %.1f s.\n",
		med(imgupRuns, whole), secs(imgupRuns, whole), med(imgupRuns, load), secs(imgupRuns, load),
		med(handRuns, whole), secs(handRuns, whole), med(handRuns, load), secs(handRuns, load),
		med(imgupRuns, whole)/med(handRuns, whole), med(imgupRuns, load)/med(handRuns, load),
		med(imgupRuns, func(r result) float64 { return float64(r.sent) })/1e6, float64(10<<20)/1e6,
		med(imgupRuns, func(r result) float64 { return r.unavailable }))
	b.Log("\n" + table)
	if out := os.Getenv("IMGUP_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(table), 0o644)
	}
}

func secs[T any](rs []T, f func(T) float64) string {
	var s []string
	for _, r := range rs {
		s = append(s, fmt.Sprintf("%.1f", f(r)))
	}
	return strings.Join(s, ", ")
}

// sentRE finds the load's summary per node: "node node2: sent 9.4 MB of 261 MB".
var sentRE = regexp.MustCompile(`sent ([0-9.]+) (kB|MB|GB|B) of`)

// sentBytes is the bytes sent to one node, on average over the nodes (each node's
// load says its own).
func sentBytes(events string) int64 {
	var total float64
	ms := sentRE.FindAllStringSubmatch(events, -1)
	for _, m := range ms {
		v, _ := strconv.ParseFloat(m[1], 64)
		total += v * map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
	}
	if len(ms) == 0 {
		return 0
	}
	return int64(total / float64(len(ms)))
}

func sh(b testing.TB, script string) {
	b.Helper()
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// waitTasks waits until the service runs n tasks of image id on the rig, healthy.
func waitTasks(b testing.TB, rig *swarmrig.Rig, service, id string, n int) {
	b.Helper()
	deadline := time.Now().Add(300 * time.Second)
	for {
		got, all := 0, 0
		for _, node := range rig.Nodes {
			ids, _ := rig.Docker(node, "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+service)
			if ids == "" {
				continue
			}
			out, _ := rig.Docker(node, append([]string{"inspect", "--format", "{{.Image}} {{if .State.Health}}{{.State.Health.Status}}{{end}}"}, strings.Fields(ids)...)...)
			for _, l := range strings.Split(out, "\n") {
				if l != "" {
					all++
				}
				if l == id+" healthy" {
					got++
				}
			}
		}
		if got == n && all == n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d of %d tasks run %s, healthy", service, got, n, id)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
