// These tests lock down the update service's own decisions: which update a rollback
// undoes, and which old images prune may remove.
package update

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/history"
)

func TestPickRollback(t *testing.T) {
	changed := []history.Edit{{File: ".systemconfig"}}
	recs := []*history.Record{ // newest first
		{ID: "4", Kind: "apply", State: history.Verified, Updates: []history.Service{{From: "acme/web:2", FromID: "sha256:2", To: "acme/web:2", ToID: "sha256:2"}}},
		{ID: "3", Kind: "rollback", Edits: changed},
		{ID: "2", Kind: "apply", RolledBackBy: "3", Edits: changed},
		{ID: "1", Kind: "apply", State: history.Verified, Edits: changed},
	}
	if r, err := pickRollback(recs, ""); err != nil || r.ID != "1" {
		t.Errorf("newest not undone: %v %v", r, err)
	}
	// 4 changed nothing (applied a second time): it is passed over, and named it says so.
	for id, want := range map[string]string{"2": "already undone", "3": "is a rollback", "9": "no update 9", "4": "nothing to undo"} {
		if _, err := pickRollback(recs, id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", id, err, want)
		}
	}
	if _, err := pickRollback(recs[:3], ""); err == nil || !strings.Contains(err.Error(), "nothing to roll back") {
		t.Errorf("all undone: %v", err)
	}
}

func TestPruneCandidates(t *testing.T) {
	day := func(n int) time.Time { return time.Date(2026, 1, n, 0, 0, 0, 0, time.UTC) }
	s := &Snapshot{
		records: []*history.Record{{ID: "u1", Kind: "apply", Updates: []history.Service{{From: "acme/web:1", FromID: "sha256:1", To: "acme/web:2", ToID: "sha256:2"}}}},
		images: []engine.Image{
			{ID: "sha256:0", Tags: []string{"acme/web:0"}, Created: day(1)},
			{ID: "sha256:1", Tags: []string{"acme/web:1"}, Created: day(2)},
			{ID: "sha256:2", Tags: []string{"acme/web:2"}, Created: day(3)},
			{ID: "sha256:3", Tags: []string{"acme/web:3"}, Created: day(4)},
			{ID: "sha256:9", Tags: []string{"other/db:1"}, Created: day(1)},
		},
		containers: []engine.Container{{ImageID: "sha256:2"}},
	}
	remove, kept := s.PruneCandidates(PruneOptions{Keep: 1})
	if strings.Join(remove, " ") != "acme/web:0" {
		t.Errorf("remove %v (kept %v)", remove, kept)
	}
	if !strings.Contains(fmt.Sprint(kept), "acme/web:1 (rollback target of update u1)") {
		t.Errorf("kept %v", kept)
	}
	remove, _ = s.PruneCandidates(PruneOptions{Keep: 1, RollbackImages: true})
	if strings.Join(remove, " ") != "acme/web:1 acme/web:0" {
		t.Errorf("with rollback images: remove %v", remove)
	}
}
