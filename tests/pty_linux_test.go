package tests

// Opening a pseudo-terminal the Linux way (/dev/ptmx and devpts).

import (
	"os"
	"syscall"
	"testing"

	"github.com/bottle-build/bottle/internal/testenv"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair. Without one the test skips, unless
// BOTTLE_TEST_REQUIRE names pty (CI does): the prompt is what stands between
// an operator and an apply, so CI must never pass without testing it.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		if testenv.Required("pty") {
			t.Fatalf("no pseudo-terminals here (%v), and BOTTLE_TEST_REQUIRE=%s says there must be (mount devpts on /dev/pts)", err, os.Getenv("BOTTLE_TEST_REQUIRE"))
		}
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}
