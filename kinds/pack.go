package kinds

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/steps"
)

func init() { register(packKind{}) }

// PackSpec is the pack kind's own fields: `smolvm pack create`.
type PackSpec struct {
	Image      string   `toml:"image"`  // a registry reference, usually ${step.push.ref}
	Output     string   `toml:"output"` // workspace path of the stub; the sidecar is OUTPUT.smolmachine
	Cpus       int      `toml:"cpus"`
	Mem        int      `toml:"mem"` // MiB
	SingleFile bool     `toml:"single_file"`
	Args       []string `toml:"args"`   // extra arguments for smolvm pack create
	Smolvm     string   `toml:"smolvm"` // the smolvm binary; default "smolvm" on PATH
}

// Check validates the spec after decoding.
func (s *PackSpec) Check() error {
	var errs []error
	if s.Image == "" {
		errs = append(errs, &config.FieldError{Field: "image", Msg: `pack needs "image": a registry reference, e.g. "${step.push.ref}" (smolvm pulls it; a local tarball will not do)`})
	}
	switch {
	case s.Output == "":
		errs = append(errs, &config.FieldError{Field: "output", Msg: `pack needs "output": where to write the packed machine, e.g. "build/agent"`})
	case strings.HasSuffix(s.Output, ".smolmachine"):
		errs = append(errs, &config.FieldError{Field: "output", Msg: `"output" names the stub; smolvm adds the .smolmachine sidecar itself`})
	case !strings.Contains(s.Output, "${"):
		if err := config.CheckPath(s.Output); err != nil {
			errs = append(errs, &config.FieldError{Field: "output", Msg: err.Error()})
		}
	}
	if s.Cpus < 0 || s.Mem < 0 {
		errs = append(errs, &config.FieldError{Field: "cpus", Msg: "cpus and mem must be positive"})
	}
	return errors.Join(errs...)
}

type packKind struct{}

func (packKind) Name() string      { return "pack" }
func (packKind) Version() int      { return 1 }
func (packKind) Effect() string    { return "" }
func (packKind) NewSpec() any      { return new(PackSpec) }
func (packKind) Results() []string { return []string{"output", "sidecar"} }
func (packKind) Outputs(step string, spec any) []string {
	s := spec.(*PackSpec)
	out := path.Clean(s.Output)
	if s.SingleFile {
		return []string{out}
	}
	return []string{out, out + ".smolmachine"}
}

// Programs: what smolvm packs depends on its version, so its binary
// enters the key.
func (packKind) Programs(spec any) []steps.Program {
	return smolvmProgram(spec.(*PackSpec).Smolvm)
}

var _ steps.ProgramRunner = packKind{}

// Run packs the image into a stub and its sidecar with smolvm.
func (packKind) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*PackSpec)
	out := path.Clean(s.Output)
	if err := os.MkdirAll(filepath.Join(job.Workspace, filepath.Dir(filepath.FromSlash(out))), 0o755); err != nil {
		return nil, err
	}
	args := []string{"pack", "create", "--image", s.Image, "--output", out}
	if s.Cpus > 0 {
		args = append(args, "--cpus", strconv.Itoa(s.Cpus))
	}
	if s.Mem > 0 {
		args = append(args, "--mem", strconv.Itoa(s.Mem))
	}
	if s.SingleFile {
		args = append(args, "--single-file")
	}
	args = append(args, s.Args...)
	sv := &smolvm{bin: s.Smolvm, dir: job.Workspace, env: job.Env, log: job.Log, rt: job.Runtime}
	if _, err := sv.run(ctx, args...); err != nil {
		return nil, err
	}
	vals := map[string]string{"output": out}
	if !s.SingleFile {
		vals["sidecar"] = out + ".smolmachine"
	}
	return &Outcome{Values: vals}, nil
}
