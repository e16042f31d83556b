package cli

import (
	"fmt"
	"os"

	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/spf13/cobra"
)

type loadResult struct {
	Archive string         `json:"archive"`
	Form    string         `json:"form"`
	Images  []apply.Loaded `json:"images"`
	// Sent is the bytes of tar sent to the engine (less than the archive's tar when a
	// delta load left out layers the engine has).
	Sent int64 `json:"sent_bytes"`
}

func sentBytes(a *archive.Archive) int64 {
	var n int64
	for _, p := range a.Parts {
		n += p.Sent
	}
	return n
}

func newLoadCmd(env *Env) *cobra.Command {
	var asJSON, allLayers bool
	var t trustFlags
	var dir string
	c := &cobra.Command{
		Use:   "load ARCHIVE|FOLDER...",
		Short: "Load image archives into Docker (runbook step 1), streaming, without unpacking",
		Long: `Load every image of the given archives into the Docker engine, like
"tar -zxvf X.tar.gz && docker load -i X.tar" but in one streaming pass: nothing is
unpacked to disk, memory stays flat whatever the archive size.

Each archive is checked while it streams; a broken one is refused as a whole (the
engine loads nothing of it). Images the engine already has under the same name and
image ID are skipped. After loading, every reference is inspected and its image ID
compared with the archive's.

Only the layers the engine lacks are sent (a delta load): imgup reads the engine's
layer inventory first and leaves out of the stream every layer whose chain the engine
has, which the engine then does not open. An update that changes one application layer
on a large base sends that layer. It says "sent 9.4 MB of 261 MB to the engine: 11
layer(s) already present". On the containerd image store (Engine 29's default) every
layer is sent. --all-layers sends every layer anyway.

Archives are loaded one after another: when a later
archive is refused, the earlier ones stay loaded (loading only adds images).

A vendor bundle is loaded only when its signature verifies against the trusted keys
(<root>/.imgup/trusted/*.pub, or --trust), and every blob is checked against its digest
before the engine gets the end of the stream.`,
		Example: `  imgup load console-web-v4-pvt-4.1.76383.tar.gz
  imgup load /console/consolev4pvt-4.1.150431/image/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			files, skipped, err := archive.Sources(args)
			if err != nil {
				return err
			}
			for _, s := range skipped {
				env.tr().Fprintf(env.Stderr, "imgup: skipping %s: not an image archive\n", archive.Safe(s))
			}
			eng, err := env.dial(ctx)
			if err != nil {
				return err
			}
			defer eng.Close()
			var results []loadResult
			var archives []*archive.Archive
			var have *archive.Inventory
			if !allLayers {
				inv, note, err := apply.Inventory(ctx, eng)
				if err != nil {
					return err
				}
				if note != "" {
					fmt.Fprintf(env.Stderr, "imgup: note: %s\n", note)
				}
				have = inv
			}
			for _, f := range files {
				lo := apply.LoadOptions{Have: have, Note: func(n string) { fmt.Fprintf(env.Stderr, "imgup: note: %s\n", archive.Safe(n)) }}
				if bundle.IsBundle(f) {
					if lo.Bundle, err = t.open(env, dir, f); err != nil {
						return err
					}
				}
				r := startReading(env, "loading", f, fileSize(f))
				lo.Progress = r.count
				a, loaded, err := apply.LoadArchive(ctx, eng, f, lo)
				r.done(err == nil)
				if err != nil {
					return err
				}
				archives = append(archives, a)
				results = append(results, loadResult{Archive: f, Form: a.Form(), Images: loaded, Sent: sentBytes(a)})
				if s := apply.Sent(a); s != "" && !asJSON {
					fmt.Fprintln(env.Stdout, archive.Safe(s))
				}
				if !asJSON {
					for _, l := range loaded {
						name := l.Ref
						if name == "" {
							name = l.ID
						}
						if l.Already {
							env.tr().Fprintf(env.Stdout, "Already loaded: %s (%s), skipped\n", name, engine.ShortID(l.ID))
						} else if l.Ref == "" {
							fmt.Fprintf(env.Stdout, "Loaded image ID: %s\n", l.ID)
						} else {
							env.tr().Fprintf(env.Stdout, "Loaded image: %s (%s)\n", name, engine.ShortID(l.ID))
						}
					}
				}
			}
			if asJSON {
				if err := writeJSON(env.Stdout, results); err != nil {
					return err
				}
			}
			warnArchives(env, archives)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	c.Flags().BoolVar(&allLayers, "all-layers", false, "send every layer, even those the engine has (no delta load)")
	c.Flags().StringVarP(&dir, "dir", "C", ".", "the deployment root whose .imgup/trusted/ holds the trusted keys (for bundles)")
	t.register(c)
	return c
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}
