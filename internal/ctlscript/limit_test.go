package ctlscript

import (
	"strings"
	"testing"
	"time"
)

// A tool that grows without end or prints without end is stopped, and the run goes on.
func TestToolBounds(t *testing.T) {
	if detectTools().gawkPath() == "" {
		t.Skip("no gawk on this host (scripts/test.sh installs it)")
	}
	start := time.Now()
	got, r := computed(t, map[string]string{"deploy.sh": `X=$(awk 'BEGIN { s = "x"; while (1) s = s s }')
Y=$(awk 'BEGIN { while (1) print "yes" }' | head -n 1)
docker compose -p "a${X}b-$Y" up -d
`})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	t.Logf("%s%s", got, notes(r))
	if !strings.HasPrefix(got, "docker compose -p ab-yes up -d") {
		t.Fatalf("got %q\n%s", got, notes(r))
	}
}
