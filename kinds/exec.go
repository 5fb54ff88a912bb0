package kinds

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/bottle-build/bottle/config"
)

func init() { register(execKind{}) }

// ExecSpec is the exec kind's own fields.
type ExecSpec struct {
	Run     string   `toml:"run" expand:"shell"` // values from outside the config are quoted (config.ExpandShell)
	Argv    []string `toml:"argv" expand:"argv"` // each value is one argument
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
		if err := config.CheckPath(o); err != nil {
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

// Run runs the command in the workspace with the step's environment and
// nothing on standard input.
func (execKind) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*ExecSpec)
	argv := s.Argv
	if s.Run != "" {
		argv = []string{"/bin/sh", "-c", s.Run}
	}
	cmd, err := command(argv[0], argv[1:], job.Workspace, job.Env)
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	cmd.Stdout = job.Log
	cmd.Stderr = job.Log
	if err := runProcess(ctx, job.Runtime, cmd); err != nil {
		return nil, err
	}
	// ${step.X.outputs}: the declared outputs, space-separated.
	return &Outcome{Values: map[string]string{"outputs": strings.Join(execKind{}.Outputs(job.Step, s), " ")}}, nil
}
