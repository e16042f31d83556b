package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
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
