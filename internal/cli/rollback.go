package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/update"
)

func newRollbackCmd(env *Env) *cobra.Command {
	var at where
	var yes, force, asJSON bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "rollback [-C DIR] [ID]",
		Short: "Undo an update: restore its files byte for byte, restart, verify the previous images run",
		Long: `Undo the newest update that is not undone yet (or the update ID, see "imgup history"):
put back every file it edited, byte for byte, restart the way the update did, and verify
that the services run the image IDs they ran before.

Only the bytes the update changed are edited back. A file changed since by something else
is not overwritten unless --force; nor is an update undone while a later one that is not
undone touched the same files, unless --force. The previous images must still be in the
engine (loading adds tags and removes none; "imgup prune" keeps them); if one is gone,
rollback says so before changing anything.

A rollback is recorded like an update, with its own backups; it also undoes an update
that was interrupted (killed, power cut), whatever step it had reached.

` + exitCodesHelp,
		Args: cobra.MaximumNArgs(1),
		// The IDs of the updates that can be undone, newest first, from history.
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			_, recs, _ := update.History(cmd.Context(), at.dir)
			var ids []string
			for _, r := range recs {
				if r.Kind == "apply" && r.RolledBackBy == "" && r.Changed() {
					ids = append(ids, r.ID)
				}
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := at.observe(ctx, env, false)
			if err != nil {
				return err
			}
			defer s.Close()
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			rb, err := s.PlanRollback(ctx, update.RollbackOptions{ID: id, Force: force})
			if err != nil {
				return err
			}
			target, p := rb.Of, rb.Plan
			out := planOut(env, asJSON)
			tr := env.tr()
			tr.Fprintf(out, "Rollback: %s\n", update.Describe(target))
			if p.UpToDate() {
				tr.Fprintf(out, "nothing to undo: the files and containers are as before update %s\n", target.ID)
				_, err := s.Rollback(ctx, rb, update.ApplyOptions{})
				return err
			}
			fmt.Fprint(out, p.Text(tr))
			if !yes {
				if !env.StdinTTY {
					return usageError("not rolling back without confirmation: no terminal to ask on; add --yes")
				}
				if !confirm(env, "Roll back?") {
					return nil
				}
			}
			res, err := s.Rollback(ctx, rb, update.ApplyOptions{Timeout: timeout, Command: "imgup rollback", Hooks: testHooks(env), Events: newEventRenderer(env, asJSON)})
			if err := report(ctx, env, s, p, res, err, asJSON); err != nil {
				return err
			}
			if !asJSON {
				tr.Fprintf(env.Stdout, "\nupdate %s is undone (rollback %s)\n", target.ID, res.Record.ID)
			}
			return nil
		},
	}
	at.register(c)
	c.Flags().BoolVarP(&yes, "yes", "y", false, "roll back without asking")
	c.Flags().BoolVar(&force, "force", false, "overwrite files changed since the update, and undo it even when later updates touched the same files")
	c.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "how long to wait for the services to run their previous images")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return c
}
