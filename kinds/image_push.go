package kinds

// The image.push kind: its describing face (imagePushKind) plans without
// touching the network; its runner (imagePushRunner) is the one place that
// talks to a registry or writes an OCI layout.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/internal/netcause"
	"github.com/bottle-build/bottle/steps"
)

func init() { register(imagePushKind{}) }

// OCIPrefix marks an image.push target that is a local OCI layout folder
// ("oci:out/layout") rather than a registry reference.
const OCIPrefix = "oci:"

// OCIRefName is the org.opencontainers.image.ref.name annotation that
// image.push gives the image it writes into an OCI layout; a second push to
// the same layout replaces the image carrying it.
const OCIRefName = "latest"

// pushJobs is how many blobs a push uploads at once (ggcr's own default).
const pushJobs = 4

// ImagePushSpec is the image.push kind's own fields.
type ImagePushSpec struct {
	// From is a workspace path to a docker-save tarball or an OCI layout folder.
	From string `toml:"from"`
	// To is host[:port]/repo:tag, or oci:PATH for an OCI layout in the workspace.
	To string `toml:"to"`
	// Insecure allows plain HTTP to a registry that is not on loopback.
	Insecure bool `toml:"insecure"`
}

// Check validates the spec after decoding. References are allowed; a `to`
// holding one is parsed only after expansion, when the runner checks again.
func (s *ImagePushSpec) Check() error {
	var errs []error
	if s.From == "" {
		errs = append(errs, &config.FieldError{Field: "from", Msg: `an image.push step needs "from" (a docker-save tarball or an OCI layout folder)`})
	} else if err := config.CheckPath(s.From); err != nil {
		errs = append(errs, &config.FieldError{Field: "from", Msg: err.Error()})
	}
	switch {
	case s.To == "":
		errs = append(errs, &config.FieldError{Field: "to", Msg: `an image.push step needs "to" (host[:port]/repo:tag, or oci:PATH)`})
	case strings.HasPrefix(s.To, OCIPrefix):
		if err := config.CheckPath(strings.TrimPrefix(s.To, OCIPrefix)); err != nil {
			errs = append(errs, &config.FieldError{Field: "to", Msg: "oci layout: " + err.Error()})
		}
	case !strings.Contains(s.To, "${"):
		if _, err := name.ParseReference(s.To); err != nil {
			errs = append(errs, &config.FieldError{Field: "to", Msg: err.Error()})
		}
	}
	return errors.Join(errs...)
}

// ociPath returns the workspace path of an oci: target, or "" for a
// registry target.
func (s *ImagePushSpec) ociPath() string {
	if p, ok := strings.CutPrefix(s.To, OCIPrefix); ok {
		return path.Clean(p)
	}
	return ""
}

type imagePushKind struct{}

func (imagePushKind) Name() string      { return "image.push" }
func (imagePushKind) Version() int      { return 1 }
func (imagePushKind) NewSpec() any      { return new(ImagePushSpec) }
func (imagePushKind) Results() []string { return []string{"digest", "ref"} }

// LocationValues: "ref" names the registry the image went to, which differs
// between machines pushing one image (a laptop's own registry, CI's);
// "digest" is the image itself. A step that consumes the push (pack, with
// "${step.push.ref}") is keyed on the digest, and still pulls from the ref.
func (imagePushKind) LocationValues() []string { return []string{"ref"} }

// Effect is the manifest left in the registry. An oci: target leaves no
// effect beyond its layout folder, which is a declared output and so lives in
// the cache; Effect cannot see the spec, so it names the registry case.
func (imagePushKind) Effect() string { return "registry manifest" }

// Outputs is the layout folder for an oci: target, nothing for a registry.
func (imagePushKind) Outputs(step string, spec any) []string {
	if p := spec.(*ImagePushSpec).ociPath(); p != "" {
		return []string{p}
	}
	return nil
}

// Run loads the image named by from and pushes it to the registry, or writes
// it into the OCI layout, named by to.
func (imagePushKind) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*ImagePushSpec)
	if err := s.Check(); err != nil {
		return nil, err
	}
	img, err := loadImage(filepath.Join(job.Workspace, filepath.FromSlash(s.From)))
	if err != nil {
		return nil, err
	}
	var out *Outcome
	if p := s.ociPath(); p != "" {
		out, err = pushLayout(job, p, img)
	} else {
		out, err = pushRegistry(ctx, job, s, img)
	}
	return out, err
}

// loadImage reads a docker-save tarball, or the single image of an OCI
// layout folder. Both are lazy: blobs are read when pushed.
func loadImage(p string) (v1.Image, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("reading image: %w", err)
	}
	if !fi.IsDir() {
		img, err := tarball.ImageFromPath(p, nil)
		if err != nil {
			return nil, fmt.Errorf("reading image tarball %s: %w", p, err)
		}
		return img, nil
	}
	lp, err := layout.FromPath(p)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", p, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", p, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", p, err)
	}
	if n := len(im.Manifests); n != 1 {
		return nil, fmt.Errorf("reading OCI layout %s: it holds %d manifests, want exactly one image", p, n)
	}
	desc := im.Manifests[0]
	if !desc.MediaType.IsImage() {
		return nil, fmt.Errorf("reading OCI layout %s: its manifest is a %s, not an image", p, desc.MediaType)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading OCI layout %s: %w", p, err)
	}
	return img, nil
}

