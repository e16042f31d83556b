package update

import (
	"github.com/encoo-tools/imgup/internal/apply"
	"github.com/encoo-tools/imgup/internal/archive"
	"github.com/encoo-tools/imgup/internal/bundle"
	"github.com/encoo-tools/imgup/internal/engine"
	"github.com/encoo-tools/imgup/internal/event"
	"github.com/encoo-tools/imgup/internal/history"
	"github.com/encoo-tools/imgup/internal/i18n"
	"github.com/encoo-tools/imgup/internal/plan"
	"github.com/encoo-tools/imgup/internal/status"
	"github.com/encoo-tools/imgup/internal/target"
)

// The service's vocabulary. Front ends (the CLI, the web console) import only this
// package, i18n and table: the data they render is named here, and what they do goes
// through the service's functions. The stage packages stay behind it.
type (
	// Plan is what an update or a rollback would do; Outcome what it did.
	Plan    = plan.Plan
	Outcome = apply.Outcome
	// ApplyOptions say how an apply or a rollback runs; Hooks are the tests' seams.
	ApplyOptions = apply.Options
	Hooks        = apply.Hooks
	// Event is one thing that happened, for a front end to show as it happens: the one
	// stream of every operation (reading progress, notices, loads, edits, restart lines,
	// downtime, verification).
	Event = event.Event
	// State is a row of the final table: a service, what it runs, how it is.
	State = apply.State
	// Failure is an update that failed after it began changing things.
	Failure = apply.Failure
	// Loaded is an image a load put into the engine (or found there).
	Loaded = apply.Loaded
	// Record is an update as the history keeps it; Row a service's row in it; Holder
	// the process that holds a deployment's lock.
	Record = history.Record
	Row    = history.Row
	Holder = history.Holder
	// Archive is an image archive as read.
	Archive = archive.Archive
	// Report is status's drift report.
	Report = status.Report
	// Manifest, Signature, Change and Constraint are a vendor bundle's parts.
	Manifest   = bundle.Manifest
	Signature  = bundle.Signature
	Change     = bundle.Change
	Constraint = bundle.Constraint
)

// Event kinds.
const (
	EvStageStarted  = event.StageStarted
	EvStageFinished = event.StageFinished
	EvRead          = event.Read
	EvLoaded        = event.Loaded
	EvEdited        = event.Edited
	EvOutput        = event.Output
	EvContainer     = event.Container
	EvVerified      = event.Verified
	EvDowntime      = event.Downtime
	EvNote          = event.Note
)

// Record states, as history keeps them.
const (
	RecStarted    = history.Started
	RecLoaded     = history.Loaded
	RecWritten    = history.Written
	RecRestarted  = history.Restarted
	RecVerified   = history.Verified
	RecFailed     = history.Failed
	RecRolledBack = history.RolledBack
	RecBroken     = history.Broken
)

// Restart methods (--restart).
const (
	RestartAuto     = plan.RestartAuto
	RestartDeploy   = plan.RestartDeploy
	RestartServices = plan.RestartServices
	RestartNone     = plan.RestartNone
)

// ShortID is an image or container ID as docker ps shows it (12 hex digits).
func ShortID(id string) string { return engine.ShortID(id) }

// Human is a byte count in the units the flags take (KiB, MiB, GiB).
func Human(n int64) string { return plan.Human(n) }

// Safe makes text from files, archives and the engine safe to print on a terminal:
// control characters are escaped. Front ends apply it where they write.
func Safe(s string) string { return archive.Safe(s) }

// CheckRestart says whether method is a restart method imgup knows.
func CheckRestart(method string) error { return plan.CheckRestart(method) }

// Describe is a record in a line: what it updated.
func Describe(r *Record) string { return plan.Describe(r) }

// StateDir is where the deployment at root keeps imgup's state (.imgup).
func StateDir(root string) string { return history.Dir(root) }

// Said is e with the message m as its text: English in JSON, the reader's language on
// screen.
func Said(e Event, m i18n.Message) Event { return event.Said(e, m) }

// RestartChoice is a restart method and what it runs.
type RestartChoice = target.Choice

// RestartChoices are --restart's values and what each runs, for a front end's choices.
func RestartChoices() []RestartChoice { return target.Choices() }

// RestartMethods are --restart's values: auto and every registered target.
func RestartMethods() []string { return target.Names() }

// RestartHelp is --restart's help in tr's language: every method and what it runs.
func RestartHelp(tr *i18n.Printer) string { return target.Help(tr) }

// Titled gives a reading-progress event its line ("reading NAME"), with base as the
// archive's name.
func Titled(e Event, base string) Event { return event.Titled(e, base) }
