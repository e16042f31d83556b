package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/update"
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
			s, err := at.observe(ctx, env, true)
			if err != nil {
				return err
			}
			defer s.Close()
			remove, kept := s.PruneCandidates(update.PruneOptions{Keep: keep, RollbackImages: rollbackImages})
			for _, k := range kept {
				env.tr().Fprintf(env.Stdout, "keep    %s (%s)\n", k.Ref, k.Why.In(env.tr()))
			}
			if len(remove) == 0 {
				fmt.Fprintln(env.Stdout, env.tr().T("nothing to remove"))
				return nil
			}
			for _, r := range remove {
				env.tr().Fprintf(env.Stdout, "remove  %s\n", r)
			}
			if !yes {
				if !env.StdinTTY {
					return usageError("not removing without confirmation: no terminal to ask on; add --yes")
				}
				if !confirm(env, "Remove these images?") {
					return nil
				}
			}
			if err := s.Prune(ctx, remove); err != nil {
				return err
			}
			env.tr().Fprintf(env.Stdout, "removed %d image reference(s)\n", len(remove))
			return nil
		},
	}
	at.register(c)
	c.Flags().IntVar(&keep, "keep", 2, "how many of the newest images of each repository to keep")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "remove without asking")
	c.Flags().BoolVar(&rollbackImages, "include-rollback-images", false, "also remove images a recorded update could roll back to")
	return c
}
