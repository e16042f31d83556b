package cli

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/update"
)

// where names the deployment a verb works on: its root, and the compose project
// names the operator pins when what runs cannot tell.
type where struct {
	dir      string
	projects []string
}

func (w *where) register(c *cobra.Command) {
	c.Flags().StringVarP(&w.dir, "dir", "C", ".", "the deployment root (where deploy.sh and .systemconfig are)")
	c.Flags().StringArrayVar(&w.projects, "project", nil, "STACK=NAME: the compose project of a stack (console for the root, else its folder), when the containers cannot tell (repeat; also projects: in <root>/imgup.yaml)")
}

// target turns the flags into the service's target.
func (w *where) target() (update.Target, error) {
	t := update.Target{Dir: w.dir, Projects: map[string]string{}}
	for _, kv := range w.projects {
		stack, name, ok := strings.Cut(kv, "=")
		if !ok || stack == "" || name == "" {
			return t, usageError("--project %q: write STACK=NAME, e.g. console=encoo or vicode=encoo-vicode", kv)
		}
		t.Projects[stack] = name
	}
	return t, nil
}

// observe takes one snapshot of the deployment and the engine; images are listed only
// when asked. The caller closes it.
func (w *where) observe(ctx context.Context, env *Env, withImages bool) (*update.Snapshot, error) {
	t, err := w.target()
	if err != nil {
		return nil, err
	}
	return env.service().Observe(ctx, t, withImages)
}

// service is the update service on this environment's engine.
func (e *Env) service() *update.Service {
	svc := &update.Service{}
	if e.Service != nil {
		*svc = *e.Service
	}
	if svc.Environ == nil {
		svc.Environ = e.Environ
	}
	if svc.Environ == nil {
		svc.Environ = os.Environ()
	}
	return svc
}
