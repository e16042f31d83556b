package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/table"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/update"
)

// planFlags are the flags plan and apply share.
type planFlags struct {
	where
	trustFlags
	services   []string
	configKeys []string
	asJSON     bool
	restart    string
	// load is set by apply: the read that makes the plan also streams each archive to
	// the engine, which loads it only once the plan is confirmed; an interrupted update
	// must be undone first.
	load bool
}

func (f *planFlags) register(c *cobra.Command) {
	f.where.register(c)
	f.trustFlags.register(c)
	c.Flags().StringArrayVar(&f.services, "service", nil, "update only this service (repeat; NAME or STACK/NAME); default: every service whose image has the archive's name")
	c.Flags().StringArrayVar(&f.configKeys, "config-key", nil, "IMAGE=KEY: the .systemconfig key that holds IMAGE's version, when imgup cannot tell (repeat; also config-keys: in <root>/imgup.yaml)")
	c.Flags().BoolVar(&f.asJSON, "json", false, "print JSON for scripts")
	c.Flags().StringVar(&f.restart, "restart", update.RestartAuto, update.RestartHelp(i18n.EN))
	c.RegisterFlagCompletionFunc("restart", fixedCompletion(update.RestartMethods()...))
	c.RegisterFlagCompletionFunc("service", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		names, _ := update.ServiceNames(cmd.Context(), f.dir)
		return names, cobra.ShellCompDirectiveNoFileComp
	})
}

// fixedCompletion completes a flag's value from a fixed list, never from files.
func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// observe reads the deployment, the archives and the engine, and makes the plan,
// showing progress and notices on stderr. It changes nothing (apply's read streams the
// archives to the engine, which loads them only when the plan is applied). The caller
// closes the result.
func observe(ctx context.Context, env *Env, f *planFlags, args []string) (*update.Prepared, error) {
	keys := map[string]string{}
	for _, kv := range f.configKeys {
		img, key, ok := strings.Cut(kv, "=")
		if !ok || img == "" || key == "" {
			return nil, usageError("--config-key %q: write IMAGE=KEY, e.g. encoo/rpa-service=RPA_SERVICE_VERSION", kv)
		}
		keys[img] = key
	}
	if err := update.CheckRestart(f.restart); err != nil {
		return nil, usageError("%v", err)
	}
	t, err := f.where.target()
	if err != nil {
		return nil, err
	}
	return env.service().Prepare(ctx, t, update.Request{Files: args, Services: f.services, ConfigKeys: keys, Restart: f.restart,
		Trust: f.trust, AllowUnsigned: f.allowUnsigned, Load: f.load,
		// What reading the deployment and the archives says is text even with --json:
		// the JSON lines are the apply's events, after the plan.
		Emit: newEventRenderer(env, false)})
}

func addPlanCommands(root *cobra.Command, env *Env) {
	root.AddCommand(newPlanCmd(env), newApplyCmd(env), newHistoryCmd(env), newRollbackCmd(env), newPruneCmd(env), newStatusCmd(env))
}

// confirm asks a yes/no question on the terminal; no is the default.
func confirm(env *Env, q string) bool {
	fmt.Fprintf(env.Stderr, "\n%s [y/N] ", env.tr().T(q))
	line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a == "y" || a == "yes" {
		return true
	}
	fmt.Fprintln(env.Stderr, env.tr().T("nothing changed"))
	return false
}

func newPlanCmd(env *Env) *cobra.Command {
	var f planFlags
	c := &cobra.Command{
		Use:   "plan [flags] ARCHIVE|BUNDLE|FOLDER...",
		Short: "Show what apply would do (runbook steps 1-5), changing nothing",
		Long: `Show, without changing anything, what "imgup apply" would do with these archives:
the images it would load, every file edit (file:line, old -> new, and why), the restart
method and the services it would verify. Nothing is loaded, written or restarted.

Each archive image is matched to the services whose image has the same repository
name, normalised as Docker does (docker.io/ and library/ prefixes; a registry host
stays distinct). By default every such service gets the new tag, as the runbook's
fallback says; --service narrows it.

What runs says which containers are the deployment's: the compose labels of the
containers made from each stack's folder or files give its compose project and the
compose files really used. Only when nothing runs yet is the control script (deploy.sh,
or script: in imgup.yaml) read, never run. The plan starts with each stack's project
and files and where they came from. When containers of two projects run from one
folder, or the script builds the name at run time, say it with --project STACK=NAME
(or projects: in <root>/imgup.yaml). An image built from a variable nothing imgup reads
sets stops the plan (exit 1), naming the service and the variable.

A vendor bundle (imgup bundle --help) is taken like an archive once its signature
verifies against <root>/.imgup/trusted/*.pub (or --trust): its service list replaces
name matching, its configuration changes are edits in the plan, and its constraints
and, for a differential bundle, the base layers on the engine are checked first.`,
		Example: `  imgup plan -C /console/consolev4pvt-4.1.150431 image/console-web-v4-pvt-4.1.76383.tar.gz
  imgup plan --service console-web image/
  imgup plan --project console=encoo --project vicode=encoo-vicode image/
  imgup plan --config-key encoo/vicode-collectionexecutor=VICODE_COLLECTOR_VERSION vicode.tar.gz`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := observe(cmd.Context(), env, &f, args)
			if err != nil {
				return err
			}
			defer o.Close()
			if f.asJSON {
				return writeJSON(env.Stdout, o.Plan)
			}
			fmt.Fprint(env.Stdout, o.Plan.Text(env.tr()))
			return nil
		},
	}
	f.register(c)
	return c
}

