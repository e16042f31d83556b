// Package cli is imgup's command tree: one file per verb. It turns flags into options
// for the stage packages, renders their results (tables on stdout, progress on stderr,
// --json for scripts) and maps failures to the documented exit codes. It prints each
// error once, in Main. It imports no YAML or Docker package.
package cli
