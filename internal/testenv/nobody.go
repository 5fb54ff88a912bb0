//go:build unix

// Package testenv holds what tests share about this machine: running a
// check as an unprivileged user, for checks that root would pass whatever
// the code does. Only tests import it.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// asNobodyEnv marks the copy of a test binary that RunAsNobody starts.
const asNobodyEnv = "BOTTLE_TEST_AS_NOBODY"

// AsNobody reports whether this is the copy RunAsNobody started.
func AsNobody() bool { return os.Getenv(asNobodyEnv) != "" }

// RunAsNobody runs the test named test again in a copy of this test binary
// as the user nobody, with env added to its environment. Where that cannot
// be done it skips, unless BOTTLE_TEST_REQUIRE names nobody (CI does): then
// it fails. Anything the copy must reach has to be readable by nobody.
func RunAsNobody(t *testing.T, test string, env ...string) {
	t.Helper()
	cannot := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		for _, c := range strings.Split(os.Getenv("BOTTLE_TEST_REQUIRE"), ",") {
			if strings.TrimSpace(c) == "nobody" {
				t.Fatalf("%s, and BOTTLE_TEST_REQUIRE=%s says this must run as nobody", msg, os.Getenv("BOTTLE_TEST_REQUIRE"))
			}
		}
		t.Skip(msg + "; root would pass this check whatever the code does")
	}
	if AsNobody() {
		t.Fatal("still root after switching to nobody")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		cannot("no user nobody: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		cannot("user nobody: %v", err)
	}
	// go test's binary sits in a folder only root may enter: copy it into
	// one that nobody may, with a temporary folder of nobody's own.
	dir, err := os.MkdirTemp("", "bottle-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "nobody.test")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := errors.Join(os.WriteFile(bin, b, 0o755), os.Chmod(dir, 0o755), os.Mkdir(tmp, 0o700), os.Chown(tmp, int(uid), int(gid))); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.count=1", "-test.v", "-test.timeout=2m")
	cmd.Dir = tmp
	cmd.Env = append(append(os.Environ(), "TMPDIR="+tmp, "HOME="+tmp, asNobodyEnv+"=1"), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		cannot("running the test as nobody: %v (nobody must be able to reach %s)", err, bin)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test+" ") {
		t.Fatalf("as nobody (uid %d): %v\n%s", uid, err, out)
	}
	t.Logf("passed as nobody (uid %d)", uid)
}
