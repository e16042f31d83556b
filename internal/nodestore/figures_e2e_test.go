//go:build e2e

package nodestore

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/nodestore/nodestoretest"
)

// TestImportFigures measures, for docs/benchmarks.md, an app image (a 64 MiB base and
// an 8 MiB app layer) sent to two nodes, A having the base and B nothing: imgup's
// Import against `ctr -n k8s.io images import` of the whole archive on each node, in
// interleaved rounds, each on fresh daemons. IMGUP_FIGURES=ROUNDS runs it.
func TestImportFigures(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("IMGUP_FIGURES"))
	if rounds == 0 {
		t.Skip("IMGUP_FIGURES=ROUNDS measures the figures")
	}
	ctx := context.Background()
	baseTar, appTar, _, _ := testImages(t, 64<<20, 8<<20)
	st, err := os.Stat(appTar)
	if err != nil {
		t.Fatal(err)
	}
	sizes := layerSizes(t, appTar)
	opt := ImportOptions{Snapshotter: "native"}
	var mine, byHand []time.Duration
	var heap uint64 // the Go heap in use, sampled every 10 ms during imgup's imports
	var written [2]int64
	var missing [2]int64
	ctrImport := func(d *nodestoretest.Daemon, path string) {
		out, err := exec.Command("ctr", "-a", d.Sock, "-n", "k8s.io", "images", "import", "--snapshotter", "native", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ctr import: %v\n%s", err, out)
		}
	}
	imgup := func(t *testing.T) {
		da, db := nodestoretest.Start(t), nodestoretest.Start(t)
		a, b := dial(t, da.Addr), dial(t, db.Addr)
		if _, err := Import(ctx, []*Node{a}, baseTar, opt); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		sampled := make(chan uint64)
		go func() {
			var peak uint64
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					sampled <- peak
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		res, err := Import(ctx, []*Node{a, b}, appTar, opt)
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, time.Since(start))
		close(stop)
		heap = max(heap, <-sampled)
		for i, r := range res {
			written[i], missing[i] = r.Written, r.Missing
		}
	}
	hand := func(t *testing.T) {
		da, db := nodestoretest.Start(t), nodestoretest.Start(t)
		ctrImport(da, baseTar)
		start := time.Now()
		ctrImport(da, appTar)
		ctrImport(db, appTar)
		byHand = append(byHand, time.Since(start))
	}
	for i := range rounds {
		first, second := imgup, hand
		if i%2 == 1 {
			first, second = hand, imgup
		}
		t.Run(fmt.Sprint("round", i, "a"), first)
		t.Run(fmt.Sprint("round", i, "b"), second)
	}
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	const mib = 1 << 20
	t.Logf("archive %.1f MiB (base layer %.1f MiB, app layer %.1f MiB), %d rounds", float64(st.Size())/mib, float64(sizes[0])/mib, float64(sizes[1])/mib, rounds)
	t.Logf("node A (has the base): imgup wrote %.2f MiB, it lacked %.2f MiB (%.3f x); by hand %.1f MiB (the archive)", float64(written[0])/mib, float64(missing[0])/mib, float64(written[0])/float64(missing[0]), float64(st.Size())/mib)
	t.Logf("node B (has nothing):  imgup wrote %.2f MiB, it lacked %.2f MiB (%.3f x); by hand %.1f MiB (the archive)", float64(written[1])/mib, float64(missing[1])/mib, float64(written[1])/float64(missing[1]), float64(st.Size())/mib)
	t.Logf("peak Go heap in use during imgup's imports: %.1f MiB", float64(heap)/mib)
	t.Logf("time, median: imgup %v, by hand (ctr import on A, then on B) %v: %.2f x; imgup %v, by hand %v", med(mine).Round(time.Millisecond), med(byHand).Round(time.Millisecond), float64(med(mine))/float64(med(byHand)), mine, byHand)
}
