package nodestore

import (
	"context"
	"strings"
	"testing"
)

// A node that does not answer is named, with the reason, in one error.
func TestDialErrorsNameTheNode(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ addr, says string }{
		{"unix:///nonexistent/imgup/containerd.sock", "no containerd at /nonexistent/imgup/containerd.sock: dial unix /nonexistent/imgup/containerd.sock: connect: no such file or directory"},
		{"ssh://nobody@127.0.0.1:1/run/containerd/containerd.sock", "ssh: "},
		{"ssh://127.0.0.1", "not an ssh://user@host[:port]/path/to/containerd.sock address"},
		{"tcp://10.0.0.1:2375", "not a containerd address"},
	} {
		_, err := Dial(ctx, c.addr)
		if err == nil {
			t.Fatalf("%s: dialed", c.addr)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "node "+c.addr+": ") || !strings.Contains(msg, c.says) || strings.Count(msg, c.addr) != 1 {
			t.Errorf("%s: %s", c.addr, msg)
		}
	}
}
