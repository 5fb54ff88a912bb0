//go:build unix

package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildkitdRecipe is how a developer gets a buildkitd: the same script CI
// runs (a plain `go install …/cmd/buildkitd@version` fails: buildkit's go.mod
// has exclude directives).
const BuildkitdRecipe = "bash .ci/build-buildkitd DIR builds buildkitd and buildctl into DIR " +
	"(go install from the github.com/moby/buildkit module, a few minutes); put DIR on PATH or set BOTTLE_BUILDKITD=DIR/buildkitd"

// buildkitd is the one standalone builder this test process starts.
var buildkitd struct {
	reserve sync.Once // the folder and address
	addr    string
	err     error

	start    sync.Once
	startErr error

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	dir  string        // socket, log, config and root
}

// Buildkitd returns the address of a standalone BuildKit daemon for the test
// to build on ("unix:///…/buildkitd.sock", or whatever BOTTLE_TEST_BUILDKIT
// names). The first call in a test process starts one; StopBuildkitd, called
// from TestMain after m.Run, stops it. Where there is none it skips, saying
// what is missing and how to get it, unless BOTTLE_TEST_REQUIRE names
// buildkitd (CI does): then it fails. A builder that is there but does not
// answer within 30 s fails the test, with the tail of its log. A package
// whose tests call it needs a TestMain that calls StopBuildkitd (inside
// m.Run's wrapper where testscript's Main exits the process itself).
func Buildkitd(t testing.TB) string {
	t.Helper()
	if missing := BuildkitdMissing(); missing != "" {
		if Required("buildkitd") {
			t.Fatalf("%s, and BOTTLE_TEST_REQUIRE=%s says buildkitd must run", missing, os.Getenv("BOTTLE_TEST_REQUIRE"))
		}
		t.Skip(missing)
	}
	addr, err := StartBuildkitd()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// BuildkitdMissing says what this machine lacks to run a buildkitd, and how
// to get it; "" when nothing is missing (or BOTTLE_TEST_BUILDKIT names a
// builder that is already running). It starts nothing.
func BuildkitdMissing() string {
	if os.Getenv("BOTTLE_TEST_BUILDKIT") != "" {
		return ""
	}
	var missing []string
	if _, err := buildkitdPath(); err != nil {
		missing = append(missing, err.Error()+": "+BuildkitdRecipe)
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "not root: the test runs buildkitd rootful (or set BOTTLE_TEST_BUILDKIT to a running builder's address)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		missing = append(missing, "no runc on PATH (apt-get install runc; docker.io brings it)")
	}
	if len(missing) == 0 {
		return ""
	}
	return "no standalone buildkitd: " + strings.Join(missing, "; ")
}

// buildkitdPath is BOTTLE_BUILDKITD, or buildkitd on PATH.
func buildkitdPath() (string, error) {
	if p := os.Getenv("BOTTLE_BUILDKITD"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("BOTTLE_BUILDKITD=%s: %w", p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath("buildkitd")
	if err != nil {
		return "", errors.New("no buildkitd on PATH and no BOTTLE_BUILDKITD")
	}
	return p, nil
}

// Buildctl is the path of buildctl, BuildKit's own client (for looking at the
// builder from a test), beside the buildkitd that BuildkitdMissing finds or
// else on PATH; "" if there is none.
func Buildctl() string {
	if p, err := buildkitdPath(); err == nil {
		beside := filepath.Join(filepath.Dir(p), "buildctl")
		if _, err := os.Stat(beside); err == nil {
			return beside
		}
	}
	if p, err := exec.LookPath("buildctl"); err == nil {
		return p
	}
	return ""
}

// BuildkitdAddress is the address the builder has, or will have once
// StartBuildkitd starts it: BOTTLE_TEST_BUILDKIT, or a unix socket in a
// folder of this process's own. It starts nothing, so a test harness can hand
// the address to every script and start the builder only for those that use
// it.
func BuildkitdAddress() (string, error) {
	if addr := os.Getenv("BOTTLE_TEST_BUILDKIT"); addr != "" {
		return addr, nil
	}
	buildkitd.reserve.Do(func() {
		// A unix socket's path must stay under about 100 bytes: a short
		// folder in the temporary folder, or in /tmp where that one is long.
		dir, err := os.MkdirTemp("", "bk")
		if err == nil && len(dir) > 60 {
			os.Remove(dir)
			dir, err = os.MkdirTemp("/tmp", "bk")
		}
		if err != nil {
			buildkitd.err = fmt.Errorf("buildkitd: %w", err)
			return
		}
		buildkitd.mu.Lock()
		buildkitd.dir = dir
		buildkitd.mu.Unlock()
		buildkitd.addr = "unix://" + filepath.Join(dir, "buildkitd.sock")
	})
	return buildkitd.addr, buildkitd.err
}

// StartBuildkitd returns the address of the builder, starting one the first
// time it is called in this process (BuildkitdMissing must say nothing is
// missing). With BOTTLE_TEST_BUILDKIT set it starts nothing and only checks
// that the address answers.
func StartBuildkitd() (string, error) {
	buildkitd.start.Do(func() {
		if addr := os.Getenv("BOTTLE_TEST_BUILDKIT"); addr != "" {
			if err := dialBuildkit(addr, 5*time.Second); err != nil {
				buildkitd.startErr = fmt.Errorf("BOTTLE_TEST_BUILDKIT=%s does not answer: %w", addr, err)
			}
			return
		}
		if missing := BuildkitdMissing(); missing != "" {
			buildkitd.startErr = errors.New(missing)
			return
		}
		buildkitd.startErr = startBuildkitd()
	})
	addr, err := BuildkitdAddress()
	return addr, errors.Join(err, buildkitd.startErr)
}

// startBuildkitd starts buildkitd with a root, socket and log of its own and
// waits (up to 30 s) until its socket answers.
func startBuildkitd() error {
	bin, err := buildkitdPath()
	if err != nil {
		return err
	}
	addr, err := BuildkitdAddress()
	if err != nil {
		return err
	}
	dir := filepath.Dir(strings.TrimPrefix(addr, "unix://"))
	logPath := filepath.Join(dir, "buildkitd.log")
	conf := filepath.Join(dir, "buildkitd.toml")
	log, err := os.Create(logPath)
	if err == nil {
		// An empty configuration of its own: a /etc/buildkit/buildkitd.toml
		// on the machine does not change the test's builder.
		err = os.WriteFile(conf, nil, 0o644)
	}
	if err != nil {
		return fmt.Errorf("buildkitd: %w", err)
	}
	cmd := exec.Command(bin,
		"--config", conf,
		"--root", filepath.Join(dir, "root"),
		"--addr", addr,
		"--oci-worker=true", "--containerd-worker=false")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = buildkitdSysProcAttr()
	err = cmd.Start()
	log.Close()
	if err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	buildkitd.mu.Lock()
	buildkitd.cmd, buildkitd.done = cmd, done
	buildkitd.mu.Unlock()

	const patience = 30 * time.Second
	deadline := time.Now().Add(patience)
	for {
		select {
		case <-done:
			tail := logTail(logPath)
			StopBuildkitd()
			return fmt.Errorf("%s exited before its socket answered (%s); its log ends:\n%s", bin, cmd.ProcessState, tail)
		default:
		}
		err := dialBuildkit(addr, time.Second)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			tail := logTail(logPath)
			StopBuildkitd()
			return fmt.Errorf("%s did not answer at %s within %s (%v); its log ends:\n%s", bin, addr, patience, err, tail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StopBuildkitd stops the buildkitd this process started, if it started
// one: SIGTERM to its PID, up to 20 s for it to exit (then SIGKILL); and it
// removes the builder's folder. TestMain calls it after m.Run; on Linux the
// builder also gets SIGTERM if the test process dies without calling it.
func StopBuildkitd() {
	buildkitd.mu.Lock()
	defer buildkitd.mu.Unlock()
	if buildkitd.cmd != nil {
		buildkitd.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-buildkitd.done:
		case <-time.After(20 * time.Second):
			buildkitd.cmd.Process.Kill()
			<-buildkitd.done
		}
		buildkitd.cmd = nil
	}
	if buildkitd.dir != "" {
		os.RemoveAll(buildkitd.dir)
		buildkitd.dir = ""
	}
}

// dialBuildkit checks that a BuildKit API answers at addr: for unix://
// addresses it speaks the first bytes of HTTP/2 (what gRPC runs on) and
// waits for the server's SETTINGS frame, so a socket file that is there
// but not yet served does not count; for tcp:// it connects.
func dialBuildkit(addr string, timeout time.Duration) error {
	network, address, ok := strings.Cut(addr, "://")
	if !ok || (network != "unix" && network != "tcp") {
		return fmt.Errorf("%q is not a unix:// or tcp:// address", addr)
	}
	c, err := net.DialTimeout(network, address, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if network != "unix" {
		return nil // a remote builder may speak TLS first
	}
	c.SetDeadline(time.Now().Add(timeout))
	// The client preface, then an empty SETTINGS frame.
	preface := append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 0x4, 0, 0, 0, 0, 0)
	if _, err := c.Write(preface); err != nil {
		return err
	}
	var frame [9]byte
	if _, err := io.ReadFull(c, frame[:]); err != nil {
		return fmt.Errorf("no HTTP/2 answer: %w", err)
	}
	if frame[3] != 0x4 {
		return fmt.Errorf("answered with HTTP/2 frame type %d, not SETTINGS", frame[3])
	}
	return nil
}

// logTail is the last lines of the log at path.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