func newApplyCmd(env *Env) *cobra.Command {
	f := planFlags{load: true}
	var yes, noRollback bool
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "apply [flags] ARCHIVE|BUNDLE|FOLDER...",
		Short: "Update the deployment from image archives: load, edit, restart, verify (runbook steps 1-5)",
		Long: `Do the whole runbook in one command:

  1. load the archives' images into Docker (streamed; already loaded images are skipped)
  2. change the image version in .systemconfig (root, or vicode/ for ViCode images)
  3. change image: in the compose files (only the tag characters change; a ${VAR}
     image changes the variable in .systemconfig or .env instead)
  4. restart: ./deploy.sh restart, or restart: of imgup.yaml (--restart auto/deploy),
     only the updated services' containers (--restart services), a swarm stack
     deployed again and rolled out by swarm (--restart stack), a Kubernetes
     deployment's kubectl apply -f / -k (--restart kubectl) or helm upgrade with the
     operator's values (--restart helm), or nothing (--restart none)
  5. verify, within --timeout, that each updated service runs the new image ID, is
     running and not restarting, and is healthy where it has a healthcheck, and that
     no other container of the deployment was left stopped

It prints the plan first (as "imgup plan" does) and asks before acting; --yes skips
the question, and without a terminal it refuses unless --yes is given.

Before the first change it backs up every file it will edit and records the update
under <root>/.imgup/history/<id>/. When restart or verification fails it restores the
files, restarts again and checks that the previous images run (exit 3); --no-rollback
leaves the failed state for inspection. Running it again with the same archives does
nothing and says "already up to date".

A vendor bundle also brings the services each image goes to and configuration changes
(.systemconfig, .env, a service's environment); they are backed up, edited, verified
and undone with the images. An unsigned or untrusted bundle is refused unless
--allow-unsigned.

` + exitCodesHelp,
		Example: `  imgup apply -C /console/consolev4pvt-4.1.150431 image/console-web-v4-pvt-4.1.76383.tar.gz
  imgup apply --yes --json image/ > result.json
  imgup apply image/console-4.1.76383.bundle`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o, err := observe(ctx, env, &f, args)
			if err != nil {
				return err
			}
			defer o.Close()
			if !f.asJSON || !yes {
				fmt.Fprint(planOut(env, f.asJSON), o.Plan.Text(env.tr()))
			}
			if o.Plan.UpToDate() {
				if f.asJSON {
					return writeJSON(env.Stdout, applyResult{Plan: o.Plan, UpToDate: true})
				}
				return nil
			}
			if err := o.Plan.Refusal(); err != nil {
				// The restart would stop on its way (a prompt, a pull, its own exit):
				// another restart is the operator's choice to make. Nothing changed.
				return withCode(ExitUsage, err)
			}
			if !yes {
				if !env.StdinTTY {
					return usageError("not applying without confirmation: no terminal to ask on; add --yes to apply this plan")
				}
				if !confirm(env, "Apply this plan?") {
					return nil
				}
			}
			opt := update.ApplyOptions{Timeout: timeout, NoRollback: noRollback, Command: "imgup apply", Hooks: testHooks(env),
				Events: newEventRenderer(env, f.asJSON)}
			out, err := o.Apply(ctx, opt)
			if err := report(ctx, env, o.Snapshot, o.Plan, out, err, f.asJSON); err != nil {
				return err
			}
			if !f.asJSON {
				tr := env.tr()
				done := tr.T("every updated service runs its new image")
				if o.Plan.Restart == update.RestartNone {
					done = tr.T("images loaded and files edited; the containers run the new images after the next restart")
					if c := o.RestartCommand(); c != "" {
						done += " (" + c + ")"
					}
				}
				tr.Fprintf(env.Stdout, "\nupdate %s done: %s. Undo it with: imgup rollback -C %s %s\n", out.Record.ID, done, o.Root(), out.Record.ID)
			}
			return nil
		},
	}
	f.register(c)
	c.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	c.Flags().DurationVar(&timeout, "timeout", 3*time.Minute, "how long to wait for the updated services to run and be healthy")
	c.Flags().BoolVar(&noRollback, "no-rollback", false, "when verification fails, leave the failed state for inspection instead of undoing it")
	return c
}

