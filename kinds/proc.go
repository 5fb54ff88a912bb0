package kinds

// The one way bottle runs a program: in a process group of its own, so that
// stopping it stops everything it started. exec steps and smolvm use it.

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/bottle-build/bottle/steps"
)

// ExitError is a command that ran and exited non-zero, or was killed.
type ExitError struct {
	Code   int
	Signal string
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// command makes a command for program, found on the PATH of env when it is
// a bare name (bottle's own PATH does not count), else taken as it is,
// relative to dir.
func command(program string, args []string, dir string, env []string) (*exec.Cmd, error) {
	p := program
	if !strings.Contains(program, "/") {
		var err error
		if p, err = steps.LookPath(program, getenv(env, "PATH")); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(p, args...)
	cmd.Args[0] = program
	cmd.Dir = dir
	cmd.Env = env
	return cmd, nil
}

// runProcess starts cmd in its own process group and waits for it. When
// ctx ends, the group gets SIGTERM, then SIGKILL after the runtime's grace
// period (at once if the runtime is told to hurry), and runProcess returns
// ctx.Err(). A non-zero exit is an *ExitError.
func runProcess(ctx context.Context, rt *Runtime, cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Args[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(rt.killGrace())
		select {
		case <-done:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		case <-rt.hurry():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		// Whatever is left of the group goes too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ExitError{Code: -1, Signal: ws.Signal().String()}
		}
		return &ExitError{Code: ee.ExitCode()}
	}
	return err
}

// getenv reads name from an environment list; the last entry wins.
func getenv(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}
