package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/update"
)

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
			results, err := env.service().Load(cmd.Context(), update.LoadRequest{Files: args, AllLayers: allLayers,
				Trust: update.Trust{Root: dir, Files: t.trust, AllowUnsigned: t.allowUnsigned}}, newEventRenderer(env, false))
			if asJSON {
				if results == nil {
					results = []update.LoadResult{}
				}
				if err == nil {
					return writeJSON(env.Stdout, results)
				}
				return err
			}
			tr := env.tr()
			for _, r := range results {
				if r.Saved != "" {
					fmt.Fprintln(env.Stdout, update.Safe(r.Saved))
				}
				for _, l := range r.Images {
					name := l.Ref
					if name == "" {
						name = l.ID
					}
					if l.Already {
						tr.Fprintf(env.Stdout, "Already loaded: %s (%s), skipped\n", name, update.ShortID(l.ID))
					} else if l.Ref == "" {
						fmt.Fprintf(env.Stdout, "Loaded image ID: %s\n", l.ID)
					} else {
						tr.Fprintf(env.Stdout, "Loaded image: %s (%s)\n", name, update.ShortID(l.ID))
					}
				}
			}
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	c.Flags().BoolVar(&allLayers, "all-layers", false, "send every layer, even those the engine has (no delta load)")
	c.Flags().StringVarP(&dir, "dir", "C", ".", "the deployment root whose .imgup/trusted/ holds the trusted keys (for bundles)")
	t.register(c)
	return c
}
