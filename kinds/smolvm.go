package kinds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bottle-build/bottle/steps"
)

// smolvm runs the smolvm CLI for the pack and machine kinds. smolvm cannot
// run everywhere: a missing binary is an error that says where it comes from.
type smolvm struct {
	bin string   // "smolvm" unless the step's smolvm field says otherwise
	dir string   // the workspace
	env []string // the step's environment, looked in for PATH
	log io.Writer
	rt  *Runtime
}

// environ is what smolvm runs with: the host's environment (its state lives
// where SMOLVM_DATA_DIR and HOME say; its registry credentials where
// DOCKER_CONFIG says), then the step's own variables.
func (s *smolvm) environ() []string {
	return append(os.Environ(), s.env...)
}

const smolvmHelp = "install smolvm (https://github.com/smol-machines/smolvm/releases) or name its binary in the step's smolvm field"

// smolvmProgram is the smolvm binary a step runs (bin, from its smolvm
// field, or smolvm on PATH), for planning: the binary enters the step's key,
// and a missing one is a plan error.
func smolvmProgram(bin string) []steps.Program {
	if bin == "" {
		bin = "smolvm"
	}
	return []steps.Program{{Name: bin, Field: "smolvm", Help: smolvmHelp}}
}

// run runs smolvm with args, its output going to the log; stdout is also
// returned. stdin is empty (smolvm asks questions on it; an empty answer
// cancels, which is why every delete passes -f). It is stopped like any
// command bottle runs when ctx ends.
func (s *smolvm) run(ctx context.Context, args ...string) ([]byte, error) {
	bin := s.bin
	if bin == "" {
		bin = "smolvm"
	}
	cmd, err := command(bin, args, s.dir, s.environ())
	if errors.Is(err, steps.ErrNotFound) {
		return nil, fmt.Errorf("%s not found on PATH: %s", bin, smolvmHelp)
	}
	if err != nil {
		return nil, err
	}
	var stdout bytes.Buffer
	cmd.Stdout = io.MultiWriter(&stdout, s.log)
	cmd.Stderr = s.log
	fmt.Fprintf(s.log, "$ smolvm %s\n", strings.Join(args, " "))
	err = runProcess(ctx, s.rt, cmd)
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		return stdout.Bytes(), fmt.Errorf("smolvm %s %s: %v (its output is in the step log)", args[0], args[1], ee)
	case err != nil && ctx.Err() == nil:
		return nil, fmt.Errorf("running smolvm: %w", err)
	case err != nil:
		return nil, err
	}
	return stdout.Bytes(), nil
}

// machine is one entry of `smolvm machine ls --json`.
type machine struct {
	Name   string            `json:"name"`
	State  string            `json:"state"`
	Labels map[string]string `json:"labels"`
}

func (s *smolvm) machines(ctx context.Context) ([]machine, error) {
	out, err := s.run(ctx, "machine", "ls", "--json")
	if err != nil {
		return nil, err
	}
	var ms []machine
	if err := json.Unmarshal(bytes.TrimSpace(out), &ms); err != nil {
		return nil, fmt.Errorf("reading smolvm machine ls --json: %w", err)
	}
	return ms, nil
}