// planOut is where apply shows its plan: stdout, unless stdout is for JSON.
func planOut(env *Env, asJSON bool) io.Writer {
	if asJSON {
		return env.Stderr
	}
	return env.Stdout
}

type applyResult struct {
	Plan     *update.Plan   `json:"plan"`
	UpToDate bool           `json:"up_to_date,omitempty"`
	ID       string         `json:"id,omitempty"`
	Services []update.State `json:"services,omitempty"`
	// FailedAttempt are the updated services as a failed, undone apply left them.
	FailedAttempt []update.State `json:"failed_attempt,omitempty"`
	Error         string         `json:"error,omitempty"`
}

// report prints what apply (or rollback) did — the final table, or JSON — and maps
// its failure to the exit code.
func report(ctx context.Context, env *Env, s *update.Snapshot, p *update.Plan, out *update.Outcome, err error, asJSON bool) error {
	rows := s.Final(ctx, p, out)
	if asJSON {
		res := applyResult{Plan: p, Services: rows}
		if out != nil && out.Restored {
			res.FailedAttempt = out.Failed
		}
		if out != nil && out.Record != nil {
			res.ID = out.Record.ID
		}
		if err != nil {
			res.Error = err.Error()
		}
		writeJSON(env.Stdout, res)
	} else if len(rows) > 0 {
		fmt.Fprintln(env.Stdout)
		printTable(env, rows)
		if out != nil && out.Restored {
			tr := env.tr()
			for _, r := range out.Failed {
				state := r.State
				if r.Health != "" {
					state += " (" + r.Health + ")"
				}
				if r.Node != "" {
					tr.Fprintf(env.Stdout, "the failed attempt: %s/%s ran %s (%s) on node %s as %s, %s; it was undone, and the table shows what runs now\n", r.Stack, r.Service, r.Image, update.ShortID(r.ImageID), r.Node, r.Container, state)
					continue
				}
				tr.Fprintf(env.Stdout, "the failed attempt: %s/%s ran %s (%s), %s; it was undone, and the table shows what runs now\n", r.Stack, r.Service, r.Image, update.ShortID(r.ImageID), state)
			}
		}
	}
	if err != nil {
		return exitFor(ctx, err)
	}
	return nil
}

// exitFor maps an apply failure to its exit code.
func exitFor(ctx context.Context, err error) error {
	var f *update.Failure
	switch {
	case ctx.Err() != nil:
		return withCode(ExitInterrupt, err)
	case errors.As(err, &f) && f.RolledBack:
		return withCode(ExitRolledBack, err)
	case errors.As(err, &f):
		return withCode(ExitBroken, err)
	}
	return withCode(ExitFailed, err)
}

func printTable(env *Env, rows []update.State) {
	tr := env.tr()
	t := &table.Table{Header: []string{tr.T("SERVICE"), tr.T("IMAGE"), tr.T("IMAGE ID"), tr.T("STATE"), tr.T("UPDATED"), tr.T("DOWNTIME")}}
	for _, r := range rows {
		state := r.State
		if r.Health != "" {
			state += " (" + r.Health + ")"
		}
		up := "-"
		switch {
		case r.Updated:
			up = tr.T("updated")
		case r.Restored:
			up = tr.T("restored")
		}
		dt := r.Downtime
		if dt == "" {
			dt = "-"
		}
		t.Rows = append(t.Rows, []string{r.Stack + "/" + r.Service, r.Image, update.ShortID(r.ImageID), state, up, dt, r.Node})
	}
	if slices.ContainsFunc(rows, func(r update.State) bool { return r.Node != "" }) {
		t.Header = append(t.Header, tr.T("NODE")) // a swarm: where each task runs
	} else {
		for i := range t.Rows {
			t.Rows[i] = t.Rows[i][:len(t.Rows[i])-1]
		}
	}
	out, _ := t.Render(env.Columns)
	fmt.Fprint(env.Stdout, out)
}
