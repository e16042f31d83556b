package archive

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/readfile"
)

// Sources expands the operator's arguments: a file is itself, a folder is every archive
// directly in it (checked by content; other files are returned in skipped). Missing
// and empty files are errors, found before anything is read.
func Sources(args []string) (files, skipped []string, err error) {
	for _, a := range args {
		st, err := os.Stat(a)
		if errors.Is(err, os.ErrNotExist) {
			if dir, names := nearby(a); len(names) > 0 {
				return nil, nil, &Error{Path: a, Err: i18n.Errorf("no such file or folder; %s holds: %s", dir, strings.Join(names, ", "))}
			}
			return nil, nil, &Error{Path: a, Err: i18n.Err("no such file or folder")}
		} else if err != nil {
			return nil, nil, &Error{Path: a, Err: err}
		}
		if !st.IsDir() {
			if st.Size() == 0 {
				return nil, nil, &Error{Path: a, Err: i18n.Err("is empty (0 bytes): the upload may have failed; copy the archive again")}
			}
			files = append(files, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, nil, &Error{Path: a, Err: err}
		}
		var found []string
		for _, e := range ents {
			p := filepath.Join(a, e.Name())
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			if isArchive(p) {
				found = append(found, p)
			} else {
				skipped = append(skipped, p)
			}
		}
		if len(found) == 0 {
			return nil, nil, &Error{Path: a, Err: i18n.Errorf("folder holds no image archive")}
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, skipped, nil
}

// nearby lists the files beside a path that is not there (its folder, else image/):
// what the operator may have meant. At most ten, by name.
func nearby(p string) (dir string, names []string) {
	for _, dir := range []string{filepath.Dir(p), "image"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, Safe(e.Name()))
			}
		}
		if len(names) > 0 {
			if len(names) > 10 {
				names = append(names[:10], "…")
			}
			return dir + string(filepath.Separator), names
		}
	}
	return "", nil
}

func isArchive(p string) bool {
	f, err := readfile.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	_, ok := sniff(bufio.NewReaderSize(f, 4096))
	return ok
}
