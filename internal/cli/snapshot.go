package cli

import (
	"context"
	"strings"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/spf13/cobra"
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

// options turns the flags into what deploy.Discover takes.
func (w *where) options(cs []engine.Container) (deploy.Options, error) {
	o := deploy.Options{Containers: cs, Projects: map[string]string{}}
	for _, kv := range w.projects {
		stack, name, ok := strings.Cut(kv, "=")
		if !ok || stack == "" || name == "" {
			return o, usageError("--project %q: write STACK=NAME, e.g. console=encoo or vicode=encoo-vicode", kv)
		}
		o.Projects[stack] = name
	}
	return o, nil
}

// discover reads the deployment with what runs: it dials the engine and lists its
// containers first, so that each stack is bound to the project its containers say.
// The caller closes eng.
func (w *where) discover(ctx context.Context, env *Env) (*deploy.Deployment, engine.Client, []engine.Container, error) {
	if _, err := w.options(nil); err != nil {
		return nil, nil, nil, err
	}
	eng, err := env.dial(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	cs, err := eng.Containers(ctx)
	if err != nil {
		eng.Close()
		return nil, nil, nil, err
	}
	opt, _ := w.options(cs)
	d, err := deploy.Discover(ctx, w.dir, opt)
	if err != nil {
		eng.Close()
		return nil, nil, nil, err
	}
	return d, eng, cs, nil
}

// snapshot is what status, prune and rollback read before they decide: the
// deployment, its history, and the engine's images and containers.
type snapshot struct {
	d          *deploy.Deployment
	recs       []*history.Record
	eng        engine.Client
	images     []engine.Image
	containers []engine.Container
}

// takeSnapshot reads the deployment, its records and the engine; images are listed
// only when asked. The caller closes s.eng.
func takeSnapshot(ctx context.Context, env *Env, w *where, withImages bool) (*snapshot, error) {
	d, eng, cs, err := w.discover(ctx, env)
	if err != nil {
		return nil, err
	}
	s := &snapshot{d: d, eng: eng, containers: cs}
	if s.recs, err = history.List(d.Root); err != nil {
		eng.Close()
		return nil, err
	}
	if withImages {
		if s.images, err = eng.Images(ctx); err != nil {
			eng.Close()
			return nil, err
		}
	}
	return s, nil
}
