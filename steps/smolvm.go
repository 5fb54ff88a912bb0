package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// smolvm runs the smolvm CLI for the pack and machine kinds. smolvm cannot
// run everywhere: a missing binary is an error that says where it comes from.
type smolvm struct {
	bin string   // "smolvm" unless the step's smolvm field says otherwise
	dir string   // the workspace
	env []string // the step's environment, looked in for PATH
	log io.Writer
}

// environ is what smolvm runs with: the host's environment (its state lives
// where SMOLVM_DATA_DIR and HOME say; its registry credentials where
// DOCKER_CONFIG says), then the step's own variables.
func (s *smolvm) environ() []string {
	return append(os.Environ(), s.env...)
}

const smolvmHelp = "install smolvm (https://github.com/smol-machines/smolvm/releases) or name its binary in the step's smolvm field"

func (s *smolvm) path() (string, error) {
	bin := s.bin
	if bin == "" {
		bin = "smolvm"
	}
	if strings.Contains(bin, "/") {
		return bin, nil
	}
	p, err := lookPath(bin, s.env)
	if err != nil {
		return "", fmt.Errorf("%s not found on PATH: %s", bin, smolvmHelp)
	}
	return p, nil
}

// run runs smolvm with args, its output going to the log; stdout is also
// returned. stdin is empty (smolvm asks questions on it; an empty answer
// cancels, which is why every delete passes -f).
func (s *smolvm) run(ctx context.Context, args ...string) ([]byte, error) {
	p, err := s.path()
	if err != nil {
		return nil, err
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Env = s.environ()
	cmd.Dir = s.dir
	cmd.Stdout = io.MultiWriter(&stdout, s.log)
	cmd.Stderr = s.log
	fmt.Fprintf(s.log, "$ smolvm %s\n", strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stdout.Bytes(), fmt.Errorf("smolvm %s: exit status %d (its output is in the step log)", args[0]+" "+args[1], ee.ExitCode())
		}
		return nil, fmt.Errorf("running smolvm: %w", err)
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
