package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/update"
)

func newInspectCmd(env *Env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect ARCHIVE|FOLDER...",
		Short: "List the images in image archives, without loading anything",
		Long: `List what image archives hold, without loading anything: for each image its
references (tags), image ID (config digest), layer count and size, and the form of the
archive. A folder means every archive directly in it.

Forms are told from content, never from file names: docker save tar (classic or OCI
layout), the same compressed with gzip, zstd, xz or bzip2, and the vendor's .tar.gz that
holds one or more docker save tars.`,
		Example: `  imgup inspect /console/consolev4pvt-4.1.150431/image/console-web-v4-pvt-4.1.76383.tar.gz
  imgup inspect --json image/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			archives, err := update.Inspect(cmd.Context(), args, newEventRenderer(env, false))
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(env.Stdout, archives)
			}
			tr := env.tr()
			t := newTable(env.Stdout)
			fmt.Fprintln(t, strings.Join([]string{tr.T("ARCHIVE"), tr.T("FORM"), tr.T("IMAGE"), tr.T("IMAGE ID"), tr.T("LAYERS"), tr.T("SIZE")}, "\t"))
			for _, a := range archives {
				for _, img := range a.Images() {
					refs := img.Refs
					if len(refs) == 0 {
						refs = []string{tr.T("<none> (saved by ID)")}
					}
					for _, r := range refs {
						fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%d\t%s\n", update.Safe(filepath.Base(a.Path)), a.FormIn(tr), update.Safe(r), update.ShortID(img.ID), img.Layers, humanSize(img.Size))
					}
				}
			}
			return t.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return c
}

// bigArchive is the size from which reading an archive shows progress.
const bigArchive = 32 << 20
