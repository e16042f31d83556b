// This test locks down imgup under hostile archives: each crafted file, made here, is
// refused with one line naming it (or shown safely), in under 2 s, by a child process
// whose peak RSS stays under the ceiling, whatever the file says about itself.
package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/encoo-tools/imgup/internal/archive/archivetest"
)

// memCeiling is the documented ceiling of imgup's peak RSS (README, "Safety"). It
// was 64 MiB until the binary took in the containerd and Kubernetes clients, whose
// code alone adds some 15 MiB to every command's resident pages (31 MiB for a refusal
// where 16 MiB was); what an archive can make imgup hold is bounded as before.
const memCeiling = 80 << 20

type hostile struct {
	name string
	data func(t *testing.T) []byte
	// want is in stderr (exit 1), or, with ok, the command succeeds and out must not
	// hold a raw escape character.
	want string
	ok   bool
}

func rawTar(t *testing.T, entries ...func(*tar.Writer)) []byte {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, e := range entries {
		e(w)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func file(name string, body []byte) func(*tar.Writer) {
	return func(w *tar.Writer) {
		w.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, Format: tar.FormatPAX})
		w.Write(body)
	}
}

func link(name, target string, typ byte) func(*tar.Writer) {
	return func(w *tar.Writer) {
		w.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o644, Typeflag: typ})
	}
}

// classic is a real docker save tar of one random image.
func classic(t *testing.T) []byte {
	return archivetest.Classic(t, []archivetest.Image{archivetest.Random(t, 1, "encoo/console-web-v4-pvt:4.1.76383")}, nil)
}

// withTail appends entries to a tar (dropping its two zero blocks).
func withTail(t *testing.T, base []byte, entries ...func(*tar.Writer)) []byte {
	tail := rawTar(t, entries...)
	return append(append([]byte{}, base[:len(base)-1024]...), tail...)
}

