package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bottle-build/bottle/internal/testenv"
)

// The private watchman of each script that asks for one ([watchman]).
func init() {
	// watchman-start: start a watchman of the script's own (its socket,
	// state and log in a folder of their own) and point bottle at it with
	// WATCHMAN_SOCK; it is killed, by the PID this test started, when the
	// script ends or at watchman-stop.
	scriptCmds["watchman-start"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 0 {
			ts.Fatalf("usage: watchman-start")
		}
		// A short folder: a unix socket's path is at most ~100 bytes.
		dir, err := os.MkdirTemp("", "wm")
		ts.Check(err)
		w, err := testenv.StartWatchman(dir)
		if err != nil {
			os.RemoveAll(dir)
			ts.Fatalf("%v", err)
		}
		ts.Setenv("WATCHMAN_SOCK", w.Sock)
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				w.Stop()
				os.RemoveAll(dir)
				watchmenMu.Lock()
				delete(watchmen, ts)
				watchmenMu.Unlock()
			}
		}
		watchmenMu.Lock()
		watchmen[ts] = stop
		watchmenMu.Unlock()
		ts.Defer(stop)
	}
	// plaincopy [DIR]: plan a copy of the workspace ($WORK, or DIR in it)
	// without a file watcher, and check that it prints what the previous
	// command (a plan with one) printed.
	scriptCmds["plaincopy"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) > 1 {
			ts.Fatalf("usage: plaincopy [DIR]")
		}
		watched := ts.ReadFile("stdout")
		work := ts.Getenv("WORK")
		plain := work + "-plain"
		ws := plain
		if len(args) == 1 {
			ws = filepath.Join(plain, args[0])
		}
		ts.Check(os.RemoveAll(plain))
		ts.Defer(func() { os.RemoveAll(plain) })
		if out, err := exec.Command("cp", "-a", work, plain).CombinedOutput(); err != nil {
			ts.Fatalf("copying the workspace: %v\n%s", err, out)
		}
		ts.Check(ts.Exec("bottle", "-C", ws, "plan", "-v", "--fsmonitor", "off"))
		if plainOut := ts.ReadFile("stdout"); plainOut != watched {
			ts.Fatalf("the plan with watchman:\n%s\nthe plan without:\n%s", watched, plainOut)
		}
	}
	// watchman-stop: stop the script's watchman (WATCHMAN_SOCK then names
	// a socket nobody answers).
	scriptCmds["watchman-stop"] = func(ts *testscript.TestScript, neg bool, args []string) {
		watchmenMu.Lock()
		stop := watchmen[ts]
		delete(watchmen, ts)
		watchmenMu.Unlock()
		if stop == nil {
			ts.Fatalf("no watchman-start before watchman-stop")
		}
		stop()
	}
}

// watchmen holds each script's stop function; a script runs its commands
// one at a time, but scripts run in parallel.
var (
	watchmenMu sync.Mutex
	watchmen   = map[*testscript.TestScript]func(){}
)

// watchmanCondition answers [watchman]: a watchman program to start. Where
// there is none, a script that needs it is skipped, unless
// BOTTLE_TEST_REQUIRE names watchman (CI does).
func watchmanCondition() (bool, error) {
	if missing := testenv.WatchmanMissing(); missing != "" {
		if testenv.Required("watchman") {
			return false, fmt.Errorf("%s, and BOTTLE_TEST_REQUIRE=%s says watchman must run", missing, os.Getenv("BOTTLE_TEST_REQUIRE"))
		}
		return false, nil
	}
	return true, nil
}
