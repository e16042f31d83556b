package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/update"
	"github.com/spf13/cobra"
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
			archives, err := readArchives(cmd.Context(), env, args)
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
						fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%d\t%s\n", archive.Safe(filepath.Base(a.Path)), a.FormIn(tr), r, engine.ShortID(img.ID), img.Layers, humanSize(img.Size))
					}
				}
			}
			if err := t.Flush(); err != nil {
				return err
			}
			warnArchives(env, archives)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return c
}

// sources expands the arguments to archive files, saying which files it skips.
func sources(env *Env, args []string) ([]string, error) {
	files, skipped, err := archive.Sources(args)
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		env.tr().Fprintf(env.Stderr, "imgup: skipping %s: not an image archive\n", archive.Safe(s))
	}
	return files, nil
}

// readArchives expands the arguments and reads each archive, without loading.
func readArchives(ctx context.Context, env *Env, args []string) ([]*archive.Archive, error) {
	files, err := sources(env, args)
	if err != nil {
		return nil, err
	}
	var out []*archive.Archive
	for _, f := range files {
		a, err := readOne(ctx, env, f)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func readOne(ctx context.Context, env *Env, f string) (*archive.Archive, error) {
	r := startReading(env, "reading", f, fileSize(f))
	a, err := archive.Read(ctx, f, archive.Options{Progress: r.count, Digest: true})
	r.done(err == nil)
	return a, err
}

// bigArchive is the size from which reading an archive shows progress.
const bigArchive = 32 << 20

// warnArchives says what an operator should know but that is no error.
func warnArchives(env *Env, archives []*archive.Archive) {
	for _, n := range update.ArchiveNotices(archives) {
		printNotice(env, n)
	}
}
