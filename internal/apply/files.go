package apply

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/google/renameio/v2"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
	"github.com/encoo-tools/imgup/internal/readfile"
)

// newContents computes every edited file's new bytes, checking that each edit still
// finds the bytes the plan saw. Nothing is written.
func newContents(edits []plan.Edit) (map[string][]byte, []string, error) {
	byFile := map[string][]plan.Edit{}
	var files []string
	for _, e := range edits {
		if _, ok := byFile[e.File]; !ok {
			files = append(files, e.File)
		}
		byFile[e.File] = append(byFile[e.File], e)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := readfile.Read(f, 0)
		if err != nil {
			return nil, nil, err
		}
		es := byFile[f]
		sort.Slice(es, func(i, j int) bool { return es[i].Start > es[j].Start })
		for _, e := range es {
			if e.End > len(data) || string(data[e.Start:e.End]) != e.Old {
				return nil, nil, i18n.Errorf("%s changed since the plan was made (line %d no longer reads %q); run imgup again", f, e.Line, e.Old)
			}
			data = append(data[:e.Start:e.Start], append([]byte(e.New), data[e.End:]...)...)
		}
		if err := writable(f); err != nil {
			return nil, nil, err
		}
		out[f] = data
	}
	return out, files, nil
}

// writable checks, before any change, that imgup may replace f: its folder must take
// a new file (the atomic rename) and f itself must be writable.
func writable(f string) error {
	if t, err := filepath.EvalSymlinks(f); err == nil {
		f = t
	}
	if err := syscall.Access(filepath.Dir(f), 2 /* W_OK */); err != nil {
		return i18n.Errorf("cannot write in %s (%v): run imgup as the deployment's owner or root", filepath.Dir(f), err)
	}
	if err := syscall.Access(f, 2); err != nil {
		return i18n.Errorf("cannot write %s (%v): run imgup as the deployment's owner or root", f, err)
	}
	return nil
}

// writeFile replaces f atomically: a temporary file in the same folder, fsync, rename;
// the mode and owner of the old file stay. A symlink (an installer's .env -> env/prod.env)
// stays a symlink: its target is replaced.
func writeFile(f string, data []byte) error {
	if t, err := filepath.EvalSymlinks(f); err == nil {
		f = t
	}
	st, err := os.Stat(f)
	if err != nil {
		return err
	}
	pf, err := renameio.NewPendingFile(f, renameio.WithExistingPermissions())
	if err != nil {
		return err
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if err := pf.Chown(int(sys.Uid), int(sys.Gid)); err != nil && !errors.Is(err, os.ErrPermission) {
			return err
		}
	}
	return pf.CloseAtomicallyReplace()
}
