package kinds

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
	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/workspace"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func init() { register(imageSaveKind{}) }

// ImageSaveSpec is the image.save kind's own fields.
type ImageSaveSpec struct {
	Image string `toml:"image"` // an image ID or tag, usually ${step.build.image_id}
	// From is instead an image archive in the workspace, usually
	// ${step.build.archive}: copied without asking an engine.
	From   string `toml:"from"`
	Output string `toml:"output"` // workspace path; default .bottle/out/<step>.tar
}

// Check validates the spec after decoding.
func (s *ImageSaveSpec) Check() error {
	var errs []error
	switch {
	case s.Image == "" && s.From == "":
		errs = append(errs, &config.FieldError{Field: "image", Msg: `image.save needs "image": an image ID or tag, e.g. "${step.build.image_id}" (or "from": the image's archive, e.g. "${step.build.archive}")`})
	case s.Image != "" && s.From != "":
		errs = append(errs, &config.FieldError{Field: "from", Msg: `give "image" (asks the Docker engine) or "from" (an archive in the workspace), not both`})
	case s.From != "" && !strings.Contains(s.From, "${"):
		if err := config.CheckPath(s.From); err != nil {
			errs = append(errs, &config.FieldError{Field: "from", Msg: err.Error()})
		}
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
	out := saveOutput(job.Step, s)
	abs := filepath.Join(job.Workspace, filepath.FromSlash(out))
	what := s.Image
	var n int64
	if s.From != "" {
		what = s.From
		var err error
		if n, err = copyArchive(filepath.Join(job.Workspace, filepath.FromSlash(s.From)), abs); err != nil {
			return nil, fmt.Errorf("saving %s: %w", s.From, err)
		}
	} else {
		cli, err := job.Runtime.Docker(ctx)
		if err != nil {
			return nil, err
		}
		if n, err = saveImage(ctx, cli, []string{s.Image}, abs); err != nil {
			return nil, fmt.Errorf("saving image %s: %w", s.Image, err)
		}
	}
	img, err := tarball.ImageFromPath(abs, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the saved image: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("reading the saved image: %w", err)
	}
	fmt.Fprintf(job.Log, "saved %s to %s (%d bytes), manifest %s\n", what, out, n, d)
	return &Outcome{Values: map[string]string{"output": out, "digest": d.String()}}, nil
}

// copyArchive copies the image archive src to dst, whole or not at all.
func copyArchive(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	f, err := atomicfile.Create(dst, "", 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Abort()
	n, err := io.Copy(f, in)
	if err != nil {
		return 0, err
	}
	return n, f.Commit()
}

// RefuseSecrets: image.save runs no command of the step's, so a secret has
// nowhere to go.
func (imageSaveKind) RefuseSecrets(any) string {
	return "image.save cannot take secrets: it runs no command, it only asks the engine for the image (give secrets to the image.build step that builds it)"
}

var _ config.SecretsRefuser = imageSaveKind{}

// RefuseEnv: image.save runs no command of the step's.
func (imageSaveKind) RefuseEnv() string {
	return "image.save runs no command: it only asks the engine for the image (bottle itself reads DOCKER_HOST)"
}

var _ config.EnvRefuser = imageSaveKind{}
