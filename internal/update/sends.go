package update

import (
	"context"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
)

// planSends is what apply's load would send each reached node of a swarm, worked out
// from the archives' descriptions and each node's layers, without streaming anything:
// the plan's figure, the same one apply's own read gives before it loads.
//
// As apply loads: a part whose images a node has under every name is withheld from
// it; each node's stream leaves out the layers that node has (a bundle's by its
// bundle.json). When imgup cannot read some node's layers, apply sends one stream of
// every layer to all nodes, withholding only a part every node has: then every node
// is Full.
func planSends(ctx context.Context, cl *engine.Cluster, archives []*archive.Archive, bundles []*bundle.Bundle) (map[string]plan.Send, error) {
	members := cl.Members()
	if len(members) == 0 {
		return nil, nil
	}
	invs, _, err := apply.NodeInventories(ctx, members)
	if err != nil {
		return nil, err
	}
	has := make([][][]bool, len(members)) // node, archive, part: the node has every image of it
	for i, m := range members {
		for _, a := range archives {
			parts := make([]bool, len(a.Parts))
			for j, p := range a.Parts {
				if parts[j], err = apply.HasPart(ctx, m.Client, p); err != nil {
					return nil, i18n.Errorf("node %s: %w", m.Label(), err)
				}
			}
			has[i] = append(has[i], parts)
		}
	}
	full := false
	for _, inv := range invs {
		full = full || inv == nil
	}
	out := map[string]plan.Send{}
	for i, m := range members {
		var s plan.Send
		s.Full = full
		for k, a := range archives {
			var omit func(string) bool
			if !full {
				for _, b := range bundles {
					if b.Path == a.Path {
						omit = b.ReadOptions(nil, invs[i]).Omit
					}
				}
			}
			for j, p := range a.Parts {
				if withheld(has, i, k, j, full) {
					continue
				}
				s.Total += p.TarBytes()
				if full {
					s.Bytes += p.TarBytes()
					continue
				}
				n, b, sends := p.Delta(invs[i], omit)
				s.OmittedLayers += n
				s.OmittedBytes += b
				s.Bytes += sends
			}
		}
		out[m.Name] = s
	}
	return out, nil
}

// withheld says whether the load withholds part j of archive k from node i: that node
// has its images (for one stream to all nodes, every node has them).
func withheld(has [][][]bool, i, k, j int, one bool) bool {
	if !one {
		return has[i][k][j]
	}
	for n := range has {
		if !has[n][k][j] {
			return false
		}
	}
	return true
}
