package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/spf13/cobra"
)

func newPruneCmd(env *Env) *cobra.Command {
	var at where
	var keep int
	var yes, rollbackImages bool
	c := &cobra.Command{
		Use:   "prune [-C DIR] [--keep N]",
		Short: "Remove old images of the repositories imgup updated, keeping rollback targets",
		Long: `Remove the images of the repositories that imgup's recorded updates moved, when no
container uses them and they are older than the N newest of their repository (--keep,
default 2). An image a recorded update could roll back to is never removed unless
--include-rollback-images is given. Other repositories are never touched.

It lists what it would remove and asks (or --yes).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if keep < 1 {
				return usageError("--keep %d: keep at least the newest image", keep)
			}
			s, err := takeSnapshot(ctx, env, &at, true)
			if err != nil {
				return err
			}
			eng := s.eng
			defer eng.Close()
			remove, kept := pruneCandidates(s.recs, s.images, s.containers, keep, rollbackImages)
			for _, k := range kept {
				fmt.Fprintf(env.Stdout, "keep    %s\n", k)
			}
			if len(remove) == 0 {
				fmt.Fprintln(env.Stdout, "nothing to remove")
				return nil
			}
			for _, r := range remove {
				fmt.Fprintf(env.Stdout, "remove  %s\n", r)
			}
			if !yes {
				if !env.StdinTTY {
					return usageError("not removing without confirmation: no terminal to ask on; add --yes")
				}
				if !confirm(env, "Remove these images?") {
					return nil
				}
			}
			for _, r := range remove {
				if err := eng.RemoveImage(ctx, r); err != nil {
					return fmt.Errorf("removing %s: %w", r, err)
				}
			}
			fmt.Fprintf(env.Stdout, "removed %d image reference(s)\n", len(remove))
			return nil
		},
	}
	at.register(c)
	c.Flags().IntVar(&keep, "keep", 2, "how many of the newest images of each repository to keep")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "remove without asking")
	c.Flags().BoolVar(&rollbackImages, "include-rollback-images", false, "also remove images a recorded update could roll back to")
	return c
}

// pruneCandidates returns the references to remove, and why others are kept.
func pruneCandidates(recs []*history.Record, images []engine.Image, cs []engine.Container, keep int, rollbackImages bool) (remove, kept []string) {
	repos := map[string]bool{}
	protected := map[string]string{} // image ID or ref -> why
	for _, r := range recs {
		for _, u := range r.Updates {
			for _, ref := range []string{u.From, u.To} {
				if name := engine.Repository(strings.Fields(ref + " ")[0]); name != "" {
					repos[name] = true
				}
			}
			if r.Kind == "apply" && r.RolledBackBy == "" && !rollbackImages {
				why := "rollback target of update " + r.ID
				if u.FromID != "" {
					protected[u.FromID] = why
				}
				protected[strings.Fields(u.From + " ")[0]] = why
			}
		}
	}
	used := map[string]bool{}
	for _, c := range cs {
		used[c.ImageID] = true
	}
	type tagged struct {
		ref string
		img engine.Image
	}
	byRepo := map[string][]tagged{}
	for _, img := range images {
		for _, t := range img.Tags {
			if name := engine.Repository(t); name != "" && repos[name] {
				byRepo[name] = append(byRepo[name], tagged{ref: t, img: img})
			}
		}
	}
	var names []string
	for n := range byRepo {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l := byRepo[n]
		sort.SliceStable(l, func(i, j int) bool {
			if !l[i].img.Created.Equal(l[j].img.Created) {
				return l[i].img.Created.After(l[j].img.Created)
			}
			return l[i].ref > l[j].ref
		})
		for i, t := range l {
			switch {
			case i < keep:
				kept = append(kept, t.ref+" (one of the newest)")
			case used[t.img.ID]:
				kept = append(kept, t.ref+" (a container uses it)")
			case protected[t.img.ID] != "":
				kept = append(kept, t.ref+" ("+protected[t.img.ID]+")")
			case protected[t.ref] != "":
				kept = append(kept, t.ref+" ("+protected[t.ref]+")")
			default:
				remove = append(remove, t.ref)
			}
		}
	}
	return remove, kept
}
