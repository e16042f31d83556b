package ctlscript

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkStyles dry-runs the control script of each of the team's styles
// (internal/e2e/testdata/styles) once per round.
func BenchmarkStyles(b *testing.B) {
	dirs, _ := filepath.Glob("../e2e/testdata/styles/*")
	type style struct{ root, command string }
	var styles []style
	for _, d := range dirs {
		root, _ := filepath.Abs(d)
		for _, s := range []string{"deploy.sh", "xxctl.sh", "ctl.sh", "start.sh", "restart.sh", "run.sh"} {
			if _, err := os.Stat(filepath.Join(root, s)); err == nil {
				styles = append(styles, style{root, "./" + s + " restart"})
				break
			}
		}
	}
	if len(styles) == 0 {
		b.Skip("no styles")
	}
	b.ResetTimer()
	for b.Loop() {
		for _, s := range styles {
			DryRun(context.Background(), Options{Root: s.root, Command: s.command, Environ: []string{"PATH=/usr/bin:/bin", "HOME=/root"}, ReadFile: read})
		}
	}
	b.ReportMetric(float64(len(styles)), "styles")
}
