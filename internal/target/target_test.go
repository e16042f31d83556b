package target

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/encoo-tools/imgup/internal/event"
)

// A child that prints a line longer than any buffer must not block: imgup keeps
// reading and shows the line cut.
func TestEachLineLong(t *testing.T) {
	in := "short\r\n" + strings.Repeat("x", 1<<20) + "\nend"
	var got []string
	eachLine(strings.NewReader(in), 16, func(l string) { got = append(got, l) })
	want := []string{"short", strings.Repeat("x", 16) + "... (1048560 more bytes)", "end"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
	// A real child writing 1 MiB without a newline finishes.
	cmd := exec.Command("sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo done")
	var lines []string
	emit := func(e event.Event) { lines = append(lines, e.Source+"| "+e.Text) }
	if err := run(cmd, emit, "child"); err != nil || !slices.Contains(lines, "child| done") || len(lines) != 2 {
		t.Errorf("run: %v\n%.200q", err, lines)
	}
}

// Every target is registered once, auto is not a target, and a name no target has is
// refused naming those that exist.
func TestRegistry(t *testing.T) {
	if got := Names(); !slices.Equal(got, []string{Auto, Script, Services, Stack, Kubectl, Helm, None}) {
		t.Errorf("names: %v", got)
	}
	for _, n := range Names()[1:] {
		if _, ok := Get(n); !ok {
			t.Errorf("%s is listed but not found", n)
		}
	}
	if err := Check("swarm"); err == nil || err.Error() != `--restart "swarm": use auto, deploy, services, stack, kubectl, helm or none` {
		t.Errorf("Check(swarm) = %v", err)
	}
	for _, ok := range []string{"", Auto, Script, Services, Stack, None} {
		if err := Check(ok); err != nil {
			t.Errorf("Check(%q) = %v", ok, err)
		}
	}
}
