package kinds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/steps"
)

func init() { register(machineCreateKind{}) }

// MachineCreateSpec is the machine.create kind's own fields.
type MachineCreateSpec struct {
	Name   string `toml:"name"`
	From   string `toml:"from"` // the .smolmachine sidecar, usually ${step.pack.sidecar}
	Net    bool   `toml:"net"`
	Cpus   int    `toml:"cpus"`
	Mem    int    `toml:"mem"`    // MiB
	Smolvm string `toml:"smolvm"` // the smolvm binary; default "smolvm" on PATH
}

var machineNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// Check validates the spec after decoding.
func (s *MachineCreateSpec) Check() error {
	var errs []error
	switch {
	case s.Name == "":
		errs = append(errs, &config.FieldError{Field: "name", Msg: `machine.create needs "name"`})
	case !strings.Contains(s.Name, "${") && (!machineNameRE.MatchString(s.Name) || strings.HasSuffix(s.Name, "-") || strings.Contains(s.Name, "--")):
		errs = append(errs, &config.FieldError{Field: "name", Msg: fmt.Sprintf("%q is not a smolvm machine name: 1 to 128 letters, digits, _ and -, starting with a letter or digit, no trailing - and no --", s.Name)})
	}
	if s.From == "" {
		errs = append(errs, &config.FieldError{Field: "from", Msg: `machine.create needs "from": a .smolmachine file, e.g. "${step.pack.sidecar}"`})
	}
	return errors.Join(errs...)
}

type machineCreateKind struct{}

func (machineCreateKind) Name() string                           { return "machine.create" }
func (machineCreateKind) Version() int                           { return 1 }
func (machineCreateKind) Effect() string                         { return "smolvm machine" }
func (machineCreateKind) NewSpec() any                           { return new(MachineCreateSpec) }
func (machineCreateKind) Results() []string                      { return []string{"name"} }
func (machineCreateKind) Outputs(step string, spec any) []string { return nil }

// Replaces tells the planner that a new key replaces the existing machine.
func (machineCreateKind) Replaces() bool { return true }

// HostOnly: the machine runs here; a CI job warming the cache skips it.
func (machineCreateKind) HostOnly() bool { return true }

// Programs: the machine runs on the smolvm that made it, so its binary
// enters the key (and a new smolvm replaces the machine).
func (machineCreateKind) Programs(spec any) []steps.Program {
	return smolvmProgram(spec.(*MachineCreateSpec).Smolvm)
}

// KeyLabel is the label that records, on the machine, the key that made it.
const KeyLabel = "bottle.key"

// Run creates the machine, deleting first a machine of that name that
// carries another key (always with -f: without it smolvm asks, and an
// empty answer cancels).
func (machineCreateKind) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*MachineCreateSpec)
	sv := &smolvm{bin: s.Smolvm, dir: job.Workspace, env: job.Env, log: job.Log, rt: job.Runtime}
	ms, err := sv.machines(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Name == s.Name {
			fmt.Fprintf(job.Log, "machine %s exists with key %q: replacing it\n", m.Name, m.Labels[KeyLabel])
			if _, err := sv.run(ctx, "machine", "delete", "--name", s.Name, "-f"); err != nil {
				return nil, err
			}
		}
	}
	args := []string{"machine", "create", "--name", s.Name, "--from", s.From, "--label", KeyLabel + "=" + job.Key}
	if s.Net {
		args = append(args, "--net")
	}
	if s.Cpus > 0 {
		args = append(args, "--cpus", strconv.Itoa(s.Cpus))
	}
	if s.Mem > 0 {
		args = append(args, "--mem", strconv.Itoa(s.Mem))
	}
	if _, err := sv.run(ctx, args...); err != nil {
		return nil, err
	}
	return &Outcome{Values: map[string]string{"name": s.Name}}, nil
}

// Exists reports whether smolvm still has the machine, carrying the key
// that made it.
func (machineCreateKind) Exists(ctx context.Context, rt *Runtime, key string, values map[string]string) (bool, error) {
	sv := &smolvm{log: io.Discard, rt: rt}
	ms, err := sv.machines(ctx)
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Name == values["name"] && m.Labels[KeyLabel] == key {
			return true, nil
		}
	}
	return false, nil
}

// A machine is looked for by --refresh, and replaced when its key changes;
// the smolvm it runs enters its key.
var (
	_ Prober              = machineCreateKind{}
	_ steps.Replacer      = machineCreateKind{}
	_ steps.ProgramRunner = machineCreateKind{}
)
