// Package tests holds bottle's end-to-end tests: testscript scripts under
// testdata/ that run the real bottle binary, built once per test run.
package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bottle-build/bottle/internal/testenv"
)

var binDir string

func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(stopBuilder{m}, map[string]func() int{}))
}

// stopBuilder runs the tests, then stops the standalone builder if a script
// or test started one (testscript's Main exits the process itself: the stop
// must come inside its Run).
type stopBuilder struct{ *testing.M }

func (s stopBuilder) Run() int {
	code := s.M.Run()
	testenv.StopBuildkitd()
	return code
}

func buildBottle(t testing.TB) string {
	t.Helper()
	if binDir != "" {
		return binDir
	}
	dir, err := os.MkdirTemp("", "bottle-e2e-bin")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"build", "-o", filepath.Join(dir, "bottle")}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/bottle-build/bottle/cmd/bottle")
	cmd := exec.Command("go", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("building bottle: %v\n%s", err, out.String())
	}
	// bottle-buildkit beside bottle, where bottle looks for it, as
	// go install puts it.
	args[2] = filepath.Join(dir, "bottle-buildkit")
	args[len(args)-1] = "github.com/bottle-build/bottle/cmd/bottle-buildkit"
	cmd = exec.Command("go", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("building bottle-buildkit: %v\n%s", err, out.String())
	}
	// The fake smolvm, on PATH as smolvm (the real one cannot run here).
	cmd = exec.Command("go", "build", "-o", filepath.Join(dir, "smolvm"), "github.com/bottle-build/bottle/tests/fakesmolvm")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("building the fake smolvm: %v\n%s", err, out.String())
	}
	// buildctl, BuildKit's own client, where the machine has one: scripts
	// that use the standalone builder can look at it.
	if bc := testenv.Buildctl(); bc != "" {
		if err := os.Symlink(bc, filepath.Join(dir, "buildctl")); err != nil {
			t.Fatal(err)
		}
	}
	binDir = dir
	return dir
}

func TestScripts(t *testing.T) {
	bin := buildBottle(t)
	goBin := filepath.Dir(goTool(t))
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+goBin+string(os.PathListSeparator)+"/usr/local/bin:/usr/bin:/bin")
			// The cache lives beside the workspace, not in it, so that a
			// glob over the whole workspace never sees it.
			env.Setenv("BOTTLE_CACHE_DIR", env.WorkDir+"-cache")
			// So are temporary files (testscript's are in $WORK/.tmp): a
			// step's go test writes its build there while another step
			// runs gofmt -l over the workspace (release_example's lint).
			if err := os.MkdirAll(env.WorkDir+"-tmp", 0o755); err != nil {
				return err
			}
			env.Setenv("TMPDIR", env.WorkDir+"-tmp")
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			// Keep the Go build cache of the example pipelines warm across scripts.
			if gc, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
				env.Setenv("GOCACHE", strings.TrimSpace(string(gc)))
			}
			env.Setenv("GOFLAGS", "-mod=mod")
			env.Setenv("GOPROXY", "off")
			if r, ok := testRegistry(); ok {
				env.Setenv("REGISTRY", r)
			}
			// The examples, for scripts that copy one and run it as a
			// new user would.
			if ex, err := filepath.Abs(filepath.Join("..", "examples")); err == nil {
				env.Setenv("EXAMPLES", ex)
			}
			env.Setenv("SMOLVM_DATA_DIR", filepath.Join(env.WorkDir, ".smolvm"))
			env.Setenv("SMOLVM_FAKE_LOG", filepath.Join(env.WorkDir, "smolvm.argv"))
			// A name no earlier run used, for repositories in a registry
			// that outlives the test.
			env.Setenv("RUN_ID", fmt.Sprintf("r%d", time.Now().UnixNano()))
			// The standalone builder's address: [buildkitd] starts it, the
			// first time a script asks, and only then does it answer.
			if testenv.BuildkitdMissing() == "" {
				addr, err := testenv.BuildkitdAddress()
				if err != nil {
					return err
				}
				env.Setenv("BUILDKIT_ADDR", addr)
			} else {
				env.Setenv("BUILDKITD_MISSING", testenv.BuildkitdMissing())
			}
			if h := os.Getenv("DOCKER_HOST"); h != "" {
				env.Setenv("DOCKER_HOST", h)
			}
			return nil
		},
		Cmds: scriptCmds,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "docker":
				ok := haveDocker()
				if !ok && testenv.Required("docker") {
					return false, fmt.Errorf("no Docker engine answers, and BOTTLE_TEST_REQUIRE=%s says it must (start dockerd)", os.Getenv("BOTTLE_TEST_REQUIRE"))
				}
				return ok, nil
			case "registry":
				addr, ok := testRegistry()
				if !ok && testenv.Required("registry") {
					return false, fmt.Errorf("no registry answers at BOTTLE_TEST_REGISTRY=%q, and BOTTLE_TEST_REQUIRE=%s says it must (start docker-registry on loopback)", addr, os.Getenv("BOTTLE_TEST_REQUIRE"))
				}
				return ok, nil
			case "python":
				// examples/dashboard is python3, standard library only.
				_, err := exec.LookPath("python3")
				if err != nil && testenv.Required("python") {
					return false, fmt.Errorf("no python3 on PATH, and BOTTLE_TEST_REQUIRE=%s says it must (install python3)", os.Getenv("BOTTLE_TEST_REQUIRE"))
				}
				return err == nil, nil
			case "buildkitd":
				// A standalone buildkitd at $BUILDKIT_ADDR, started for the
				// first script that asks (once per test process); where
				// there is none, $BUILDKITD_MISSING says why.
				if missing := testenv.BuildkitdMissing(); missing != "" {
					if testenv.Required("buildkitd") {
						return false, fmt.Errorf("%s, and BOTTLE_TEST_REQUIRE=%s says it must run", missing, os.Getenv("BOTTLE_TEST_REQUIRE"))
					}
					return false, nil
				}
				// A builder that is there but does not start fails the
				// script, with the tail of its log.
				if _, err := testenv.StartBuildkitd(); err != nil {
					return false, err
				}
				return true, nil
			case "browser":
				return haveBrowser()
			case "watchman":
				return watchmanCondition()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		RequireExplicitExec: false,
	})
}

func goTool(t testing.TB) string {
	p, err := exec.LookPath("go")
	if err != nil {
		p = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return p
}
