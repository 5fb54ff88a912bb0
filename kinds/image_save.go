package kinds

import (
	"context"
	"errors"
	"fmt"
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
		if err := config.CheckPath(s.Output); err != nil {
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

// Run writes the image as a docker-save tarball and reports its manifest
// digest as go-containerregistry computes it (what a push of the tarball
// makes).
func (imageSaveKind) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*ImageSaveSpec)
	cli, err := job.Runtime.Docker(ctx)
	if err != nil {
		return nil, err
	}
	out := saveOutput(job.Step, s)
	abs := filepath.Join(job.Workspace, filepath.FromSlash(out))
	n, err := saveImage(ctx, cli, []string{s.Image}, abs)
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

// RefuseSecrets: image.save runs no command of the step's, so a secret has
// nowhere to go.
func (imageSaveKind) RefuseSecrets() string {
	return "image.save cannot take secrets: it runs no command, it only asks the engine for the image (give secrets to the image.build step that builds it)"
}

var _ config.SecretsRefuser = imageSaveKind{}

// RefuseEnv: image.save runs no command of the step's.
func (imageSaveKind) RefuseEnv() string {
	return "image.save runs no command: it only asks the engine for the image (bottle itself reads DOCKER_HOST)"
}

var _ config.EnvRefuser = imageSaveKind{}
