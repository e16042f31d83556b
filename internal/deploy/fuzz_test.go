// This fuzz test locks down that no imgup.yaml makes the deployment reader panic or
// hang: what it cannot follow, it reports. (Control scripts: ctlscript's FuzzDryRun.)
package deploy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func FuzzSettings(f *testing.F) {
	f.Add([]byte("config-keys: {a/b: X}\nprojects: {console: p}\nstacks:\n  - dir: .\n    files: [docker-compose.yml]\nenv-files: [x.env]\nscript: deploy.sh\nrestart: ./deploy.sh restart\n"))
	f.Add([]byte("stacks: [{dir: ../x}]\n"))
	f.Add([]byte("stacks: [{}]\nprojects: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		os.WriteFile(filepath.Join(root, "docker-compose.yml"), []byte("services:\n  web:\n    image: acme/web:1\n"), 0o644)
		os.WriteFile(filepath.Join(root, "imgup.yaml"), data, 0o644)
		Discover(context.Background(), root, Options{})
	})
}
