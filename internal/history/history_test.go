// This test locks down that imgup's state is never opened through a symlink: a
// planted .imgup folder or lock file link is refused, not followed.
package history

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStateNotFollowed(t *testing.T) {
	elsewhere := t.TempDir()
	root := t.TempDir()
	os.Symlink(elsewhere, filepath.Join(root, ".imgup"))
	if _, err := Acquire(context.Background(), root, "test", time.Second); err == nil || !strings.Contains(err.Error(), "is a symlink") {
		t.Fatalf(".imgup link: %v", err)
	}

	root = t.TempDir()
	os.Mkdir(filepath.Join(root, ".imgup"), 0o755)
	target := filepath.Join(elsewhere, "victim")
	os.WriteFile(target, []byte("precious\n"), 0o644)
	os.Symlink(target, filepath.Join(root, ".imgup", "lock"))
	if _, err := Acquire(context.Background(), root, "test", time.Second); err == nil {
		t.Fatal("a lock file link was followed")
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the link's target was written: %q", b)
	}

	root = t.TempDir()
	l, err := Acquire(context.Background(), root, "test", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	os.Symlink(elsewhere, filepath.Join(root, ".imgup", "history"))
	if _, err := Begin(root, &Record{}); err == nil || !strings.Contains(err.Error(), "is a symlink") {
		t.Fatalf("history link: %v", err)
	}
}

// Records made within one second are listed newest first by their time, not by the
// random suffix of their ids.
func TestListNewestFirst(t *testing.T) {
	root := t.TempDir()
	l, err := Acquire(context.Background(), root, "test", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"20260101T000000Z-ffff", "20260101T000000Z-0000", "20260101T000000Z-8888"} {
		j, err := Begin(root, &Record{ID: id, Kind: "apply"})
		if err != nil {
			t.Fatal(err)
		}
		j.R.Time = base.Add(time.Duration(i) * time.Millisecond)
		j.Set(Verified, nil)
	}
	recs, err := List(root)
	if err != nil || len(recs) != 3 || recs[0].ID != "20260101T000000Z-8888" || recs[2].ID != "20260101T000000Z-ffff" {
		t.Errorf("%v %v", err, recs)
	}
}
