package kinds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

func init() { register(imageBuildKind{}) }

// ImageBuildSpec is the image.build kind's own fields.
type ImageBuildSpec struct {
	Context    string            `toml:"context"`    // workspace folder; default "."
	Dockerfile string            `toml:"dockerfile"` // relative to the context; default "Dockerfile"
	Tags       []string          `toml:"tags"`
	BuildArgs  map[string]string `toml:"build_args"`
	Target     string            `toml:"target"`
	Platform   string            `toml:"platform"`
	Labels     map[string]string `toml:"labels"`
	// Builder is "legacy" for the engine's legacy builder; "" builds with
	// BuildKit wherever there is one.
	Builder string `toml:"builder"`
	// SSH names the SSH agents the build may use (RUN --mount=type=ssh):
	// "default" forwards $SSH_AUTH_SOCK.
	SSH []string `toml:"ssh"`
	// SourceDateEpoch is the build's SOURCE_DATE_EPOCH (seconds): a build
	// arg, and, where the builder can, the time every file and the image
	// carry. Unset, it is settings.source_date_epoch's (config/sourcedate.go).
	SourceDateEpoch string `toml:"source_date_epoch"`
}

var sshIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// BuilderLegacy is the builder field's value for the legacy builder.
const BuilderLegacy = "legacy"

func (s *ImageBuildSpec) contextDir() string {
	if s.Context == "" {
		return "."
	}
	return path.Clean(s.Context)
}

func (s *ImageBuildSpec) dockerfile() string {
	if s.Dockerfile == "" {
		return "Dockerfile"
	}
	return path.Clean(s.Dockerfile)
}

// Check validates the spec after decoding.
func (s *ImageBuildSpec) Check() error {
	var errs []error
	if s.Context != "" && s.Context != "." && !strings.Contains(s.Context, "${") {
		if err := config.CheckPath(s.Context); err != nil {
			errs = append(errs, &config.FieldError{Field: "context", Msg: err.Error()})
		}
	}
	if s.Dockerfile != "" && !strings.Contains(s.Dockerfile, "${") {
		if err := config.CheckPath(s.Dockerfile); err != nil {
			errs = append(errs, &config.FieldError{Field: "dockerfile", Msg: err.Error()})
		}
	}
	for _, t := range s.Tags {
		if t == "" {
			errs = append(errs, &config.FieldError{Field: "tags", Msg: "empty tag"})
		}
	}
	switch s.Builder {
	case "", "buildkit", BuilderLegacy:
	default:
		errs = append(errs, &config.FieldError{Field: "builder", Msg: fmt.Sprintf(`want "buildkit" or "legacy", got %q`, s.Builder)})
	}
	for _, id := range s.SSH {
		if !sshIDRE.MatchString(id) {
			errs = append(errs, &config.FieldError{Field: "ssh", Msg: fmt.Sprintf(`%q is not an SSH agent id: give ids as RUN --mount=type=ssh,id=ID names them, usually "default"`, id)})
		}
	}
	if s.Builder == BuilderLegacy && len(s.SSH) > 0 {
		errs = append(errs, &config.FieldError{Field: "ssh", Msg: `the legacy builder cannot forward an SSH agent: drop builder = "legacy"`})
	}
	if s.SourceDateEpoch != "" && !strings.Contains(s.SourceDateEpoch, "${") && !config.IsEpochSeconds(s.SourceDateEpoch) {
		errs = append(errs, &config.FieldError{Field: "source_date_epoch", Msg: fmt.Sprintf("want seconds since 1970, got %q (settings.source_date_epoch = \"git\" takes the last commit's time)", s.SourceDateEpoch)})
	}
	return errors.Join(errs...)
}

type imageBuildKind struct{}

func (imageBuildKind) Name() string      { return "image.build" }
func (imageBuildKind) Version() int      { return 2 }
func (imageBuildKind) Effect() string    { return "docker image" }
func (imageBuildKind) NewSpec() any      { return new(ImageBuildSpec) }
func (imageBuildKind) Results() []string { return []string{"image_id", "archive"} }
func (imageBuildKind) Outputs(step string, spec any) []string {
	return []string{archivePath(step)}
}

// Shareable: a cached build is recreated on any engine by loading its
// archive, so it need not be built again.
func (imageBuildKind) Shareable() bool { return true }

