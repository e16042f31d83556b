package composefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestCorpusSetEnv gives every service of every real public compose file in the
// corpus a new environment variable and changes an existing one: each edit either is
// refused "by hand" or leaves a file that parses, in which the service holds the
// variable with its value, and in which nothing but the edit's bytes changed.
func TestCorpusSetEnv(t *testing.T) {
	dir := corpusDir(t)
	var files []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return nil
	})
	edited, refused := 0, 0
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f, err := Parse(p, data)
		if err != nil {
			continue
		}
		for _, svc := range f.Services {
			for _, c := range []struct{ key, value string }{{"IMGUP_NEW", "a value: #1"}, {existingKey(t, data, svc.Name), "changed"}} {
				if c.key == "" {
					continue
				}
				sp, err := f.SetEnv(svc.Name, c.key, c.value)
				if err != nil {
					if !strings.Contains(err.Error(), "by hand") {
						t.Errorf("%s: %s %s: %v", p, svc.Name, c.key, err)
					}
					if testing.Verbose() {
						t.Logf("refused: %v", err)
					}
					refused++
					continue
				}
				out := string(data[:sp.Start]) + sp.New + string(data[sp.End:])
				if string(data[sp.Start:sp.End]) != sp.Old {
					t.Fatalf("%s: %s: the splice does not hold its old bytes", p, svc.Name)
				}
				if got := envValue(t, []byte(out), svc.Name, c.key); got != c.value {
					t.Errorf("%s: %s: after setting %s the file reads %q:\n%s", p, svc.Name, c.key, got, sp.New)
				}
				edited++
			}
		}
	}
	t.Logf("%d files: %d edits made and checked, %d refused by hand", len(files), edited, refused)
	if edited == 0 {
		t.Fatal("no edit was made")
	}
}

// existingKey is the first KEY of a service's own environment mapping, or "".
func existingKey(t *testing.T, data []byte, service string) string {
	var doc struct {
		Services map[string]struct {
			Environment yaml.Node `yaml:"environment"`
		} `yaml:"services"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return ""
	}
	env := doc.Services[service].Environment
	if env.Kind == yaml.MappingNode && len(env.Content) > 0 {
		return env.Content[0].Value
	}
	if env.Kind == yaml.SequenceNode && len(env.Content) > 0 {
		k, _, _ := strings.Cut(env.Content[0].Value, "=")
		return k
	}
	return ""
}

// envValue reads a service's environment variable as YAML reads it.
func envValue(t *testing.T, data []byte, service, key string) string {
	t.Helper()
	var doc struct {
		Services map[string]struct {
			Environment any `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the edit broke the file: %v", err)
	}
	switch env := doc.Services[service].Environment.(type) {
	case map[string]any:
		if v, ok := env[key].(string); ok {
			return v
		}
	case []any:
		for _, it := range env {
			if s, ok := it.(string); ok && strings.HasPrefix(s, key+"=") {
				return strings.TrimPrefix(s, key+"=")
			}
		}
	}
	return "<missing>"
}
