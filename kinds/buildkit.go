package kinds

// BuildKit for image.build runs in a helper program, bottle-buildkit
// (cmd/bottle-buildkit, package kinds/buildkit): BuildKit's client, with
// gRPC and its protobuf types, is a third of bottle's size, and its
// packages' start-up work cost every bottle command 12 ms and 6 MB, a
// plan of 5,000 steps 5% of its time. bottle hands the helper a
// BuildKitRequest on standard input; the helper writes the build's
// progress to standard error, which goes to the step's log, and a
// BuildKitResponse to standard output.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// BuildKitRequest is what bottle asks of bottle-buildkit.
type BuildKitRequest struct {
	// Op is "build", or "platform": the platform of settings.buildkit's
	// builder.
	Op string
	// Buildkit is settings.buildkit, the standalone builder's address; ""
	// builds through the Docker engine's BuildKit.
	Buildkit string
	// Context is the build context's folder (absolute); Keep are the paths
	// in it (slash-separated, relative) the step's key was made of: the
	// only ones offered to the builder.
	Context string
	Keep    []string
	// Dockerfile is the Dockerfile's path, relative to Context.
	Dockerfile string
	Spec       *ImageBuildSpec
	// Secrets are the step's secrets' values, by name.
	Secrets map[string]string
	// Archive is where a standalone build writes the image (docker save's
	// layout): whole, or not at all.
	Archive string
}

// BuildKitResponse is bottle-buildkit's answer.
type BuildKitResponse struct {
	ImageID  string      `json:",omitempty"`
	Platform string      `json:",omitempty"`
	Build    *BuildError `json:",omitempty"` // the build failed: which instruction, its exit code
	Error    string      `json:",omitempty"` // anything else that went wrong
}

// helperName is the helper program's name, looked for beside bottle, then
// on PATH.
const helperName = "bottle-buildkit"

// HelperEnv, when set, names the helper's path, before bottle looks
// beside itself and on PATH (tests set it).
const HelperEnv = "BOTTLE_BUILDKIT_HELPER"

// helperPath finds bottle-buildkit.
func helperPath() (string, error) {
	if p := os.Getenv(HelperEnv); p != "" {
		return p, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), helperName)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(helperName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("a BuildKit build needs %s, BuildKit's client, which is neither beside bottle nor on PATH: "+
		"install it with bottle (go install github.com/bottle-build/bottle/cmd/...@latest), or from a checkout: go build -o \"$(dirname \"$(command -v bottle)\")\" ./cmd/%s",
		helperName, helperName)
}

// runHelper asks bottle-buildkit req, with its progress written to log.
// It stops as a step's command does when ctx ends (runProcess).
func runHelper(ctx context.Context, rt *Runtime, log io.Writer, req *BuildKitRequest) (*BuildKitResponse, error) {
	path, err := helperPath()
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, req.Op)
	cmd.Env = os.Environ() // SSH_AUTH_SOCK, DOCKER_HOST, DOCKER_CONFIG, proxies: as bottle has them
	cmd.Stdin = bytes.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = log
	runErr := runProcess(ctx, rt, cmd)
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	var resp BuildKitResponse
	if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
		if runErr != nil {
			return nil, fmt.Errorf("%s failed: %w", helperName, runErr)
		}
		return nil, fmt.Errorf("%s gave no answer bottle reads (is it the same version as bottle?): %v", helperName, err)
	}
	switch {
	case resp.Build != nil:
		return nil, resp.Build
	case resp.Error != "":
		return nil, errors.New(resp.Error)
	case runErr != nil:
		return nil, fmt.Errorf("%s failed: %w", helperName, runErr)
	}
	return &resp, nil
}

// buildKitRequest is the request to build s from the context bc (its keyed
// entries) on rt's builder.
func buildKitRequest(job *Job, s *ImageBuildSpec, bc *buildContext, entries []contextEntry, archive string) *BuildKitRequest {
	keep := make([]string, len(entries))
	for i, e := range entries {
		keep[i] = e.rel
	}
	secrets := map[string]string{}
	for _, name := range job.Secrets {
		if v, ok := lookupEnv(job.Env, name); ok {
			secrets[name] = v
		}
	}
	req := &BuildKitRequest{Op: "build", Context: bc.dir, Keep: keep, Dockerfile: s.dockerfile(), Spec: s, Secrets: secrets}
	if standalone(job.Runtime, s) {
		req.Buildkit, req.Archive = job.Runtime.Buildkit, archive
	}
	return req
}

// BuildArgs are the spec's build_args, with SOURCE_DATE_EPOCH when it sets
// one.
func BuildArgs(s *ImageBuildSpec) map[string]string {
	args := make(map[string]string, len(s.BuildArgs)+1)
	for k, v := range s.BuildArgs {
		args[k] = v
	}
	if s.SourceDateEpoch != "" {
		args["SOURCE_DATE_EPOCH"] = s.SourceDateEpoch
	}
	return args
}

// archiveOnly is the log's note when a standalone build has no engine to
// load into.
const archiveOnly = "no local Docker engine answers (%s): the image is kept as an archive only, for image.save and image.push to take\n"

// loadIfEngine loads the archive into the local Docker engine if one
// answers, and otherwise says in the log that the archive is all there is.
func loadIfEngine(ctx context.Context, job *Job, archive, id string) error {
	cli, err := job.Runtime.Docker(ctx)
	if err != nil {
		fmt.Fprintf(job.Log, archiveOnly, dockerHost())
		return nil
	}
	return loadArchive(ctx, cli, job.Log, archive, id)
}

// builderPlatform is a standalone builder's platform, asked once per
// Runtime.
type builderPlatform struct {
	once     sync.Once
	platform string
	err      error
}

// BuilderPlatform is the platform a BuildKit image.build that names none
// builds for: the first platform of settings.buildkit's builder, else the
// Docker engine's. It only reads.
func (rt *Runtime) BuilderPlatform(ctx context.Context) (string, error) {
	if rt.Buildkit == "" {
		return rt.EnginePlatform(ctx)
	}
	rt.builder.once.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, platformTimeout)
		defer cancel()
		var log bytes.Buffer
		resp, err := runHelper(ctx, rt, &log, &BuildKitRequest{Op: "platform", Buildkit: rt.Buildkit})
		if err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("asking the BuildKit daemon at %s (settings.buildkit) its platform: no answer in %v", rt.Buildkit, platformTimeout)
			}
			rt.builder.err = err
			return
		}
		rt.builder.platform = resp.Platform
	})
	return rt.builder.platform, rt.builder.err
}