func pushRegistry(ctx context.Context, job *Job, s *ImagePushSpec, img v1.Image) (*Outcome, error) {
	var opts []name.Option
	if s.Insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(s.To, opts...)
	if err != nil {
		return nil, fmt.Errorf("pushing to %s: %w", s.To, err)
	}
	ct := &countingTransport{base: remote.DefaultTransport}
	fmt.Fprintf(job.Log, "pushing %s to %s\n", s.From, ref)
	err = remote.Write(ref, img,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithJobs(pushJobs),
		remote.WithTransport(ct))
	if err != nil {
		return nil, fmt.Errorf("pushing to %s: %w", ref, explainNetErr(ref.Context().RegistryStr(), err))
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("pushing to %s: %w", ref, err)
	}
	n := ct.bytes.Load()
	if n == 0 {
		fmt.Fprintf(job.Log, "uploaded 0 bytes: the registry had every blob and the manifest\n")
	} else {
		fmt.Fprintf(job.Log, "uploaded %d bytes\n", n)
	}
	fmt.Fprintf(job.Log, "digest %s\n", d)
	return &Outcome{Values: map[string]string{
		"digest": d.String(),
		"ref":    ref.Context().Name() + "@" + d.String(),
	}}, nil
}

// explainNetErr turns a failure to connect into "cannot reach registry
// HOST: CAUSE", keeping the cause for errors.Is. Other errors pass through.
func explainNetErr(host string, err error) error {
	if cause, ok := netcause.Unreachable(err); ok {
		return fmt.Errorf("cannot reach registry %s: %w", host, cause)
	}
	return err
}

func pushLayout(job *Job, rel string, img v1.Image) (*Outcome, error) {
	target := OCIPrefix + rel
	dir := filepath.Join(job.Workspace, filepath.FromSlash(rel))
	fmt.Fprintf(job.Log, "writing %s to OCI layout %s\n", job.Spec.(*ImagePushSpec).From, rel)
	lp, err := layout.FromPath(dir)
	if err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); !errors.Is(serr, os.ErrNotExist) {
			return nil, fmt.Errorf("pushing to %s: %w", target, err)
		}
		if lp, err = layout.Write(dir, empty.Index); err != nil {
			return nil, fmt.Errorf("pushing to %s: %w", target, err)
		}
	}
	const refAnn = "org.opencontainers.image.ref.name"
	err = lp.ReplaceImage(img, match.Annotation(refAnn, OCIRefName),
		layout.WithAnnotations(map[string]string{refAnn: OCIRefName}))
	if err != nil {
		return nil, fmt.Errorf("pushing to %s: %w", target, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("pushing to %s: %w", target, err)
	}
	fmt.Fprintf(job.Log, "digest %s\n", d)
	return &Outcome{Values: map[string]string{
		"digest": d.String(),
		"ref":    target + "@" + d.String(),
	}}, nil
}

// countingTransport counts the request body bytes of uploads (POST, PATCH,
// PUT) that reach the network; ggcr's progress updates also count blobs the
// registry already had.
type countingTransport struct {
	base  http.RoundTripper
	bytes atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch req.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		if req.Body != nil && req.Body != http.NoBody {
			req = req.Clone(req.Context())
			req.Body = &countingBody{ReadCloser: req.Body, n: &t.bytes}
		}
	}
	return t.base.RoundTrip(req)
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// Exists reports whether the registry still has the pushed manifest (a
// HEAD request). A push to an OCI layout is a folder bottle keeps in its
// cache: it exists as far as a refresh is concerned.
func (imagePushKind) Exists(ctx context.Context, rt *Runtime, key string, values map[string]string) (bool, error) {
	r := values["ref"]
	if r == "" || strings.HasPrefix(r, OCIPrefix) {
		return true, nil
	}
	ref, err := name.ParseReference(r)
	if err != nil {
		return false, fmt.Errorf("recorded reference %q: %w", r, err)
	}
	_, err = remote.Head(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking %s: %w", r, err)
	}
	return true, nil
}

var (
	_ Prober        = imagePushKind{} // --refresh looks for the pushed manifest
	_ steps.Locator = imagePushKind{}
)

// RefuseSecrets: a push authenticates with the Docker config of the user
// running bottle (DOCKER_CONFIG and its credential helpers), in process; no
// step variable feeds it.
func (imagePushKind) RefuseSecrets(any) string {
	return "image.push cannot take secrets: it authenticates with the Docker config of the user running bottle (DOCKER_CONFIG, credential helpers; e.g. docker login), not with step variables"
}

var _ config.SecretsRefuser = imagePushKind{}

// RefuseEnv: image.push runs no command of the step's; the push is done
// in process.
func (imagePushKind) RefuseEnv() string {
	return "image.push runs no command: bottle pushes the image itself (it reads DOCKER_CONFIG and proxies from its own environment)"
}

var _ config.EnvRefuser = imagePushKind{}
