package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/i18n"
)

func newStatusCmd(env *Env) *cobra.Command {
	var at where
	var asJSON, wide bool
	c := &cobra.Command{
		Use:   "status [-C DIR]",
		Short: "Show what is configured, loaded and running, and every disagreement (exit 1 on drift)",
		Long: `For every service of every stack: the image its compose file names (file:line), the
.systemconfig entry that holds its version, whether that image is loaded, what its
container runs (image, ID, state, health), and the last update that touched it.

Then every disagreement, each with a one-line fix:
  config-drift        the compose tag differs from .systemconfig (the next restart may revert it)
  running-drift       the container runs another image than the compose file names
  not-loaded          the compose image is not in the engine (the next restart fails offline)
  no-container, not-running, unhealthy
  interrupted-update  an imgup update stopped half-way

Exit code 0 when everything agrees, 1 when there is drift: monitoring can call it.
It reads no archive and makes one round of engine calls. --json prints the report in
the versioned schema described in docs/status.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := at.observe(ctx, env, true)
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := s.Status()
			if err != nil {
				return err
			}
			if asJSON {
				if err := writeJSON(env.Stdout, r); err != nil {
					return err
				}
			} else {
				fmt.Fprint(env.Stdout, r.Text(env.Columns, wide, env.tr()))
			}
			if len(r.Findings) > 0 {
				return withCode(ExitFailed, i18n.Err(fmt.Sprintf("%d finding(s): the deployment has drifted", len(r.Findings))))
			}
			return nil
		},
	}
	at.register(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (schema imgup.status/v1)")
	c.Flags().BoolVar(&wide, "wide", false, "keep every column (file:line, config entry) even when the terminal is narrower")
	return c
}
