package history

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/readfile"
	"github.com/google/renameio/v2"
)

// States of a record, in the order an update moves through them.
const (
	Started    = "started" // backups taken, nothing changed yet
	Loaded     = "loaded"  // images loaded (loading only adds tags)
	Written    = "files-written"
	Restarted  = "restarted"
	Verified   = "verified"    // done
	Failed     = "failed"      // failed, left as is (--no-rollback)
	RolledBack = "rolled-back" // failed, and every file and container is as before
	Broken     = "restore-failed"
)

// Record is one update (or rollback) of a deployment.
type Record struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"` // apply or rollback
	Of    string    `json:"of,omitempty"`
	Time  time.Time `json:"time"`
	User  string    `json:"user"`
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	State string    `json:"state"`
	// Archives are the archives the update loaded from.
	Archives []Archive `json:"archives,omitempty"`
	// Loaded are the images loaded (ref and ID); on a swarm, Nodes are the nodes
	// they were loaded on, each holding them after.
	Loaded []Image  `json:"loaded,omitempty"`
	Nodes  []string `json:"nodes,omitempty"`
	// Edits are the file edits, with paths relative to the root.
	Edits []Edit `json:"edits,omitempty"`
	// Files are the files backed up, relative to the root.
	Files   []string `json:"files,omitempty"`
	Restart string   `json:"restart"`
	// RestartRuns are the compose and docker commands the restart command runs, as
	// its dry run saw them before the update.
	RestartRuns []Run     `json:"restart_runs,omitempty"`
	Updates     []Service `json:"updates,omitempty"`
	Verify      []string  `json:"verify,omitempty"`
	// RolledBackBy is the id of the rollback that undid this update.
	RolledBackBy string    `json:"rolled_back_by,omitempty"`
	Error        string    `json:"error,omitempty"`
	Ended        time.Time `json:"ended,omitzero"`
	// Bundles are the vendor bundles the update applied.
	Bundles []Bundle `json:"bundles,omitempty"`
	// Stages say how long each stage took, in the order they ran.
	Stages []Stage `json:"stages,omitempty"`
	// Table is the deployment's containers after verification.
	Table []Row `json:"table,omitempty"`
}

// Run is one command a restart runs, and the folder it runs in.
type Run struct {
	Dir     string `json:"dir"`
	Command string `json:"command"`
}

// Row is one row of the final table, like docker ps -a: a service and its container.
type Row struct {
	Stack     string `json:"stack"`
	Service   string `json:"service"`
	Container string `json:"container"`
	Image     string `json:"image"`
	ImageID   string `json:"image_id"`
	State     string `json:"state"`
	Health    string `json:"health,omitempty"`
	Updated   bool   `json:"updated"`
	// Restored: the service runs its old image again (a rollback, or an undone update).
	Restored bool `json:"restored,omitempty"`
	// Downtime is how long the service had no ready container during the update.
	Downtime string `json:"downtime,omitempty"`
	Problem  string `json:"problem,omitempty"`
	// Node is the swarm node the container runs on ("" off a swarm).
	Node string `json:"node,omitempty"`
}

// Bundle is a vendor bundle an update applied.
type Bundle struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Path    string `json:"path"`
	// Manifest is the sha256 of its bundle.json; KeyID its signer, Verified whether a
	// trusted key verified it.
	Manifest string `json:"manifest"`
	KeyID    string `json:"key_id,omitempty"`
	Verified bool   `json:"verified"`
}

// Stage is one stage of an update and how long it took.
type Stage struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Archive is one archive an update read.
type Archive struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// Image is a reference and its image ID.
type Image struct {
	Ref string `json:"ref"`
	ID  string `json:"id"`
}

// Edit is one change of bytes in a file.
type Edit struct {
	File string `json:"file"`
	Line int    `json:"line"`
	// Start and End are the byte offsets of Old in the file before the update.
	Start int    `json:"start"`
	End   int    `json:"end"`
	Old   string `json:"old"`
	New   string `json:"new"`
	// Key is the configuration key or environment variable the edit changes, if any;
	// Secret is set when its name says it holds a secret: output shows *** for it.
	Key    string `json:"key,omitempty"`
	Secret bool   `json:"secret,omitempty"`
	// Meaning is what an environment edit means, as an operator writes it:
	// SSO_ENABLED=true, or "without SSO_ENABLED" (Old and New are the YAML bytes).
	Meaning string `json:"meaning,omitempty"`
}

