//go:build unix

package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// WatchmanMissing says why this machine cannot run a watchman for a test
// ("" when it can).
func WatchmanMissing() string {
	if _, err := exec.LookPath("watchman"); err != nil {
		return "no watchman on PATH (Debian: apt-get install watchman)"
	}
	return ""
}

// A Watchman is a watchman daemon of a test's own: its socket, state and
// log live in a folder of its own, so it shares nothing with the user's.
type Watchman struct {
	Sock string
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartWatchman starts a private watchman daemon with its files in dir and
// waits (up to 20 s) until its socket answers. Stop it with Stop.
func StartWatchman(dir string) (*Watchman, error) {
	if missing := WatchmanMissing(); missing != "" {
		return nil, fmt.Errorf("%s", missing)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	w := &Watchman{Sock: filepath.Join(dir, "sock"), Dir: dir, done: make(chan struct{})}
	logf, err := os.Create(filepath.Join(dir, "log.out"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	w.cmd = exec.Command("watchman", "--foreground",
		"--sockname="+w.Sock,
		"--statefile="+filepath.Join(dir, "state"),
		"--logfile="+filepath.Join(dir, "log"),
		"--pidfile="+filepath.Join(dir, "pid"))
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	// A group of its own: a Ctrl-C for the tests does not reach it first.
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting watchman: %w", err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("unix", w.Sock)
		if err == nil {
			c.Close()
			return w, nil
		}
		select {
		case <-w.done:
			return nil, fmt.Errorf("watchman exited at start: %s", w.logTail())
		default:
		}
		if time.Now().After(deadline) {
			w.Stop()
			return nil, fmt.Errorf("watchman did not answer within 20 s: %s", w.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *Watchman) logTail() string {
	b, _ := os.ReadFile(filepath.Join(w.Dir, "log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stop kills the daemon (by the PID this process started) and waits for it.
func (w *Watchman) Stop() {
	if w.cmd.Process == nil {
		return
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		w.cmd.Process.Kill()
		<-w.done
	}
}
