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
//
// The group is reported to this process's supervisor (supervisor.go), which
// stops it if bottle dies before runProcess returns; on Linux the program
// also gets SIGKILL when bottle dies (proc_linux.go).
func runProcess(ctx context.Context, rt *Runtime, cmd *exec.Cmd) error {
	sup, err := currentSupervisor()
	if err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Args[0], err)
	}
	return runGroup(ctx, rt, cmd, sup, startPinned)
}

// runGroup is runProcess with its supervisor (nil for none) and its way of
// starting a process given, for tests and benchmarks.
func runGroup(ctx context.Context, rt *Runtime, cmd *exec.Cmd, sup *supervisor, start func(*exec.Cmd, *supervisor) error) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := start(cmd, sup); err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Args[0], err)
	}
	if sup != nil {
		// Once runProcess is done with the group, bottle's death must not
		// stop it (its id may even belong to another group by then).
		defer sup.ended(cmd.Process.Pid)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitError(err)
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
}

// exitError turns what cmd.Wait returned into an *ExitError where the
// command ran.
func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ExitError{Code: -1, Signal: ws.Signal().String()}
		}
		return &ExitError{Code: ee.ExitCode()}
	}
	return err
}

// startPlain starts cmd on the calling goroutine's thread and then reports
// its group to sup: where there is no parent-death signal to pin (and, on
// Linux, in benchmarks, for comparison). If sup cannot be told, the group
// is stopped: a group bottle's death would not stop must not run.
func startPlain(cmd *exec.Cmd, sup *supervisor) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	return report(cmd, sup)
}

// report tells sup of cmd's new group; if it cannot, it kills the group
// and reaps cmd.
func report(cmd *exec.Cmd, sup *supervisor) error {
	if sup == nil {
		return nil
	}
	if err := sup.started(cmd.Process.Pid); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return err
	}
	return nil
}

// getenv reads name from an environment list; the last entry wins.
func getenv(env []string, name string) string {
	v, _ := lookupEnv(env, name)
	return v
}

// lookupEnv finds name in an environment list, and whether it is set; the
// last value wins, as for os/exec.
func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}
