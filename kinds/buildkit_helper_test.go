package kinds

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var helper struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// useBuildKitHelper builds bottle-buildkit (once per test binary) and
// makes it the helper bottle runs, for a test that reaches BuildKit.
func useBuildKitHelper(t *testing.T) {
	t.Helper()
	helper.once.Do(func() {
		dir, err := os.MkdirTemp("", "bottle-buildkit-helper")
		if err != nil {
			helper.err = err
			return
		}
		helper.path = filepath.Join(dir, helperName)
		helper.out, helper.err = exec.Command("go", "build", "-o", helper.path, "github.com/bottle-build/bottle/cmd/bottle-buildkit").CombinedOutput()
	})
	if helper.err != nil {
		t.Fatalf("building %s: %v\n%s", helperName, helper.err, helper.out)
	}
	t.Setenv(HelperEnv, helper.path)
}

// TestHelperMissing: without bottle-buildkit, a BuildKit build says how to
// get it.
func TestHelperMissing(t *testing.T) {
	t.Setenv(HelperEnv, "")
	t.Setenv("PATH", t.TempDir())
	_, err := helperPath()
	if err == nil || !strings.Contains(err.Error(), "go install github.com/bottle-build/bottle/cmd/...") {
		t.Errorf("err = %v, want how to install bottle-buildkit", err)
	}
}

// TestHelperAnswers: bottle reads the helper's answer, an error included,
// and a helper that answers nothing readable is said to be one.
func TestHelperAnswers(t *testing.T) {
	useBuildKitHelper(t)
	rt := &Runtime{Buildkit: "unix://" + filepath.Join(t.TempDir(), "none.sock")}
	var log strings.Builder
	_, err := runHelper(t.Context(), rt, &log, &BuildKitRequest{Op: "platform", Buildkit: rt.Buildkit})
	if err == nil || !strings.Contains(err.Error(), "BuildKit daemon at "+rt.Buildkit) {
		t.Errorf("platform of no daemon: %v", err)
	}
	// Not the helper: an answer bottle cannot read.
	t.Setenv(HelperEnv, "/bin/true")
	if _, err := runHelper(t.Context(), rt, &log, &BuildKitRequest{Op: "platform"}); err == nil || !strings.Contains(err.Error(), "no answer bottle reads") {
		t.Errorf("from /bin/true: %v", err)
	}
}