// zeroBlockTar is a tar with one entry of n zero bytes, compressed by c.
func zstdWith(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b, zstd.WithWindowSize(1<<20), zstd.WithSingleSegment(false))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func hostileCases() []hostile {
	return []hostile{
		{name: "long-names.tar.zst", want: "an entry name of", data: func(t *testing.T) []byte {
			var es []func(*tar.Writer)
			for i := 0; i < 40; i++ {
				es = append(es, file(fmt.Sprintf("%0500000d", i), nil))
			}
			return zstdWith(t, rawTar(t, es...))
		}},
		{name: "many-entries.tar.gz", want: "more than 20000 entries", data: func(t *testing.T) []byte {
			es := []func(*tar.Writer){file("manifest.json", []byte("[]"))}
			for i := 0; i < 20001; i++ {
				es = append(es, file(fmt.Sprintf("%064x/layer.tar", i), nil))
			}
			return archivetest.Compress(t, "gzip", rawTar(t, es...))
		}},
		{name: "xz-4GiB-dictionary.tar.xz", want: "asks for a 4.0 GiB window, more than imgup's limit of 32 MiB", data: func(t *testing.T) []byte {
			var b bytes.Buffer
			w, _ := xz.NewWriter(&b)
			w.Write(classic(t))
			w.Close()
			x := b.Bytes()
			// Patch the first block's LZMA2 dictionary byte to 40 (4 GiB), and its CRC.
			hs := (int(x[12]) + 1) * 4
			hdr := x[12 : 12+hs]
			i := bytes.Index(hdr, []byte{0x21, 0x01})
			hdr[i+2] = 40
			binary.LittleEndian.PutUint32(hdr[hs-4:], crc32.ChecksumIEEE(hdr[:hs-4]))
			return x
		}},
		{name: "zstd-1GiB-window.tar.zst", want: "window larger than imgup's limit of 32 MiB", data: func(t *testing.T) []byte {
			z := zstdWith(t, classic(t))
			if z[4]&0x20 != 0 {
				t.Fatal("test bug: single-segment frame has no window descriptor")
			}
			z[5] = 20 << 3 // Window_Descriptor: 1 << (10+20) = 1 GiB
			return z
		}},
		{name: "sparse-2^62.tar", want: "", data: func(t *testing.T) []byte {
			// An old-GNU sparse header ('S') whose real size is 2^62, in base-256.
			var h [512]byte
			copy(h[0:], "zeros")
			copy(h[100:], "0000644\x00")
			copy(h[124:], "00000000000\x00")
			copy(h[136:], "00000000000\x00")
			h[156] = 'S'
			copy(h[257:], "ustar  \x00")
			h[483] = 0x80
			binary.BigEndian.PutUint64(h[487:495], 1<<62)
			copy(h[148:], "        ")
			var sum int64
			for _, c := range h {
				sum += int64(c)
			}
			copy(h[148:], []byte(octal(sum, 7)+"\x00"))
			return append(h[:], make([]byte, 1024)...)
		}},
		{name: "lying-size.tar", want: "declares 1099511627776 bytes, more than the archive can hold", data: func(t *testing.T) []byte {
			b := rawTar(t, file("manifest.json", []byte("[]")))
			var h [512]byte
			copy(h[0:], strings.Repeat("0", 64)+"/layer.tar")
			copy(h[100:], "0000644\x00")
			h[124] = 0x80
			binary.BigEndian.PutUint64(h[128:136], 1<<40)
			copy(h[136:], "00000000000\x00")
			h[156] = '0'
			copy(h[257:], "ustar\x0000")
			copy(h[148:], "        ")
			var sum int64
			for _, c := range h {
				sum += int64(c)
			}
			copy(h[148:], []byte(octal(sum, 7)+"\x00"))
			return append(append(h[:], make([]byte, 4096)...), b...)
		}},
		{name: "two-manifests.tar", want: "manifest.json appears twice", data: func(t *testing.T) []byte {
			return withTail(t, classic(t), file("manifest.json", []byte(`[{"Config":"x.json","RepoTags":["encoo/rpa-service:1"],"Layers":[]}]`)))
		}},
		{name: "manifest-symlink.tar", want: "manifest.json is a link", data: func(t *testing.T) []byte {
			return rawTar(t, file(strings.Repeat("a", 64)+".json", []byte("{}")), link("manifest.json", strings.Repeat("a", 64)+".json", tar.TypeSymlink))
		}},
		{name: "manifest-hardlink.tar", want: "manifest.json is a link", data: func(t *testing.T) []byte {
			return rawTar(t, file(strings.Repeat("a", 64)+".json", []byte("{}")), link("manifest.json", strings.Repeat("a", 64)+".json", tar.TypeLink))
		}},
		{name: "dotdot-name.tar", want: "climbs out of the archive with ../", data: func(t *testing.T) []byte {
			return rawTar(t, file("manifest.json", []byte("[]")), file("../../etc/cron.d/x", []byte("x")))
		}},
		{name: "absolute-name.tar", want: "has an absolute name", data: func(t *testing.T) []byte {
			return rawTar(t, file("manifest.json", []byte("[]")), file("/etc/passwd", []byte("x")))
		}},
		{name: "manifest-dotdot-layer.tar", want: `manifest.json names layer "../`, data: func(t *testing.T) []byte {
			cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
			name := fmt.Sprintf("%x.json", sha256.Sum256(cfg))
			return rawTar(t, file(name, cfg), file(strings.Repeat("b", 64)+"/layer.tar", nil),
				file("manifest.json", []byte(`[{"Config":"`+name+`","RepoTags":["acme/web:1"],"Layers":["../`+strings.Repeat("b", 64)+`/layer.tar"]}]`)))
		}},
		{name: "manifest-absolute-config.tar", want: `manifest.json names config "/`, data: func(t *testing.T) []byte {
			cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
			name := fmt.Sprintf("%x.json", sha256.Sum256(cfg))
			return rawTar(t, file(name, cfg), file("manifest.json", []byte(`[{"Config":"/`+name+`","RepoTags":["acme/web:1"],"Layers":[]}]`)))
		}},
		{name: "layer-link-out.tar", want: "links out of the archive", data: func(t *testing.T) []byte {
			return rawTar(t, file("manifest.json", []byte("[]")), link(strings.Repeat("a", 64)+"/layer.tar", "../../../etc/shadow", tar.TypeSymlink))
		}},
		{name: "metadata-flood.tar.gz", want: "more than 16 MiB of metadata", data: func(t *testing.T) []byte {
			big := append([]byte("{\"x\":\""), bytes.Repeat([]byte("a"), 4<<20-16)...)
			big = append(big, "\"}"...)
			var es []func(*tar.Writer)
			for i := 0; i < 40; i++ {
				es = append(es, file(fmt.Sprintf("%064x.json", i), big))
			}
			return archivetest.Compress(t, "gzip", rawTar(t, es...))
		}},
		{name: "escape-in-bundle.tar", ok: true, data: func(t *testing.T) []byte {
			return archivetest.Bundle(t, archivetest.File{Name: "web.tar", Data: classic(t)},
				archivetest.File{Name: "\x1b[2K\rimgup: all images verified\x1b[8m", Data: []byte("not an archive\n")})
		}},
	}
}

