package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/plan"
	"github.com/spf13/cobra"
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
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := takeSnapshot(ctx, env, &at, false)
			if err != nil {
				return err
			}
			d, recs, eng := s.d, s.recs, s.eng
			defer eng.Close()
			target, err := pickRollback(recs, args)
			if err != nil {
				return err
			}
			j, err := history.Open(d.Root, target.ID)
			if err != nil {
				return err
			}
			in := plan.RollbackInput{Deployment: d, Record: target, Current: map[string][]byte{}, Backup: map[string][]byte{}, HasImage: map[string]bool{}, Force: force}
			for _, f := range target.Files {
				if in.Current[f], err = os.ReadFile(filepath.Join(d.Root, f)); err != nil {
					return err
				}
				if in.Backup[f], err = j.Backup(f); err != nil {
					return fmt.Errorf("the backup of %s is missing (%v); restore it by hand", f, err)
				}
			}
			for _, r := range recs {
				if r.ID > target.ID && r.Kind == "apply" && r.RolledBackBy == "" && r.State != history.RolledBack && overlaps(r.Files, target.Files) {
					in.Later = append(in.Later, r)
				}
			}
			for _, u := range target.Updates {
				if u.FromID != "" {
					id, err := eng.ImageID(ctx, u.FromID)
					if err != nil {
						return err
					}
					in.HasImage[u.FromID] = id != ""
				}
			}
			in.Containers = s.containers
			p, err := plan.Rollback(in)
			if err != nil {
				return err
			}
			out := planOut(env, asJSON)
			fmt.Fprintf(out, "Rollback: %s\n", plan.Describe(target))
			if p.UpToDate() {
				fmt.Fprintf(out, "nothing to undo: the files and containers are as before update %s\n", target.ID)
				return j.Set(history.RolledBack, func(r *history.Record) { r.RolledBackBy = "nothing-to-undo" })
			}
			fmt.Fprint(out, p.String())
			if !yes {
				if !env.StdinTTY {
					return usageError("not rolling back without confirmation: no terminal to ask on; add --yes")
				}
				if !confirm(env, "Roll back?") {
					return nil
				}
			}
			res, err := apply.Run(ctx, eng, d, p, in.Containers, apply.Options{Timeout: timeout, Log: env.Stderr, Command: "imgup rollback", Of: target.ID})
			if res != nil && res.Record != nil && err == nil {
				j.Set(history.RolledBack, func(r *history.Record) { r.RolledBackBy = res.Record.ID })
			}
			if err := report(ctx, env, eng, d, p, res, err, asJSON); err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(env.Stdout, "\nupdate %s is undone (rollback %s)\n", target.ID, res.Record.ID)
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

// pickRollback chooses the update to undo: the one named, or the newest not undone.
func pickRollback(recs []*history.Record, args []string) (*history.Record, error) {
	for _, r := range recs {
		if len(args) == 1 {
			if r.ID != args[0] {
				continue
			}
			if r.RolledBackBy != "" || r.State == history.RolledBack {
				return nil, fmt.Errorf("update %s is already undone", r.ID)
			}
			if r.Kind != "apply" {
				return nil, fmt.Errorf("%s is a rollback; to redo the update, run imgup apply again", r.ID)
			}
			return r, nil
		}
		if r.Kind == "apply" && r.RolledBackBy == "" && r.State != history.RolledBack {
			return r, nil
		}
	}
	if len(args) == 1 {
		return nil, fmt.Errorf("no update %s (see imgup history)", args[0])
	}
	return nil, errors.New("nothing to roll back: no update that is not undone yet (see imgup history)")
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
