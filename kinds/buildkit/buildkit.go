// Package buildkit is bottle-buildkit, the BuildKit client bottle runs for
// image.build (see kinds/buildkit.go): the session both builders share
// (the context and the Dockerfile's folder synced as files, build secrets,
// the SSH agent, registry credentials), and the progress they report,
// written to the step's log as `docker build --progress=plain` prints it.
package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/identity"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/filesync"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/kinds"
)

// buildInput is what a BuildKit build reads from the client: the context
// and the folder holding the Dockerfile, as BuildKit's dockerfile frontend
// names them.
type buildInput struct {
	mounts     map[string]fsutil.FS
	dockerfile string // the Dockerfile's name within its folder
	sharedKey  string // lets the builder reuse what it synced before
}

// newBuildInput serves exactly the entries the key was made of: a path the
// context's .dockerignore leaves out (or that bottle never sends, such as
// .bottle/) is not offered even if the builder asks for it. Every file goes
// as root's, as docker build sends it.
func newBuildInput(dir string, entries []string, dockerfile string) (*buildInput, error) {
	keep := make(map[string]bool, len(entries))
	for _, rel := range entries {
		keep[rel] = true
		// The folders above a kept path travel too, even when their
		// pattern leaves them out (an exception re-includes a file).
		for d := rel; ; {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				break
			}
			d = d[:i]
			keep[d] = true
		}
	}
	base, err := fsutil.NewFS(dir)
	if err != nil {
		return nil, err
	}
	ctxFS, err := fsutil.NewFilterFS(base, &fsutil.FilterOpt{Map: func(p string, st *fstypes.Stat) fsutil.MapResult {
		st.Uid, st.Gid = 0, 0
		switch {
		case keep[filepath.ToSlash(p)]:
			return fsutil.MapResultKeep
		case os.FileMode(st.Mode).IsDir():
			return fsutil.MapResultSkipDir
		default:
			return fsutil.MapResultExclude
		}
	}})
	if err != nil {
		return nil, err
	}
	dfAbs := filepath.Join(dir, filepath.FromSlash(dockerfile))
	dfBase, err := fsutil.NewFS(filepath.Dir(dfAbs))
	if err != nil {
		return nil, fmt.Errorf("the Dockerfile's folder: %w", err)
	}
	name := filepath.Base(dfAbs)
	dfFS, err := fsutil.NewFilterFS(dfBase, &fsutil.FilterOpt{
		IncludePatterns: []string{name, name + ".dockerignore"},
		Map: func(_ string, st *fstypes.Stat) fsutil.MapResult {
			st.Uid, st.Gid = 0, 0
			return fsutil.MapResultKeep
		},
	})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(dir))
	return &buildInput{
		mounts:     map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
		dockerfile: name,
		sharedKey:  "bottle-" + hex.EncodeToString(sum[:8]),
	}, nil
}

