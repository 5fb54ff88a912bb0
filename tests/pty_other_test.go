//go:build !linux

package tests

import (
	"os"
	"testing"

	"github.com/bottle-build/bottle/internal/testenv"
)

// openPTY: the pty tests open their terminal the Linux way, so elsewhere
// they skip, or fail when BOTTLE_TEST_REQUIRE names pty.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	if testenv.Required("pty") {
		t.Fatalf("the pty tests run on Linux only, and BOTTLE_TEST_REQUIRE=%s says they must run", os.Getenv("BOTTLE_TEST_REQUIRE"))
	}
	t.Skip("the pty tests run on Linux only")
	return nil, nil
}
