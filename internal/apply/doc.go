// Package apply carries out a plan, step by step, and makes no decisions of its own:
// it loads the images (runbook step 1), backs up and records before it edits, writes
// each file atomically (steps 2-3), restarts as the plan says (step 4), verifies that
// the updated services run the new image and are healthy (step 5), and, when any of
// that fails, puts every file back and restarts again, so that a failure ends in the
// old state or the new one, never between.
package apply
