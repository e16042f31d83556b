//go:build e2e || imguptest

package cli

import (
	"fmt"
	"os"
	"syscall"

	"github.com/encoo-tools/imgup/internal/update"
)

// HooksBuilt says the test seams are in this build.
const HooksBuilt = true

// testHooks are the seams the end-to-end tests set through the environment of the
// imgup process they run: IMGUP_TEST_CRASH_AFTER=STEP ends it after that step as kill -9
// would (exit 137), IMGUP_TEST_JOURNAL_FAIL=STATE fails that record write as a full disk
// would. Only the front end reads them; the library packages know only update.Hooks.
func testHooks(env *Env) *update.Hooks {
	crash, fail := os.Getenv("IMGUP_TEST_CRASH_AFTER"), os.Getenv("IMGUP_TEST_JOURNAL_FAIL")
	if crash == "" && fail == "" {
		return nil
	}
	return &update.Hooks{
		AfterStep: func(step string) {
			if step == crash {
				fmt.Fprintf(env.Stderr, "imgup: test crash after %s\n", step)
				os.Exit(137)
			}
		},
		Record: func(state string) error {
			if state == fail {
				return syscall.ENOSPC
			}
			return nil
		},
	}
}