// EnginePlatform: without "platform", the engine builds for its own OS and
// architecture, so the same Dockerfile gives an arm64 image on a Mac's
// Docker Desktop and an amd64 one on a CI runner: the key must tell them
// apart. A named platform is in the key as a field already.
func (imageBuildKind) EnginePlatform(spec any) bool {
	return spec.(*ImageBuildSpec).Platform == ""
}

// Platform asks the builder (settings.buildkit's, else the Docker engine)
// its platform, for the key of a build that names none.
func (imageBuildKind) Platform(ctx context.Context, rt *Runtime, spec any) (string, error) {
	if s, ok := spec.(*ImageBuildSpec); ok && !standalone(rt, s) {
		return rt.EnginePlatform(ctx)
	}
	return rt.BuilderPlatform(ctx)
}

// Recreates is the plan's reason when --refresh finds the image gone:
// restoring the result loads it.
func (imageBuildKind) Recreates(values map[string]string) string {
	return "docker image " + values["image_id"] + " missing from the engine; load it from the cache"
}

// archivePath is where image.build keeps the image's archive: an output, so
// the cache holds it and a restore brings it back for a load.
func archivePath(step string) string { return workspace.OutDir + "/" + step + ".image.tar" }

// ImpliedInputs lists the files of the context that .dockerignore keeps,
// .dockerignore and the Dockerfile among them, and the outputs of other
// steps that would land in it. buildContext decides, the same way for the
// key as for the tar that Run sends, so the two never disagree.
//
// The context folder and the Dockerfile may be (or lie under) other steps'
// declared outputs, which need not exist yet: the paths listed then include
// them, so their steps become needs and their results enter the key in
// place of the files (as for an exec step's produced inputs).
func (imageBuildKind) ImpliedInputs(root string, spec any, produced []string) ([]string, error) {
	s := spec.(*ImageBuildSpec)
	ctxRel := s.contextDir()
	if strings.Contains(ctxRel, "\x00") || strings.Contains(s.dockerfile(), "\x00") {
		return nil, errors.New("context and dockerfile cannot use another step's results")
	}
	dfRel := path.Join(ctxRel, s.dockerfile())
	ctxMade := coveredBy(ctxRel, produced)
	ctxAbs := filepath.Join(root, filepath.FromSlash(ctxRel))
	fi, err := os.Stat(ctxAbs)
	switch {
	case err == nil && fi.IsDir():
	case err == nil:
		return nil, &config.FieldError{Field: "context", Msg: fmt.Sprintf("build context %q is a file, not a folder", ctxRel)}
	case ctxMade || holdsAny(ctxRel, produced):
		// Not there yet: the steps that declare it make it. What goes
		// into it is theirs, so their results stand for it in the key.
		out := producedUnder(ctxRel, produced)
		if ctxMade || coveredBy(dfRel, produced) {
			out = append(out, dfRel)
		} else {
			return nil, &config.FieldError{Field: "dockerfile", Msg: fmt.Sprintf("no Dockerfile %q in the build context %q, and no step declares it as an output", s.dockerfile(), ctxRel)}
		}
		sort.Strings(out)
		return slices.Compact(out), nil
	default:
		return nil, &config.FieldError{Field: "context", Msg: fmt.Sprintf("build context %q is not a folder of the workspace, and no step declares it as an output", ctxRel)}
	}
	dfMade := coveredBy(dfRel, produced)
	if !dfMade {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(dfRel))); err != nil {
			return nil, &config.FieldError{Field: "dockerfile", Msg: fmt.Sprintf("no Dockerfile %q in the build context %q, and no step declares it as an output", s.dockerfile(), ctxRel)}
		}
	}
	if !ctxMade && coveredBy(path.Join(ctxRel, ".dockerignore"), produced) {
		// The files of the context are chosen at plan time by its
		// .dockerignore: one that another step writes would choose them
		// after the key is made.
		return nil, &config.FieldError{Field: "context", Msg: fmt.Sprintf("the .dockerignore of build context %q is another step's output: keep it in the workspace, or have that step make the whole context", ctxRel)}
	}
	bc, err := openBuildContext(ctxAbs, s.dockerfile(), ctxRel == ".")
	if err != nil {
		return nil, err
	}
	entries, err := bc.entries()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.mode.IsDir() {
			out = append(out, path.Join(ctxRel, e.rel))
		}
	}
	if dfMade {
		out = append(out, dfRel)
	}
	// Outputs of other steps inside the context go into the build too.
	for _, p := range produced {
		rel := p
		if ctxRel != "." {
			var ok bool
			if rel, ok = strings.CutPrefix(p, ctxRel+"/"); !ok {
				continue
			}
		}
		if bc.keeps(rel) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// coveredBy reports whether p is one of the sorted paths list or lies under
// one of them.
func coveredBy(p string, list []string) bool {
	for {
		if _, ok := slices.BinarySearch(list, p); ok {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

// holdsAny reports whether some path of list lies under the folder dir.
func holdsAny(dir string, list []string) bool {
	return len(producedUnder(dir, list)) > 0
}

// producedUnder returns the paths of the sorted list under the folder dir.
func producedUnder(dir string, list []string) []string {
	var out []string
	for _, p := range list {
		if dir == "." || strings.HasPrefix(p, dir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// Run builds the image with BuildKit: on the standalone builder that
// settings.buildkit names, else through the Docker engine's build endpoint
// with a session, as docker build does. An engine without BuildKit, or
// builder = "legacy", builds with the legacy builder. The step's log gets
// the build's progress as plain text.
func (imageBuildKind) Run(ctx context.Context, job *Job) (*Outcome, error) {
	s := job.Spec.(*ImageBuildSpec)
	ctxAbs := filepath.Join(job.Workspace, filepath.FromSlash(s.contextDir()))
	// A generated context is made by a need, which has run by now; if it
	// did not make the folder, say so rather than fail in the walk.
	if fi, err := os.Stat(ctxAbs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("build context %q is not a folder (a step that declares it as an output should have made it)", s.contextDir())
	}
	bc, err := openBuildContext(ctxAbs, s.dockerfile(), s.contextDir() == ".")
	if err != nil {
		return nil, err
	}
	entries, err := bc.entries()
	if err != nil {
		return nil, err
	}
	if e := s.SourceDateEpoch; e != "" && !config.IsEpochSeconds(e) {
		return nil, fmt.Errorf("source_date_epoch: want seconds since 1970, got %q", e)
	}
	archive := filepath.Join(job.Workspace, filepath.FromSlash(archivePath(job.Step)))
	// A BuildKit build is offered the keyed files, the secrets, the SSH
	// agent and registry credentials, by bottle-buildkit (buildkit.go).
	if standalone(job.Runtime, s) {
		resp, err := runHelper(ctx, job.Runtime, job.Log, buildKitRequest(job, s, bc, entries, archive))
		if err != nil {
			return nil, err
		}
		if err := loadIfEngine(ctx, job, archive, resp.ImageID); err != nil {
			return nil, err
		}
		return &Outcome{Values: map[string]string{"image_id": resp.ImageID, "archive": archivePath(job.Step)}}, nil
	}
	cli, err := job.Runtime.Docker(ctx)
	if err != nil {
		return nil, err
	}
	var id string
	if why := engineBuildKit(ctx, cli, s); why == "" {
		resp, err := runHelper(ctx, job.Runtime, job.Log, buildKitRequest(job, s, bc, entries, archive))
		if err != nil {
			return nil, err
		}
		id = resp.ImageID
	} else if s.Builder == "buildkit" {
		return nil, fmt.Errorf(`builder = "buildkit", but %s: drop the field to build with the legacy builder`, why)
	} else {
		if len(job.Secrets) > 0 || len(s.SSH) > 0 {
			return nil, fmt.Errorf("%s, and secrets and ssh need BuildKit: the legacy builder would leave them in the image", why)
		}
		if s.Builder != BuilderLegacy {
			fmt.Fprintf(job.Log, "note: %s: building with the legacy builder\n", why)
		}
		id, err = buildLegacy(ctx, cli, job, s, bc, entries)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(job.Log, "built %s\n", id)
	names := s.Tags
	if len(names) == 0 {
		names = []string{id}
	}
	if _, err := saveImage(ctx, cli, names, archive); err != nil {
		return nil, fmt.Errorf("keeping the image's archive: %w", err)
	}
	return &Outcome{Values: map[string]string{"image_id": id, "archive": archivePath(job.Step)}}, nil
}

// engineBuildKit says why the engine cannot build s with BuildKit, or ""
// when it can: BuildKit came with API 1.39 (Engine 18.09), on Linux only.
func engineBuildKit(ctx context.Context, cli *client.Client, s *ImageBuildSpec) string {
	if s.Builder == BuilderLegacy {
		return `builder = "legacy"`
	}
	if v := cli.ClientVersion(); versions.LessThan(v, "1.39") {
		return fmt.Sprintf("the Docker engine at %s speaks API %s, older than BuildKit (1.39)", dockerHost(), v)
	}
	if ping, err := cli.Ping(ctx); err == nil && ping.OSType != "" && ping.OSType != "linux" {
		return fmt.Sprintf("the Docker engine at %s runs %s containers, which BuildKit does not build", dockerHost(), ping.OSType)
	}
	return ""
}

// buildLegacy builds with the engine's legacy builder from a tar of the
// context, streaming its text to the log.
func buildLegacy(ctx context.Context, cli *client.Client, job *Job, s *ImageBuildSpec, bc *buildContext, entries []contextEntry) (string, error) {
	tar, tw := io.Pipe()
	go func() { tw.CloseWithError(bc.writeTar(tw, entries)) }()
	defer tar.Close()
	opts := EngineBuildOptions(s, s.dockerfile())
	opts.Version = build.BuilderV1
	resp, err := cli.ImageBuild(ctx, tar, opts)
	if err != nil {
		return "", fmt.Errorf("building: %w", err)
	}
	defer resp.Body.Close()
	id, err := readBuildStream(resp.Body, job.Log)
	if err != nil {
		return "", err
	}
	if id == "" {
		insp, err := cli.ImageInspect(ctx, firstOr(s.Tags, ""))
		if err != nil {
			return "", fmt.Errorf("the engine did not say which image it built")
		}
		id = insp.ID
	}
	return id, nil
}

// EngineBuildOptions are the engine's build options for s, whichever
// builder: the Dockerfile is dockerfile, as the builder finds it.
func EngineBuildOptions(s *ImageBuildSpec, dockerfile string) build.ImageBuildOptions {
	return build.ImageBuildOptions{
		Tags:        s.Tags,
		Dockerfile:  dockerfile,
		BuildArgs:   argPointers(s),
		Target:      s.Target,
		Platform:    s.Platform,
		Labels:      s.Labels,
		Remove:      true,
		ForceRemove: true,
	}
}

func argPointers(s *ImageBuildSpec) map[string]*string {
	args := map[string]*string{}
	for k, v := range BuildArgs(s) {
		args[k] = &v
	}
	return args
}

// Restore loads the image from its restored archive when the engine lacks
// it: a cache hit on another engine costs a load, not a build.
func (imageBuildKind) Restore(ctx context.Context, job *Job, values map[string]string) error {
	s := job.Spec.(*ImageBuildSpec)
	id := values["image_id"]
	cli, err := job.Runtime.Docker(ctx)
	if err != nil {
		if standalone(job.Runtime, s) {
			// Built on a standalone builder: the archive is the image.
			fmt.Fprintf(job.Log, archiveOnly, dockerHost())
			return nil
		}
		return err
	}
	archive := filepath.Join(job.Workspace, filepath.FromSlash(archivePath(job.Step)))
	if err := loadArchive(ctx, cli, job.Log, archive, id); err != nil {
		return err
	}
	for _, t := range s.Tags {
		if err := cli.ImageTag(ctx, id, t); err != nil {
			return fmt.Errorf("tagging %s as %s: %w", id, t, err)
		}
	}
	return nil
}

// loadArchive loads the image archive into the engine unless it has the
// image id already.
func loadArchive(ctx context.Context, cli *client.Client, log io.Writer, archive, id string) error {
	if _, err := cli.ImageInspect(ctx, id); err == nil {
		fmt.Fprintf(log, "the engine has %s already\n", id)
		return nil
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	resp, err := cli.ImageLoad(ctx, f, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("loading the image into the engine at %s: %w", dockerHost(), err)
	}
	io.Copy(log, resp.Body)
	resp.Body.Close()
	fmt.Fprintf(log, "loaded %s into the engine at %s\n", id, dockerHost())
	return nil
}

// standalone reports whether s builds on settings.buildkit's builder.
func standalone(rt *Runtime, s *ImageBuildSpec) bool {
	return rt != nil && rt.Buildkit != "" && s.Builder != BuilderLegacy
}

func firstOr(list []string, d string) string {
	if len(list) > 0 {
		return list[0]
	}
	return d
}

// BuildError is a failing build instruction: which one, its exit code,
// and (from BuildKit) the last lines it printed.
type BuildError struct {
	Vertex string // BuildKit's name for the failing step, "[stage 2/3] RUN make"
	Msg    string // what the builder said
	Code   int
	Tail   []string
}

func (e *BuildError) Error() string {
	var b strings.Builder
	switch {
	case e.Vertex != "" && e.Code != 0:
		fmt.Fprintf(&b, "%s: exit code %d", e.Vertex, e.Code)
	case e.Vertex != "":
		fmt.Fprintf(&b, "%s: %s", e.Vertex, e.Msg)
	case e.Code != 0 && !strings.Contains(e.Msg, "exit code"):
		fmt.Fprintf(&b, "%s (exit code %d)", e.Msg, e.Code)
	default:
		b.WriteString(e.Msg)
	}
	if len(e.Tail) > 0 {
		b.WriteString("; its last output:")
		for _, l := range e.Tail {
			b.WriteString("\n  | " + l)
		}
	}
	return b.String()
}

// readBuildStream copies the build's text to log and returns the image ID
// from the Aux message.
func readBuildStream(body io.Reader, log io.Writer) (string, error) {
	id := ""
	err := DecodeBuildStream(body, func(m *jsonmessage.JSONMessage) {
		if m.Stream != "" {
			io.WriteString(log, m.Stream)
		}
		if m.Status != "" {
			fmt.Fprintln(log, m.Status)
		}
		if m.Error != nil {
			fmt.Fprintln(log, m.Error.Message)
		}
		if m.Aux != nil {
			var res build.Result
			if json.Unmarshal(*m.Aux, &res) == nil && res.ID != "" {
				id = res.ID
			}
		}
	})
	return id, err
}

// DecodeBuildStream hands each JSON message of the engine's answer to a
// build to fn, and returns the error a message reports: a failing build
// still answers HTTP 200 and says so in the stream.
func DecodeBuildStream(body io.Reader, fn func(*jsonmessage.JSONMessage)) error {
	dec := json.NewDecoder(body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the build's output: %w", err)
		}
		fn(&m)
		if m.Error != nil {
			return &BuildError{Msg: strings.TrimSpace(m.Error.Message), Code: m.Error.Code}
		}
	}
}

// Exists reports whether the engine still has the built image.
func (imageBuildKind) Exists(ctx context.Context, rt *Runtime, key string, values map[string]string) (bool, error) {
	id := values["image_id"]
	if id == "" {
		return false, nil
	}
	cli, err := rt.Docker(ctx)
	if err != nil {
		if rt.Buildkit != "" {
			// Built on a standalone builder with no engine here: the
			// archive, an output the cache checks, is the image.
			return true, nil
		}
		return false, err
	}
	if _, err := cli.ImageInspect(ctx, id); err != nil {
		if errdefs.IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspecting image %s: %w", id, err)
	}
	return true, nil
}

// image.build has an effect that --refresh looks for and a cached result
// recreates by loading its archive.
var (
	_ Prober              = imageBuildKind{}
	_ Restorer            = imageBuildKind{}
	_ steps.Shareable     = imageBuildKind{}
	_ steps.Recreator     = imageBuildKind{}
	_ steps.InputFinder   = imageBuildKind{}
	_ steps.PlatformKeyed = imageBuildKind{}
	_ PlatformProber      = imageBuildKind{}
)

// RefuseSecrets: BuildKit offers secrets as RUN --mount=type=secret; the
// legacy builder has no such mount and would leave them in the image.
func (imageBuildKind) RefuseSecrets(spec any) string {
	if s, ok := spec.(*ImageBuildSpec); ok && s.Builder == BuilderLegacy {
		return `the legacy builder cannot take secrets: it has no secret mounts, so they would end up in the image. Drop builder = "legacy" (BuildKit offers each as RUN --mount=type=secret,id=NAME)`
	}
	return ""
}

var _ config.SecretsRefuser = imageBuildKind{}

// RefuseEnv: image.build runs no command of the step's; values for the
// Dockerfile go in build_args.
func (imageBuildKind) RefuseEnv() string {
	return "image.build runs no command: the engine builds the Dockerfile (give it values with build_args; bottle itself reads DOCKER_HOST)"
}

var _ config.EnvRefuser = imageBuildKind{}
