package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/table"
	"github.com/encoo-tools/imgup/internal/update"
)

func newHistoryCmd(env *Env) *cobra.Command {
	var dir, report string
	var asJSON bool
	c := &cobra.Command{
		Use:   "history [-C DIR] [--report ID [--json]]",
		Short: "List the updates imgup made to a deployment, newest first",
		Long: `List every update (and rollback) imgup recorded under <root>/.imgup/history/,
newest first: its id, time, state, the services it moved and who ran it. The id is what
"imgup rollback ID" takes. --json prints the whole records.

--report ID writes one update's report for the vendor, in markdown (or --json): the
bundle, its version and signer, the host, what changed (images and keys, from -> to),
the containers after the update, downtime per service and how long each stage took.
Secret values show as ***. Send it instead of screenshots of docker ps -a.`,
		Example: `  imgup history -C /console/consolev4pvt-4.1.150431
  imgup history -C /console/consolev4pvt-4.1.150431 --report 20261125-101500-1234 > report.md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			root, recs, err := update.History(cmd.Context(), dir)
			if err != nil {
				return err
			}
			if report != "" {
				for _, r := range recs {
					if r.ID == report {
						if asJSON {
							return writeJSON(env.Stdout, r.Masked())
						}
						fmt.Fprint(env.Stdout, r.Masked().MarkdownIn(env.tr()))
						return nil
					}
				}
				return i18n.Errorf("no update %s in %s (see imgup history)", report, update.StateDir(root))
			}
			if asJSON {
				if recs == nil {
					recs = []*update.Record{}
				}
				return writeJSON(env.Stdout, recs)
			}
			if len(recs) == 0 {
				env.tr().Fprintf(env.Stdout, "no update recorded in %s\n", update.StateDir(root))
				return nil
			}
			// Fitted to the terminal like status: BY goes first, then the widest cells
			// (the changes) are shortened; a pipe gets every column whole.
			tr := env.tr()
			t := &table.Table{Header: []string{tr.T("ID"), tr.T("TIME"), tr.T("KIND"), tr.T("STATE"), tr.T("CHANGES"), tr.T("BY")},
				Optional: []bool{false, false, false, false, false, true}}
			for _, r := range recs {
				state := stateIn(tr, r.State)
				if r.RolledBackBy != "" {
					state = tr.Sprintf("%s, undone by %s", state, r.RolledBackBy)
				}
				t.Rows = append(t.Rows, []string{r.ID, r.Time.Local().Format("2006-01-02 15:04:05"), kindOf(tr, r), state, changes(tr, r), r.User + "@" + r.Host})
			}
			out, _ := t.Render(env.Columns)
			_, err = fmt.Fprint(env.Stdout, out)
			return err
		},
	}
	c.Flags().StringVarP(&dir, "dir", "C", ".", "the deployment root")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	c.Flags().StringVar(&report, "report", "", "write the report of update ID (markdown, or JSON with --json)")
	return c
}

func kindOf(tr *i18n.Printer, r *update.Record) string {
	if r.Of != "" {
		return tr.Sprintf("%s of %s", kindIn(tr, r.Kind), r.Of)
	}
	return kindIn(tr, r.Kind)
}

// kindIn and stateIn are a record's kind and state as the operator reads them; records
// and --json keep the English words.
func kindIn(tr *i18n.Printer, kind string) string {
	switch kind {
	case "apply":
		return tr.T("apply")
	case "rollback":
		return tr.T("rollback")
	}
	return kind
}

func stateIn(tr *i18n.Printer, state string) string {
	switch state {
	case update.RecStarted:
		return tr.T("started")
	case update.RecLoaded:
		return tr.T("loaded")
	case update.RecWritten:
		return tr.T("files-written")
	case update.RecRestarted:
		return tr.T("restarted")
	case update.RecVerified:
		return tr.T("verified")
	case update.RecFailed:
		return tr.T("failed")
	case update.RecRolledBack:
		return tr.T("rolled-back")
	case update.RecBroken:
		return tr.T("restore-failed")
	}
	return state
}

func changes(tr *i18n.Printer, r *update.Record) string {
	var s []string
	for _, u := range r.Updates {
		s = append(s, fmt.Sprintf("%s/%s %s -> %s", u.Stack, u.Service, tagOf(u.From), tagOf(u.To)))
	}
	if len(s) == 0 {
		return tr.Sprintf("%d file(s)", len(r.Files))
	}
	return strings.Join(s, ", ")
}

func tagOf(ref string) string {
	if i := strings.LastIndexByte(ref, ':'); i >= 0 && i > strings.LastIndexByte(ref, '/') {
		return ref[i+1:]
	}
	return ref
}
