package graph

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestPlanningCannotAct guards the line between planning and execution by
// what the planning packages can link, not just what they import: nothing
// in the transitive dependencies of package graph (which takes in config,
// graph/files, steps, cache and workspace) may start a process, open a
// connection, or be the code that acts (kinds, run).
func TestPlanningCannotAct(t *testing.T) {
	forbidden := map[string]string{
		"os/exec":                         "starts processes",
		"net":                             "opens connections",
		"net/http":                        "opens connections",
		"github.com/docker/docker/client": "talks to Docker",
		"github.com/google/go-containerregistry/pkg/v1/remote":           "talks to registries",
		"github.com/google/go-containerregistry/pkg/v1/remote/transport": "talks to registries",
		"github.com/bottle-build/bottle/kinds":                           "runs steps",
		"github.com/bottle-build/bottle/run":                             "executes plans",
	}
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, pkg := range []string{".", "./files", "../steps", "../config", "../workspace", "../cache"} {
		out, err := exec.Command(goCmd, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 2 {
			t.Fatalf("go list -deps %s listed %d packages: the check would pass vacuously", pkg, len(deps))
		}
		for _, d := range deps {
			if why, bad := forbidden[d]; bad {
				t.Errorf("%s links %s, which %s: planning must not be able to act", pkg, d, why)
			}
		}
	}
}

// TestPurityCheckSeesActingCode makes sure the check above can fail: the
// package that runs steps does link what it forbids.
func TestPurityCheckSeesActingCode(t *testing.T) {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", "../kinds").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"os/exec", "github.com/docker/docker/client", "github.com/google/go-containerregistry/pkg/v1/remote"} {
		if !strings.Contains("\n"+string(out), "\n"+want+"\n") {
			t.Errorf("go list -deps ../kinds does not show %s", want)
		}
	}
}