func octal(n int64, width int) string {
	s := ""
	for ; n > 0; n /= 8 {
		s = string(rune('0'+n%8)) + s
	}
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func TestHostileArchives(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "imgup-bin")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, c.data(t), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			cmd := exec.Command(bin, "inspect", p)
			hwm := filepath.Join(t.TempDir(), "hwm")
			cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent.sock", "IMGUP_TEST_HWM="+hwm)
			cmd.Stdout, cmd.Stderr = &out, &errb
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
			err := cmd.Wait()
			timer.Stop()
			took := time.Since(start)
			kb, _ := os.ReadFile(hwm)
			rss, _ := strconv.ParseInt(string(kb), 10, 64)
			rss <<= 10
			t.Logf("%s: %v, peak RSS %d MiB, exit %d: %s", c.name, took.Round(time.Millisecond), rss>>20, cmd.ProcessState.ExitCode(), strings.TrimSpace(errb.String()))
			if took > 2*time.Second {
				t.Errorf("took %v, want under 2 s", took)
			}
			if rss > memCeiling {
				t.Errorf("peak RSS %d MiB, over the %d MiB ceiling", rss>>20, memCeiling>>20)
			}
			if bytes.ContainsAny(out.Bytes(), "\x1b\r") || bytes.ContainsAny(errb.Bytes(), "\x1b\r") {
				t.Errorf("a raw control character reached the terminal:\n%q\n%q", out.String(), errb.String())
			}
			if c.ok {
				if err != nil {
					t.Errorf("exit %v\n%s", err, errb.String())
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			if cmd.ProcessState.ExitCode() != 1 || len(lines) != 1 || !strings.Contains(lines[0], c.name) || !strings.Contains(lines[0], c.want) {
				t.Errorf("want exit 1 and one line naming the file with %q; got exit %d:\n%s", c.want, cmd.ProcessState.ExitCode(), errb.String())
			}
		})
	}
}

// Ctrl-C ends a long read within a second: a 4 GiB entry of zeros (a few MB of gzip)
// takes seconds to read through; SIGINT after 300 ms must end imgup with exit 130.
func TestInterruptLongRead(t *testing.T) {
	exe, _ := os.Executable()
	dir := t.TempDir()
	bin := filepath.Join(dir, "imgup-bin")
	os.Symlink(exe, bin)
	// A gzip file may hold several members, read as one stream: the tar header, then
	// 64 members of 64 MiB of zeros each, compressed once.
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
		zw.Write(b)
		zw.Close()
		return out.Bytes()
	}
	var hdr bytes.Buffer
	tar.NewWriter(&hdr).WriteHeader(&tar.Header{Name: strings.Repeat("a", 64) + "/layer.tar", Mode: 0o644, Size: 4 << 30, Typeflag: tar.TypeReg})
	data := gz(hdr.Bytes())
	zeros := gz(make([]byte, 64<<20))
	for i := 0; i < 64; i++ {
		data = append(data, zeros...)
	}
	p := filepath.Join(dir, "zeros.tar.gz")
	os.WriteFile(p, data, 0o644)

	cmd := exec.Command(bin, "inspect", p)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent.sock")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(os.Interrupt)
	timer := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	cmd.Wait()
	timer.Stop()
	if took := time.Since(sent); took > time.Second || cmd.ProcessState.ExitCode() != 130 {
		t.Errorf("after Ctrl-C: exit %d in %v, want 130 within 1 s\n%s", cmd.ProcessState.ExitCode(), took, errb.String())
	}
}