// buildAttachables are what a build may ask the client for besides files:
// the step's secrets (by name, from its environment), the SSH agents it
// forwards, and registry credentials from the Docker config (for FROM
// images in private registries).
func buildAttachables(s *kinds.ImageBuildSpec, secrets map[string]string) ([]session.Attachable, error) {
	values := map[string][]byte{}
	for name, v := range secrets {
		values[name] = []byte(v)
	}
	out := []session.Attachable{
		secretsprovider.FromMap(values),
		authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(dockerconfig.LoadDefaultConfigFile(io.Discard)),
		}),
	}
	if len(s.SSH) > 0 {
		var confs []sshprovider.AgentConfig
		for _, id := range s.SSH {
			sock := os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, fmt.Errorf(`ssh = [%q] forwards the SSH agent, but SSH_AUTH_SOCK is not set: start one (eval "$(ssh-agent)"; ssh-add) before bottle apply`, id)
			}
			confs = append(confs, sshprovider.AgentConfig{ID: id, Paths: []string{sock}})
		}
		p, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return nil, fmt.Errorf("forwarding the SSH agent: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// newSession is a BuildKit session offering in and the attachables, for a
// build through the engine's build endpoint (a standalone builder makes its
// own from the same parts).
func newSession(ctx context.Context, in *buildInput, atts []session.Attachable) (*session.Session, error) {
	s, err := session.NewSession(ctx, in.sharedKey)
	if err != nil {
		return nil, fmt.Errorf("starting a BuildKit session: %w", err)
	}
	s.Allow(filesync.NewFSSyncProvider(filesync.StaticDirSource(in.mounts)))
	for _, a := range atts {
		s.Allow(a)
	}
	return s, nil
}

// frontendAttrs are the dockerfile frontend's options for the spec.
func frontendAttrs(s *kinds.ImageBuildSpec, dockerfile string) map[string]string {
	attrs := map[string]string{"filename": dockerfile}
	if s.Target != "" {
		attrs["target"] = s.Target
	}
	if s.Platform != "" {
		attrs["platform"] = s.Platform
	}
	for k, v := range kinds.BuildArgs(s) {
		attrs["build-arg:"+k] = v
	}
	for k, v := range s.Labels {
		attrs["label:"+k] = v
	}
	return attrs
}

// progress writes a build's status to the step's log as plain text and
// remembers each step's latest output, to say why a build failed.
type progress struct {
	ch   chan *bkclient.SolveStatus
	done chan struct{}

	mu       sync.Mutex
	vertices map[string]*vertexState // by digest
	order    []string
}

type vertexState struct {
	name string
	err  string
	tail []string // the last lines of its output
}

// tailLines is how much of a failing step's output its error quotes.
const tailLines = 10

// startProgress starts writing statuses sent on p.ch to log; wait returns
// once the channel is closed and everything is written.
func startProgress(ctx context.Context, log io.Writer) *progress {
	p := &progress{
		ch:       make(chan *bkclient.SolveStatus, 16),
		done:     make(chan struct{}),
		vertices: map[string]*vertexState{},
	}
	display, err := progressui.NewDisplay(log, progressui.PlainMode)
	mid := make(chan *bkclient.SolveStatus, 16)
	go func() {
		defer close(p.done)
		if err != nil {
			for range mid {
			}
			return
		}
		// A cancelled build still sends its last statuses: keep
		// draining so the builder is never blocked on us.
		display.UpdateFrom(context.WithoutCancel(ctx), mid)
		for range mid {
		}
	}()
	go func() {
		defer close(mid)
		for ss := range p.ch {
			p.note(ss)
			mid <- ss
		}
	}()
	return p
}

func (p *progress) note(ss *bkclient.SolveStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, v := range ss.Vertexes {
		d := v.Digest.String()
		st := p.vertices[d]
		if st == nil {
			st = &vertexState{}
			p.vertices[d] = st
			p.order = append(p.order, d)
		}
		st.name = v.Name
		if v.Error != "" {
			st.err = v.Error
		}
	}
	for _, l := range ss.Logs {
		st := p.vertices[l.Vertex.String()]
		if st == nil {
			continue
		}
		for _, line := range strings.Split(strings.TrimRight(string(l.Data), "\n"), "\n") {
			st.tail = append(st.tail, line)
		}
		if n := len(st.tail); n > tailLines {
			st.tail = slices.Clone(st.tail[n-tailLines:])
		}
	}
}

// wait returns when every status has been written.
func (p *progress) wait() { <-p.done }

// failure is the build's error as a user wants it: the step that failed,
// the end of its output and its exit code. err is what the builder said.
func (p *progress) failure(err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := err.Error()
	for _, d := range p.order {
		v := p.vertices[d]
		if v.err == "" || strings.Contains(v.err, "context canceled") {
			continue
		}
		return &kinds.BuildError{Vertex: v.name, Msg: v.err, Code: exitCode(v.err + " " + msg), Tail: v.tail}
	}
	return &kinds.BuildError{Msg: strings.TrimSpace(msg), Code: exitCode(msg)}
}

var exitCodeRE = regexp.MustCompile(`exit code: (\d+)`)

// exitCode finds a RUN's exit code in a builder's message ("process … did
// not complete successfully: exit code: 3"; older engines say "executor
// failed running [...]: exit code: 3").
func exitCode(msg string) int {
	if m := exitCodeRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// buildOnEngine builds through the engine's build endpoint with BuildKit,
// serving the context, secrets, SSH and credentials over a session hijacked
// from the engine's /session endpoint, as docker build does.
func buildOnEngine(ctx context.Context, cli *client.Client, log io.Writer, s *kinds.ImageBuildSpec, in *buildInput, atts []session.Attachable) (string, error) {
	sctx, stopSession := context.WithCancel(ctx)
	defer stopSession()
	sess, err := newSession(sctx, in, atts)
	if err != nil {
		return "", err
	}
	sessDone := make(chan error, 1)
	go func() {
		sessDone <- sess.Run(sctx, func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return cli.DialHijack(ctx, "/session", proto, meta)
		})
	}()
	defer func() {
		sess.Close()
		stopSession() // a dial still in progress gives up too
		<-sessDone
	}()
	buildID := identity.NewID()
	opts := kinds.EngineBuildOptions(s, in.dockerfile)
	opts.Version = build.BuilderBuildKit
	opts.SessionID, opts.RemoteContext, opts.BuildID = sess.ID(), "client-session", buildID
	resp, err := cli.ImageBuild(ctx, nil, opts)
	if err != nil {
		return "", fmt.Errorf("building: %w", err)
	}
	defer resp.Body.Close()
	// Stopping the run stops the build in the engine, not only our read.
	stopCancel := context.AfterFunc(ctx, func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		cli.BuildCancel(cctx, buildID)
	})
	defer stopCancel()
	prog := startProgress(ctx, log)
	id, err := readBuildKitStream(resp.Body, prog.ch)
	close(prog.ch)
	prog.wait()
	if err != nil {
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		var be *kinds.BuildError
		if errors.As(err, &be) {
			return "", prog.failure(err)
		}
		return "", err
	}
	if id == "" {
		return "", errors.New("the engine did not say which image it built")
	}
	return id, nil
}