// Shown returns Old and New as output may show them.
func (e Edit) Shown() (old, new string) {
	if e.Secret {
		return mask(e.Old), mask(e.New)
	}
	return e.Old, e.New
}

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// Service is a service an update moved from one image to another.
type Service struct {
	Stack    string `json:"stack"`
	Project  string `json:"project"`
	Service  string `json:"service"`
	From     string `json:"from"`
	FromID   string `json:"from_id"`
	To       string `json:"to"`
	ToID     string `json:"to_id"`
	Downtime string `json:"downtime,omitempty"`
}

// Changed reports whether the update changed something a rollback can undo: a file,
// or the image a service runs.
func (r *Record) Changed() bool {
	if len(r.Edits) > 0 {
		return true
	}
	for _, u := range r.Updates {
		if u.FromID != u.ToID || u.From != u.To {
			return true
		}
	}
	return false
}

// Dir is <root>/.imgup.
func Dir(root string) string { return filepath.Join(root, ".imgup") }

func historyDir(root string) string { return filepath.Join(Dir(root), "history") }

// Journal is a record being written as an update proceeds.
type Journal struct {
	root string
	dir  string
	R    *Record
}

// NewID makes a sortable id: time, then random.
func NewID(now time.Time) string {
	b := make([]byte, 2)
	rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Begin backs up files (paths relative to root) and writes the record, before any change.
func Begin(root string, r *Record) (*Journal, error) {
	if r.ID == "" {
		r.ID = NewID(time.Now())
	}
	r.Time = time.Now().UTC()
	r.PID = os.Getpid()
	r.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		r.User = u.Username
	}
	r.State = Started
	j := &Journal{root: root, dir: filepath.Join(historyDir(root), r.ID), R: r}
	for _, d := range []string{Dir(root), historyDir(root), j.dir, filepath.Join(j.dir, "backup")} {
		if err := makeDir(d, 0o700); err != nil {
			return nil, err
		}
	}
	for _, f := range r.Files {
		b, err := readfile.Read(filepath.Join(root, f), 0)
		if err != nil {
			return nil, i18n.Errorf("backing up %s: %w", f, err)
		}
		dst := filepath.Join(j.dir, "backup", f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, err
		}
		if err := renameio.WriteFile(dst, b, 0o600); err != nil {
			return nil, i18n.Errorf("backing up %s: %w", f, err)
		}
	}
	return j, j.save()
}

// Set moves the record to state, after mutate (may be nil) updated it.
func (j *Journal) Set(state string, mutate func(*Record)) error {
	if mutate != nil {
		mutate(j.R)
	}
	j.R.State = state
	switch state {
	case Verified, Failed, RolledBack, Broken:
		j.R.Ended = time.Now().UTC()
	}
	return j.save()
}

func (j *Journal) save() error {
	b, err := json.MarshalIndent(j.R, "", "  ")
	if err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(j.dir, "record.json"), append(b, '\n'), 0o600)
}

// Backup returns the bytes a file had before the update (path relative to root).
func (j *Journal) Backup(file string) ([]byte, error) {
	return os.ReadFile(filepath.Join(j.dir, "backup", file))
}

// Open reopens the record id.
func Open(root, id string) (*Journal, error) {
	dir := filepath.Join(historyDir(root), id)
	b, err := os.ReadFile(filepath.Join(dir, "record.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, i18n.Errorf("no update %s in %s", id, historyDir(root))
	} else if err != nil {
		return nil, err
	}
	r := &Record{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, i18n.Errorf("%s: %v", filepath.Join(dir, "record.json"), err)
	}
	return &Journal{root: root, dir: dir, R: r}, nil
}

// List returns every record, newest first.
func List(root string) ([]*Record, error) {
	ents, err := os.ReadDir(historyDir(root))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []*Record
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		j, err := Open(root, e.Name())
		if err != nil {
			continue // a half-made folder from a crash before the record was written
		}
		out = append(out, j.R)
	}
	// Newest first by the record's time (nanoseconds): ids have one-second resolution,
	// and two records of one second would otherwise sort by their random suffix.
	sort.Slice(out, func(i, k int) bool {
		if !out[i].Time.Equal(out[k].Time) {
			return out[i].Time.After(out[k].Time)
		}
		return out[i].ID > out[k].ID
	})
	return out, nil
}

// Unfinished reports whether an update stopped without reaching an end state.
func (r *Record) Unfinished() bool {
	switch r.State {
	case Started, Loaded, Written, Restarted:
		return true
	}
	return false
}
