//go:build !(e2e || imguptest)

package cli

import "github.com/encoo-tools/imgup/internal/update"

// HooksBuilt says the test seams are in this build.
const HooksBuilt = false

// testHooks are off in the shipped binary: the crash and journal seams exist only in
// builds tagged imguptest (the end-to-end tests build imgup so).
func testHooks(*Env) *update.Hooks { return nil }
