package cli

import "github.com/spf13/cobra"

// addPlanCommands adds plan and apply (runbook steps 1-5).
func addPlanCommands(root *cobra.Command, env *Env) {}
