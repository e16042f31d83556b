// Package readfile is how imgup reads a file that is not an image archive: a compose
// file, .env, .systemconfig, a control script and what it sources, imgup.yaml, a key,
// docker's config. It opens without blocking, accepts only a regular file, and reads
// a bounded number of bytes: a FIFO, a device, a folder or a file past the limit is
// an error that names the file, never a hang and never unbounded memory.
package readfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Max is the size of the largest file Read accepts by default: 16 MiB.
const Max = 16 << 20

// NotRegular is the error for a path that is not a regular file.
type NotRegular struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegular) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, kind(e.Mode))
}

// TooLarge is the error for a file past the limit.
type TooLarge struct {
	Path  string
	Limit int64
}

func (e *TooLarge) Error() string {
	return fmt.Sprintf("%s is larger than %s", e.Path, human(e.Limit))
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0, m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a plain file"
}

func human(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Read reads the regular file at path (symlinks followed), at most limit bytes
// (Max when limit <= 0). It never blocks on a FIFO or a device.
func Read(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = Max
	}
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, &TooLarge{Path: path, Limit: limit}
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &TooLarge{Path: path, Limit: limit}
	}
	return b, nil
}

// Open opens the regular file at path (symlinks followed) for reading, without
// blocking on a FIFO or a device: an archive, which is streamed and so not bounded.
func Open(path string) (*os.File, error) {
	// O_NONBLOCK: opening a FIFO with no writer returns at once; the mode check
	// below then refuses it. A regular file ignores the flag.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegular{Path: path, Mode: st.Mode()}
	}
	return f, nil
}
