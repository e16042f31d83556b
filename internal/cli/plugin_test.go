package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/encoo-tools/imgup/internal/i18n"
)

func TestPluginArgs(t *testing.T) {
	cfg := t.TempDir()
	sum := sha256.Sum256([]byte("remote"))
	meta := filepath.Join(cfg, "contexts", "meta", hex.EncodeToString(sum[:]))
	os.MkdirAll(meta, 0o755)
	os.WriteFile(filepath.Join(meta, "meta.json"), []byte(`{"Name":"remote","Endpoints":{"docker":{"Host":"ssh://ops@box"}}}`), 0o644)
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"currentContext":"remote"}`), 0o644)
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		args []string
		env  map[string]string
		rest []string
		host string
	}{
		{[]string{"imgup", "apply", "-C", "/x", "a.tar"}, map[string]string{"DOCKER_CONFIG": t.TempDir()}, []string{"apply", "-C", "/x", "a.tar"}, ""},
		{[]string{"-H", "tcp://1.2.3.4:2375", "imgup", "status"}, nil, []string{"status"}, "tcp://1.2.3.4:2375"},
		{[]string{"--host=unix:///run/d.sock", "imgup", "status"}, nil, []string{"status"}, "unix:///run/d.sock"},
		{[]string{"imgup", "status"}, map[string]string{"DOCKER_HOST": "unix:///e.sock"}, []string{"status"}, "unix:///e.sock"},
		{[]string{"--config", cfg, "--context", "remote", "imgup", "status"}, map[string]string{"DOCKER_HOST": "unix:///e.sock"}, []string{"status"}, "ssh://ops@box"},
		{[]string{"imgup", "status"}, map[string]string{"DOCKER_CONFIG": cfg}, []string{"status"}, "ssh://ops@box"},
		{[]string{"-D", "--log-level", "debug", "-c", "default", "imgup", "version"}, map[string]string{"DOCKER_CONFIG": cfg}, []string{"version"}, ""},
	}
	for _, c := range cases {
		rest, host, err := pluginArgs(c.args, env(c.env))
		if err != nil || host != c.host || !slices.Equal(rest, c.rest) {
			t.Errorf("pluginArgs(%q) = %q, %q, %v; want %q, %q", c.args, rest, host, err, c.rest, c.host)
		}
	}
	if _, _, err := pluginArgs([]string{"--context", "nope", "imgup", "status"}, env(map[string]string{"DOCKER_CONFIG": cfg})); err == nil {
		t.Error("an unknown context is accepted")
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(pluginMetadata()), &m); err != nil || m["SchemaVersion"] != "0.1.0" || m["Vendor"] == "" {
		t.Errorf("metadata %v %v", m, err)
	}
}

// TestHelpHasChinese: every command an operator can see has a Chinese Short and Long,
// and every flag a Chinese usage.
func TestHelpHasChinese(t *testing.T) {
	root := NewRootCmd(&Env{Stdin: strings.NewReader(""), Lang: i18n.Chinese})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "completion" {
			return
		}
		path := c.CommandPath()
		if _, ok := zhShort[path]; !ok {
			t.Errorf("%s: no Chinese Short", path)
		}
		if c.Long != "" && !hasHan(c.Long) {
			t.Errorf("%s: no Chinese Long", path)
		}
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if !hasHan(f.Usage) {
					t.Errorf("%s --%s: no Chinese usage (%q)", path, f.Name, f.Usage)
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	var out bytes.Buffer
	if code := Run(t.Context(), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out}, []string{"--lang", "zh", "apply", "--help"}); code != 0 || !strings.Contains(out.String(), "一条命令完成整本手册") || !strings.Contains(out.String(), "选项：") {
		t.Errorf("imgup --lang zh apply --help:\n%s", out.String())
	}
	out.Reset()
	if code := Run(t.Context(), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Lang: i18n.Chinese}, []string{"--lang", "en", "status", "--help"}); code != 0 || hasHan(out.String()) {
		t.Errorf("--lang en does not override:\n%s", out.String())
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// A docker config or context file that is /dev/zero, a FIFO or huge is refused at
// once, in bounded memory: the plugin reads them through readfile.
func TestPluginHostileConfig(t *testing.T) {
	for name, mk := range map[string]func(p string) error{
		"devzero": func(p string) error { return os.Symlink("/dev/zero", p) },
		"fifo":    func(p string) error { return syscallMkfifo(p) },
		"huge": func(p string) error {
			f, err := os.Create(p)
			if err == nil {
				err = f.Truncate(512 << 20)
				f.Close()
			}
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := t.TempDir()
			sum := sha256.Sum256([]byte("remote"))
			meta := filepath.Join(cfg, "contexts", "meta", hex.EncodeToString(sum[:]))
			os.MkdirAll(meta, 0o755)
			if err := mk(filepath.Join(meta, "meta.json")); err != nil {
				t.Fatal(err)
			}
			if err := mk(filepath.Join(cfg, "config.json")); err != nil {
				t.Fatal(err)
			}
			env := func(k string) string { return map[string]string{"DOCKER_CONFIG": cfg}[k] }
			if _, host, err := pluginArgs([]string{"imgup", "status"}, env); err != nil || host != "" {
				t.Errorf("a bad config.json: %q %v; want the default engine", host, err)
			}
			if _, _, err := pluginArgs([]string{"--context", "remote", "imgup", "status"}, env); err == nil {
				t.Error("a bad meta.json was accepted")
			}
		})
	}
}