// readBuildKitStream reads the engine's answer to a BuildKit build: its
// "moby.buildkit.trace" messages carry BuildKit's status as protobuf, sent
// on to ch, and its "moby.image.id" one names the image.
func readBuildKitStream(body io.Reader, ch chan<- *bkclient.SolveStatus) (string, error) {
	id := ""
	err := kinds.DecodeBuildStream(body, func(m *jsonmessage.JSONMessage) {
		if m.Aux == nil {
			return
		}
		switch m.ID {
		case "moby.buildkit.trace":
			var dt []byte
			if err := json.Unmarshal(*m.Aux, &dt); err != nil {
				return
			}
			var resp controlapi.StatusResponse
			if err := resp.UnmarshalVT(dt); err != nil {
				return
			}
			ch <- bkclient.NewSolveStatus(&resp)
		case "moby.image.id":
			var res build.Result
			if json.Unmarshal(*m.Aux, &res) == nil && res.ID != "" {
				id = res.ID
			}
		}
	})
	return id, err
}

// buildStandalone builds on the buildkitd of settings.buildkit, which
// sends the image back as an archive (docker save's layout and an OCI
// layout in one tar) written to archive whole or not at all. The image is
// loaded into a local Docker engine when one answers; without one, the
// archive is the result, and image.save and image.push take it.
func buildStandalone(ctx context.Context, addr string, log io.Writer, s *kinds.ImageBuildSpec, in *buildInput, atts []session.Attachable, archive string) (string, error) {
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("connecting to the BuildKit daemon at %s (settings.buildkit): %w", addr, err)
	}
	defer c.Close()
	if err := os.MkdirAll(filepath.Dir(archive), 0o755); err != nil {
		return "", err
	}
	f, err := atomicfile.Create(archive, "", 0o644)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	exp := bkclient.ExportEntry{
		Type:  bkclient.ExporterDocker,
		Attrs: map[string]string{},
		Output: func(map[string]string) (io.WriteCloser, error) {
			return nopCloser{f}, nil
		},
	}
	if len(s.Tags) > 0 {
		exp.Attrs["name"] = strings.Join(s.Tags, ",")
	}
	if s.SourceDateEpoch != "" {
		exp.Attrs["rewrite-timestamp"] = "true"
	}
	prog := startProgress(ctx, log)
	res, err := c.Solve(ctx, nil, bkclient.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: frontendAttrs(s, in.dockerfile),
		LocalMounts:   in.mounts,
		SharedKey:     in.sharedKey,
		Session:       atts,
		Exports:       []bkclient.ExportEntry{exp},
	}, prog.ch)
	prog.wait()
	if err != nil {
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		if isUnavailable(err) {
			return "", fmt.Errorf("cannot reach the BuildKit daemon at %s (settings.buildkit): is it running? %v", addr, err)
		}
		return "", prog.failure(err)
	}
	id := res.ExporterResponse["containerimage.config.digest"]
	if id == "" {
		return "", errors.New("the BuildKit daemon did not say which image it built")
	}
	if err := f.Commit(); err != nil {
		return "", fmt.Errorf("keeping the image's archive: %w", err)
	}
	fmt.Fprintf(log, "built %s\n", id)
	return id, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// isUnavailable reports a builder that could not be reached.
func isUnavailable(err error) bool {
	return status.Code(err) == codes.Unavailable || strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such file or directory")
}

// platform is the platform of the standalone builder at addr: its first
// worker's first.
func platform(ctx context.Context, addr string) (string, error) {
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("connecting to the BuildKit daemon at %s (settings.buildkit): %w", addr, err)
	}
	defer c.Close()
	ws, err := c.ListWorkers(ctx)
	if err != nil {
		return "", fmt.Errorf("asking the BuildKit daemon at %s (settings.buildkit) its platform: is it running? %v", addr, err)
	}
	if len(ws) == 0 || len(ws[0].Platforms) == 0 {
		return "", fmt.Errorf("the BuildKit daemon at %s has no worker that builds", addr)
	}
	p := ws[0].Platforms[0]
	if p.Architecture == "arm" && p.Variant != "" {
		return p.OS + "/arm/" + p.Variant, nil
	}
	return kinds.NormalizePlatform(p.OS, p.Architecture), nil
}
