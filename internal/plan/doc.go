// Package plan decides, and only decides: from one snapshot of the world — the
// archives, the deployment's files, what the engine holds and runs — it computes
// the Plan, plain data that says every image to load, every byte range to edit (with
// its cause), how to restart and what to verify. It does no I/O.
//
// Plan.String is what `imgup plan` prints and what `imgup apply` shows before it
// acts, so the two can never disagree.
package plan
