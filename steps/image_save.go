package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/workspace"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func init() { register(imageSaveKind{}) }

// ImageSaveSpec is the image.save kind's own fields.
type ImageSaveSpec struct {
	Image  string `toml:"image"`  // an image ID or tag, usually ${step.build.image_id}
	Output string `toml:"output"` // workspace path; default .bottle/out/<step>.tar
}

// Check validates the spec after decoding.
func (s *ImageSaveSpec) Check() error {
	var errs []error
	if s.Image == "" {
		errs = append(errs, &config.FieldError{Field: "image", Msg: `image.save needs "image": an image ID or tag, e.g. "${step.build.image_id}"`})
	}
	if s.Output != "" && !strings.Contains(s.Output, "${") {
		if err := CheckPath(s.Output); err != nil {
			errs = append(errs, &config.FieldError{Field: "output", Msg: err.Error()})
		}
	}
	return errors.Join(errs...)
}

func saveOutput(step string, s *ImageSaveSpec) string {
	if s.Output == "" {
		return workspace.OutDir + "/" + step + ".tar"
	}
	return path.Clean(s.Output)
}

type imageSaveKind struct{}

func (imageSaveKind) Name() string      { return "image.save" }
func (imageSaveKind) Version() int      { return 1 }
func (imageSaveKind) Effect() string    { return "" }
func (imageSaveKind) NewSpec() any      { return new(ImageSaveSpec) }
func (imageSaveKind) Results() []string { return []string{"output", "digest"} }
func (imageSaveKind) Outputs(step string, spec any) []string {
	return []string{saveOutput(step, spec.(*ImageSaveSpec))}
}

type imageSaveRunner struct{ rt *Runtime }

// Run writes the image as a docker-save tarball and reports its manifest
// digest as go-containerregistry computes it (what a push of the tarball
// makes).
func (r *imageSaveRunner) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*ImageSaveSpec)
	cli, err := r.rt.Docker(ctx)
	if err != nil {
		return nil, err
	}
	out := saveOutput(job.Step, s)
	abs := filepath.Join(job.Workspace, filepath.FromSlash(out))
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, err
	}
	rc, err := cli.ImageSave(ctx, []string{s.Image})
	if err != nil {
		return nil, fmt.Errorf("saving image %s: %w", s.Image, err)
	}
	defer rc.Close()
	f, err := os.Create(abs)
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("saving image %s: %w", s.Image, err)
	}
	img, err := tarball.ImageFromPath(abs, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the saved image: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("reading the saved image: %w", err)
	}
	fmt.Fprintf(job.Log, "saved %s to %s (%d bytes), manifest %s\n", s.Image, out, n, d)
	return &Outcome{Values: map[string]string{"output": out, "digest": d.String()}}, nil
}
