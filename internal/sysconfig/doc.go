// Package sysconfig reads and edits the deployment's .systemconfig (and .env): the
// file that deploy.sh sources, which holds image versions beside unrelated settings.
// Runbook step 2.
//
// It reads shell-style KEY=VALUE files (comments, blank lines, quotes, export, CRLF)
// and JSON files, recording where each value's characters sit, so that an edit
// changes those characters only. It finds the entry that holds an image's version —
// a full reference as value, or a version key told apart by its name — and refuses to
// guess: when the choice is not clear it returns the candidates. A value that merely
// contains a version is never an entry for it.
package sysconfig
