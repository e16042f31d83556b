//go:build e2e

package kuberig

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// HeavyLock is the machine's lock for heavy tests and builds (docs: COMMON rules).
const HeavyLock = "/tmp/imgup-heavy.lock"

// lockFile takes an exclusive flock on path, waiting until ctx ends. The lock holds
// until the returned file is closed. A lock a parent process holds already (the test
// run under `flock /tmp/imgup-heavy.lock go test …`) counts as held: it returns nil, nil.
func lockFile(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		return f, nil
	}
	if heldByAncestor(f) {
		f.Close()
		return nil, nil
	}
	// Wait in the kernel's queue, as flock(1) does (polling would lose to every
	// blocking waiter); given up when ctx ends, the lock is let go as soon as it comes.
	got := make(chan error, 1)
	abandon := make(chan struct{})
	go func() {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		select {
		case got <- err:
		case <-abandon:
			f.Close()
		}
	}()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	case <-ctx.Done():
		close(abandon)
		return nil, fmt.Errorf("kuberig: waiting for %s: %w", path, ctx.Err())
	}
}

// Lock takes the heavy lock for a test (released by the returned func), unless an
// ancestor process holds it already.
func Lock(ctx context.Context) (func(), error) {
	f, err := lockFile(ctx, HeavyLock)
	if err != nil {
		return nil, err
	}
	return func() {
		if f != nil {
			f.Close()
		}
	}, nil
}

// heldByAncestor reports whether a process above this one holds a flock on f's file
// (/proc/locks names the holder's pid and the file's inode).
func heldByAncestor(f *os.File) bool {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false
	}
	holders := map[int]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		// "1: FLOCK  ADVISORY  WRITE 19566 fe:00:9978003 0 EOF"; waiters have "->".
		if len(fields) < 6 || fields[1] != "FLOCK" {
			continue
		}
		dev := strings.Split(fields[5], ":")
		if len(dev) != 3 || dev[2] != strconv.FormatUint(st.Ino, 10) {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil {
			holders[pid] = true
		}
	}
	for pid := os.Getppid(); pid > 1; {
		if holders[pid] {
			return true
		}
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		// pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
		rest := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(rest) < 2 {
			return false
		}
		if pid, err = strconv.Atoi(rest[1]); err != nil {
			return false
		}
	}
	return false
}
