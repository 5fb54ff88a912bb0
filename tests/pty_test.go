package tests

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bottle-build/bottle/internal/termscreen"
	"github.com/bottle-build/bottle/internal/testenv"
)

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// runOnTerminal starts bottle apply with a real terminal as its standard
// streams and controlling terminal, waits for the prompt, types answer and
// returns the exit code and everything the terminal showed.
func runOnTerminal(t *testing.T, ws, cacheDir, answer string) (int, string) {
	t.Helper()
	bin := buildBottle(t)
	m, s := openPTY(t)
	defer m.Close()
	cmd := exec.Command(filepath.Join(bin, "bottle"), "-C", ws, "--cache-dir", cacheDir, "apply")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.Env = append(os.Environ(), "TERM=xterm")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var screen bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(20 * time.Second)
	prompted := false
	for time.Now().Before(deadline) {
		m.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := m.Read(buf)
		screen.Write(buf[:n])
		if !prompted && strings.Contains(screen.String(), "Only 'yes' or 'y' applies it:") {
			prompted = true
			m.Write([]byte(answer))
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // EIO: the child closed the terminal
		}
	}
	err := cmd.Wait()
	if !prompted {
		t.Fatalf("no prompt on the terminal:\n%s", screen.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return code, screen.String()
}

func newWorkspace(t *testing.T) (ws, cacheDir string) {
	ws, cacheDir = t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ws, "bottle.toml"), []byte(`
[steps.hello]
kind = "exec"
run = "echo step output > out.txt; echo PRINTED-BY-STEP"
outputs = ["out.txt"]
`), 0o644)
	return ws, cacheDir
}

// TestPromptOnTerminal answers the prompt on a real pseudo-terminal.
func TestPromptOnTerminal(t *testing.T) {
	t.Run("yes", func(t *testing.T) {
		ws, c := newWorkspace(t)
		code, screen := runOnTerminal(t, ws, c, "yes\r")
		if code != 0 || !strings.Contains(screen, "Apply complete") {
			t.Fatalf("exit %d:\n%s", code, screen)
		}
		if _, err := os.Stat(filepath.Join(ws, "out.txt")); err != nil {
			t.Error("the step did not run")
		}
		// The step's own output goes to its log, never raw onto the
		// terminal: the live view shows its last line, cleaned, on the
		// step's running line, and erases it when the step ends.
		checkOutputStaysInTheLog(t, screen, "PRINTED-BY-STEP")
	})
	t.Run("no", func(t *testing.T) {
		ws, c := newWorkspace(t)
		code, screen := runOnTerminal(t, ws, c, "nope\r")
		if code != 1 || !strings.Contains(screen, "Apply cancelled.") {
			t.Fatalf("exit %d:\n%s", code, screen)
		}
		if _, err := os.Stat(filepath.Join(ws, "out.txt")); err == nil {
			t.Error("the step ran although the answer was no")
		}
	})
	t.Run("ctrl-c", func(t *testing.T) {
		ws, c := newWorkspace(t)
		code, screen := runOnTerminal(t, ws, c, "\x03")
		if code != 130 {
			t.Fatalf("exit %d, want 130:\n%s", code, screen)
		}
		if _, err := os.Stat(filepath.Join(ws, "out.txt")); err == nil {
			t.Error("the step ran after Ctrl-C")
		}
	})
}

// TestDockerOutputStaysInTheLog: what a Docker build prints goes to the
// step's log, never onto the terminal, and nothing is built before the
// answer.
func TestDockerOutputStaysInTheLog(t *testing.T) {
	if !haveDocker() {
		if testenv.Required("docker") {
			t.Fatal("no Docker engine answers, and BOTTLE_TEST_REQUIRE says it must")
		}
		t.Skip("no Docker engine")
	}
	ws, c := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte("FROM scratch\nCOPY hello.txt /hello.txt\n"), 0o644)
	os.WriteFile(filepath.Join(ws, "hello.txt"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(ws, "bottle.toml"), []byte("[steps.build]\nkind = \"image.build\"\ntags = [\"bottle-pty-test:dev\"]\n"), 0o644)
	code, screen := runOnTerminal(t, ws, c, "no\r")
	if code != 1 || strings.Contains(screen, "COPY hello.txt") {
		t.Fatalf("answered no: exit %d, and the build must not have started:\n%s", code, screen)
	}
	code, screen = runOnTerminal(t, ws, c, "y\r")
	if code != 0 || !strings.Contains(screen, "Apply complete") {
		t.Fatalf("exit %d:\n%s", code, screen)
	}
	checkOutputStaysInTheLog(t, screen, "load build definition")
	checkOutputStaysInTheLog(t, screen, "exporting to image")
	log, _ := os.ReadFile(filepath.Join(ws, ".bottle", "logs", "build.log"))
	if !strings.Contains(string(log), "[1/1] COPY hello.txt /hello.txt") {
		t.Errorf("the build's output is not in its log:\n%s", log)
	}
}

// checkOutputStaysInTheLog fails when what a step printed (text) reached
// the terminal other than on a running step's line of the live view, or is
// left on the screen at the end.
func checkOutputStaysInTheLog(t *testing.T, raw, text string) {
	t.Helper()
	for _, l := range strings.Split(raw, "\n") {
		if strings.Contains(l, text) && !strings.Contains(l, "▸") {
			t.Errorf("step output reached the terminal outside the live view: %q\n%s", l, raw)
		}
	}
	var s termscreen.Screen
	s.Write([]byte(raw))
	if strings.Contains(s.String(), text) {
		t.Errorf("step output is left on the terminal:\n%s", s.String())
	}
}
