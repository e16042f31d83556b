package deploytest

import (
	"os"
	"path/filepath"
	"strings"
)

// Copy copies the deployment folder src to dst as a test's own: r replaces the
// placeholders in every file ({NAME}, {P}...; nil for none), symlinks stay symlinks,
// scripts stay executable.
func Copy(src, dst string, r *strings.Replacer) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, to)
		case info.IsDir():
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if r != nil {
			b = []byte(r.Replace(string(b)))
		}
		return os.WriteFile(to, b, info.Mode().Perm()|0o200)
	})
}

// ComposeV2 turns a style written for compose v1 into the same for v2: every
// docker-compose command becomes docker compose.
var ComposeV2 = strings.NewReplacer(`"docker-compose"`, `"docker compose"`, "docker-compose ", "docker compose ")
