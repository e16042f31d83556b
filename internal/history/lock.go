package history

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/gofrs/flock"
)

// Lock holds <root>/.imgup/lock: one apply or rollback at a time per deployment. The
// lock is the kernel's (flock), so a dead holder's lock is free at once; the file's
// content only names the holder for the message.
type Lock struct {
	f *flock.Flock
}

// Holder says who holds a lock.
type Holder struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Command string    `json:"command"`
}

// Busy is returned when another imgup holds the lock.
type Busy struct {
	Path   string
	Holder Holder
}

func (e *Busy) Error() string { return e.err().Error() }

// In is the error in tr's language.
func (e *Busy) In(tr *i18n.Printer) string { return i18n.Localize(tr, e.err()) }

func (e *Busy) err() error {
	return i18n.Errorf("another imgup (%s, pid %d, started %s) is changing this deployment; wait for it to finish (lock: %s)",
		e.Holder.Command, e.Holder.PID, e.Holder.Started.Local().Format(time.DateTime), e.Path)
}

// Acquire takes the lock, waiting up to wait for another holder to finish.
func Acquire(ctx context.Context, root, command string, wait time.Duration) (*Lock, error) {
	if err := makeDir(Dir(root), 0o755); err != nil {
		return nil, err
	}
	p := filepath.Join(Dir(root), "lock")
	// O_NOFOLLOW: a lock planted as a symlink must not make imgup write elsewhere.
	f := flock.New(p, flock.SetFlag(os.O_CREATE|os.O_RDWR|syscall.O_NOFOLLOW))
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ok, err := f.TryLockContext(ctx, 100*time.Millisecond)
	if !ok {
		if ctx.Err() == nil && err != nil {
			return nil, i18n.Errorf("cannot lock %s: %w", p, err)
		}
		var h Holder
		if b, rerr := os.ReadFile(p); rerr == nil {
			json.Unmarshal(b, &h)
		}
		return nil, &Busy{Path: p, Holder: h}
	}
	b, _ := json.Marshal(Holder{PID: os.Getpid(), Started: time.Now(), Command: command})
	if err := writeNoFollow(p, b); err != nil {
		f.Unlock()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Release frees the lock.
func (l *Lock) Release() {
	if l != nil {
		l.f.Unlock()
	}
}

// Interrupted returns the updates that stopped before they ended (a crash, kill -9,
// a power cut): unfinished records while no imgup holds the lock.
func Interrupted(root string) ([]*Record, error) {
	recs, err := List(root)
	if err != nil {
		return nil, err
	}
	var out []*Record
	for _, r := range recs {
		if r.Unfinished() && r.RolledBackBy == "" {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	f := flock.New(filepath.Join(Dir(root), "lock"))
	if ok, _ := f.TryLock(); !ok {
		return nil, nil // an imgup is at work: its record is not interrupted
	}
	f.Unlock()
	return out, nil
}

// makeDir makes an .imgup folder, refusing one that is a symlink: imgup's state is
// opened without following links.
func makeDir(p string, mode os.FileMode) error {
	if fi, err := os.Lstat(p); err == nil {
		if fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() {
			return i18n.Errorf("%s is a symlink or not a folder: imgup keeps its records there and will not follow it; remove it", p)
		}
		return nil
	}
	if err := os.MkdirAll(p, mode); err != nil {
		return i18n.Errorf("cannot create %s: %w", p, err)
	}
	return nil
}

// writeNoFollow writes a small state file in place without following a symlink.
func writeNoFollow(p string, b []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return i18n.Errorf("cannot write %s: %w", p, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Held says who holds the deployment's lock, when an imgup holds it (another process,
// or this one): an apply or rollback is at work. It takes nothing.
func Held(root string) (*Holder, bool) {
	p := filepath.Join(Dir(root), "lock")
	if _, err := os.Lstat(p); err != nil {
		return nil, false
	}
	f := flock.New(p, flock.SetFlag(os.O_RDONLY|syscall.O_NOFOLLOW))
	if ok, err := f.TryRLock(); err == nil && ok {
		f.Unlock()
		return nil, false
	}
	var h Holder
	if b, err := os.ReadFile(p); err == nil {
		json.Unmarshal(b, &h)
	}
	return &h, true
}
