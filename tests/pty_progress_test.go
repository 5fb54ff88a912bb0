package tests

// The live view on a real terminal (issue 10): elapsed time that ticks
// while a step runs, and a 400-step restore that leaves a screenful, not a
// line per step.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bottle-build/bottle/internal/termscreen"
	"golang.org/x/sys/unix"
)

// applyOnTerminal runs bottle apply --yes on a real terminal cols wide,
// outside CI whatever the test's environment says, calling watch with
// everything the terminal got so far after each read. It returns the exit
// code, the raw output and the screen it leaves.
func applyOnTerminal(t *testing.T, ws, cacheDir string, cols int, env []string, watch func(raw string)) (int, string, *termscreen.Screen) {
	t.Helper()
	bin := buildBottle(t)
	m, s := openPTY(t)
	defer m.Close()
	if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(cols), Row: 40}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "bottle"), "-C", ws, "--cache-dir", cacheDir, "apply", "--yes")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "CI", "GITHUB_ACTIONS", "GITLAB_CI", "TERM", "COLUMNS", "BOTTLE_PROGRESS":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "TERM=xterm")
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var raw strings.Builder
	screen := &termscreen.Screen{Width: cols}
	buf := make([]byte, 4096)
	deadline := time.Now().Add(5 * time.Minute) // a guard against a hang, not a speed test
	for time.Now().Before(deadline) {
		m.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := m.Read(buf)
		raw.Write(buf[:n])
		screen.Write(buf[:n])
		if watch != nil {
			watch(raw.String())
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // EIO: the child closed the terminal
		}
	}
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, raw.String(), screen
}

// TestLiveViewTicks: while a step runs, its line shows its elapsed time,
// which moves with nothing else happening, and the last line of its log.
// The step waits until the test has seen that, so no speed is assumed.
func TestLiveViewTicks(t *testing.T) {
	ws, c := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ws, "bottle.toml"), []byte(`
[steps.slow]
kind = "exec"
run = "echo compiling the thing; while [ ! -e release ]; do sleep 0.05; done; touch out.txt"
outputs = ["out.txt"]
`), 0o644)
	line := regexp.MustCompile(`▸[^\n]* slow +\S*?(\d+\.\d)s\S* +\S*compiling the thing`)
	seen := map[string]bool{}
	released := false
	code, raw, screen := applyOnTerminal(t, ws, c, 100, nil, func(raw string) {
		for _, m := range line.FindAllStringSubmatch(raw, -1) {
			seen[m[1]] = true
		}
		if len(seen) >= 2 && !released {
			released = true
			var mid termscreen.Screen
			mid.Write([]byte(raw))
			t.Logf("the terminal while the step runs:\n%s", mid.String())
			os.WriteFile(filepath.Join(ws, "release"), nil, 0o644)
		}
	})
	if !released {
		t.Fatalf("exit %d; the step's line never showed two elapsed times (saw %v):\n%q", code, seen, raw)
	}
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, screen)
	}
	got := screen.String()
	if !regexp.MustCompile(`\n  ✓ slow +ran +\S+\n`).MatchString(got) || !strings.Contains(got, "Apply complete") {
		t.Errorf("the screen lacks the step's line or the summary:\n%s", got)
	}
	if strings.Contains(got, "running") || strings.Contains(got, "compiling the thing") {
		t.Errorf("the live region is left on the screen:\n%s", got)
	}
	if screen.Wraps > 0 {
		t.Errorf("%d lines wrapped:\n%s", screen.Wraps, got)
	}
	t.Logf("the terminal at the end:\n%s", got)
}

// TestLiveViewFoldsRestores: restoring 400 steps on a terminal leaves
// fewer than 150 lines (it left 1,252): the plan and the run fold the
// restores into counts.
func TestLiveViewFoldsRestores(t *testing.T) {
	ws, c := t.TempDir(), t.TempDir()
	var cfg strings.Builder
	for i := range 400 {
		fmt.Fprintf(&cfg, "[steps.s%03d]\nkind = \"exec\"\nrun = \"echo %d > o%03d.txt\"\noutputs = [\"o%03d.txt\"]\n", i, i, i, i)
	}
	os.WriteFile(filepath.Join(ws, "bottle.toml"), []byte(cfg.String()), 0o644)
	bin := buildBottle(t)
	if out, err := exec.Command(filepath.Join(bin, "bottle"), "-C", ws, "--cache-dir", c, "apply", "--yes").CombinedOutput(); err != nil {
		t.Fatalf("first apply: %v\n%s", err, out)
	}
	for i := range 400 {
		os.Remove(filepath.Join(ws, fmt.Sprintf("o%03d.txt", i)))
	}
	code, raw, screen := applyOnTerminal(t, ws, c, 100, nil, nil)
	got := screen.String()
	if code != 0 || !strings.Contains(got, "Apply complete") || !strings.Contains(got, "400 restored") {
		t.Fatalf("exit %d:\n%s", code, got)
	}
	if n := len(screen.Lines()); n >= 150 {
		t.Errorf("restoring 400 steps left %d lines on the terminal, want fewer than 150:\n%s", n, got)
	}
	for _, want := range []string{"↓ 380 more steps to restore (-v lists them)", "↓ 390 more restored (-v lists them)"} {
		if !strings.Contains(got, want) {
			t.Errorf("the screen lacks %q:\n%s", want, got)
		}
	}
	if screen.Wraps > 0 {
		t.Errorf("%d lines wrapped:\n%s", screen.Wraps, got)
	}
	t.Logf("%d lines on screen (%d line feeds written):\n%s", len(screen.Lines()), strings.Count(raw, "\n"), got)
}

// TestDumbTerminal: with TERM=dumb, a terminal gets plain lines: no
// cursor movement, no colour.
func TestDumbTerminal(t *testing.T) {
	ws, c := newWorkspace(t)
	code, raw, _ := applyOnTerminal(t, ws, c, 80, []string{"TERM=dumb"}, nil)
	if code != 0 || !strings.Contains(raw, "Apply complete") {
		t.Fatalf("exit %d:\n%q", code, raw)
	}
	if strings.Contains(raw, "\x1b") {
		t.Errorf("escape sequences on a dumb terminal:\n%q", raw)
	}
	if !regexp.MustCompile(`\d\d:\d\d:\d\d   ▸ hello +started`).MatchString(raw) {
		t.Errorf("no plain started line:\n%q", raw)
	}
}
