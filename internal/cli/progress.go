package cli

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/encoo-tools/imgup/internal/update"
)

// reading shows how far imgup has read an archive: a bar when stderr is a terminal,
// a line before and one after otherwise (logs stay readable).
type reading struct {
	done  func(ok bool)
	count func(int64)
}

func startReading(env *Env, verb, path string, total int64) reading {
	name := update.Safe(filepath.Base(path))
	verb = env.tr().T(verb)
	start := time.Now()
	if total < bigArchive {
		return reading{count: func(int64) {}, done: func(bool) {}}
	}
	if !env.StderrTTY {
		fmt.Fprintf(env.Stderr, "%s %s (%s)...\n", verb, name, humanSize(total))
		return reading{
			count: func(int64) {},
			done: func(ok bool) {
				if ok {
					d := time.Since(start)
					env.tr().Fprintf(env.Stderr, "%s %s: %s in %s (%s/s)\n", verb, name, humanSize(total), d.Round(100*time.Millisecond), humanSize(int64(float64(total)/max(d.Seconds(), 0.001))))
				}
			},
		}
	}
	p := mpb.New(mpb.WithOutput(env.Stderr), mpb.WithWidth(32), mpb.WithRefreshRate(150*time.Millisecond))
	bar := p.AddBar(total,
		mpb.PrependDecorators(decor.Name(verb+" "+name+" ", decor.WC{C: decor.DindentRight}), decor.Counters(decor.SizeB1000(0), "% .1f / % .1f")),
		mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1000(0), "% .1f", decor.WCSyncSpace), decor.Percentage(decor.WCSyncSpace)),
	)
	return reading{
		count: func(n int64) { bar.IncrInt64(n) },
		done: func(ok bool) {
			if ok {
				bar.SetTotal(-1, true)
			} else {
				bar.Abort(false)
			}
			p.Wait()
		},
	}
}
