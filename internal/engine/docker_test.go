// These tests lock down how the engine's answers are read: a load that fails inside a
// 200 OK stream is an error, and an unreachable engine says how to check.
package engine

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func TestDecodeLoad(t *testing.T) {
	ok := `{"stream":"Loaded image: encoo/rpa-service:4.1.76383\n"}` + "\r\n" + `{"stream":"Loaded image ID: sha256:abc\n"}`
	refs, err := decodeLoad(strings.NewReader(ok))
	if err != nil || len(refs) != 2 || refs[0] != "encoo/rpa-service:4.1.76383" || refs[1] != "sha256:abc" {
		t.Errorf("got %v %v", refs, err)
	}
	bad := `{"status":"Loading layer"}` + "\n" + `{"errorDetail":{"message":"open /var/lib/docker/tmp/x/layer.tar: no such file or directory"},"error":"open ..."}`
	if _, err := decodeLoad(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "engine: open /var/lib/docker/tmp/x/layer.tar") {
		t.Errorf("an error inside a 200 OK stream must fail the load: %v", err)
	}
	if _, err := decodeLoad(strings.NewReader(`{"stream": "Loaded image: x:1"`)); err == nil {
		t.Error("a cut answer must fail the load")
	}
}

func TestDemux(t *testing.T) {
	frame := func(stream byte, s string) string {
		n := len(s)
		return string([]byte{stream, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}) + s
	}
	if got := demux([]byte(frame(1, "out\n") + frame(2, "err\n"))); got != "out\nerr\n" {
		t.Errorf("got %q", got)
	}
	if got := demux([]byte("tty log\n")); got != "tty log\n" {
		t.Errorf("got %q", got)
	}
}

func TestUnreachableSaysWhatToCheck(t *testing.T) {
	op := &net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: permission denied")}
	e := &Unreachable{Host: "unix:///var/run/docker.sock", Err: op}
	if !strings.Contains(e.Error(), "run as root or as a member of the docker group") {
		t.Errorf("got %q", e.Error())
	}
}
