package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/bottle-build/bottle/config"
)

func init() { register(execKind{}) }

// ExecSpec is the exec kind's own fields.
type ExecSpec struct {
	Run     string   `toml:"run"`
	Argv    []string `toml:"argv"`
	Outputs []string `toml:"outputs"`
}

// Check validates the spec after decoding.
func (s *ExecSpec) Check() error {
	var errs []error
	switch {
	case s.Run == "" && len(s.Argv) == 0:
		errs = append(errs, &config.FieldError{Field: "run", Msg: `an exec step needs "run" (a shell command) or "argv"`})
	case s.Run != "" && len(s.Argv) > 0:
		errs = append(errs, &config.FieldError{Field: "argv", Msg: `give "run" or "argv", not both`})
	}
	seen := map[string]bool{}
	for _, o := range s.Outputs {
		if err := CheckPath(o); err != nil {
			errs = append(errs, &config.FieldError{Field: "outputs", Msg: err.Error()})
			continue
		}
		if seen[o] {
			errs = append(errs, &config.FieldError{Field: "outputs", Msg: fmt.Sprintf("%q is listed twice", o)})
		}
		seen[o] = true
	}
	return errors.Join(errs...)
}

// CheckPath reports whether p is a clean workspace-relative path that stays
// inside the workspace. References are allowed; they are checked again after
// expansion.
func CheckPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is absolute: paths are relative to the workspace", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("%q leaves the workspace", p)
		}
	}
	if c := path.Clean(p); c == "." {
		return fmt.Errorf("%q names the workspace itself", p)
	}
	return nil
}

type execKind struct{}

func (execKind) Name() string      { return "exec" }
func (execKind) Version() int      { return 1 }
func (execKind) Effect() string    { return "" }
func (execKind) NewSpec() any      { return new(ExecSpec) }
func (execKind) Results() []string { return []string{"outputs"} }

func (execKind) Outputs(step string, spec any) []string {
	s := spec.(*ExecSpec)
	out := make([]string, len(s.Outputs))
	for i, o := range s.Outputs {
		out[i] = path.Clean(o)
	}
	return out
}

type execRunner struct{ rt *Runtime }

// ExitError is a command that ran and exited non-zero.
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

// Run runs the command in its own process group, so that stopping it stops
// everything it started: SIGTERM to the group when ctx ends, SIGKILL after
// the runtime's grace period.
func (r *execRunner) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*ExecSpec)
	var argv []string
	if s.Run != "" {
		argv = []string{"/bin/sh", "-c", s.Run}
	} else {
		argv = s.Argv
	}
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, job.Timeout)
		defer cancel()
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if !strings.Contains(argv[0], "/") {
		// Look the program up in the step's PATH, not bottle's.
		if p, err := lookPath(argv[0], job.Env); err == nil {
			cmd.Path = p
			cmd.Err = nil
		}
	}
	cmd.Dir = job.Workspace
	cmd.Env = job.Env
	cmd.Stdin = nil // empty
	cmd.Stdout = job.Log
	cmd.Stderr = job.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		grace := r.rt.KillGrace
		if grace <= 0 {
			grace = 5 * time.Second
		}
		t := time.NewTimer(grace)
		select {
		case err = <-done:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-done
		case <-r.rt.hurry():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			err = <-done
		}
		// Whatever is left of the group goes too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("timed out after %s", job.Timeout)
		}
		return nil, ctx.Err()
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return nil, &ExitError{Code: -1, Signal: ws.Signal().String()}
			}
			return nil, &ExitError{Code: ee.ExitCode()}
		}
		return nil, err
	}
	return &Outcome{}, nil
}

func lookPath(file string, env []string) (string, error) {
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + file
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}
