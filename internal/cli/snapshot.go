package cli

import (
	"context"

	"github.com/encoo-tools/imgup/internal/deploy"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
)

// snapshot is what status, prune and rollback read before they decide: the
// deployment, its history, and the engine's images and containers.
type snapshot struct {
	d          *deploy.Deployment
	recs       []*history.Record
	eng        engine.Client
	images     []engine.Image
	containers []engine.Container
}

// takeSnapshot reads the deployment at dir, its records and the engine; images are
// listed only when asked. The caller closes s.eng.
func takeSnapshot(ctx context.Context, env *Env, dir string, withImages bool) (*snapshot, error) {
	d, err := deploy.Discover(ctx, dir)
	if err != nil {
		return nil, err
	}
	recs, err := history.List(d.Root)
	if err != nil {
		return nil, err
	}
	eng, err := env.dial(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{d: d, recs: recs, eng: eng}
	if withImages {
		if s.images, err = eng.Images(ctx); err != nil {
			eng.Close()
			return nil, err
		}
	}
	if s.containers, err = eng.Containers(ctx); err != nil {
		eng.Close()
		return nil, err
	}
	return s, nil
}
