package buildkit

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	fstypes "github.com/tonistiigi/fsutil/types"

	"github.com/bottle-build/bottle/internal/testenv"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/steps"
)

// TestBuildInputServesTheKeyedFiles: what the session offers a BuildKit
// build is exactly what the key was made of (the .dockerignore decides both,
// and .bottle/ never travels), every file as root's; the Dockerfile's folder
// offers the Dockerfile alone.
func TestBuildInputServesTheKeyedFiles(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
	}{
		{"none", nil},
		{"folder", []string{"dir"}},
		{"re-include under an excluded folder", []string{"dir", "!dir/sub/keep.go"}},
		{"by extension", []string{"**/*.txt", "!other/*.txt"}},
		{"everything but", []string{"**", "!Dockerfile", "!deep/er/**"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testenv.WriteContext(t, tt.patterns, append(slices.Clone(testenv.ContextTree), ".bottle/state", ".bottle/out/x.tar")...)
			in, keyed := buildInputOf(t, dir, "Dockerfile")
			sent := walkFS(t, in.mounts["context"])
			if !slices.Equal(sent, keyed) {
				t.Errorf("the session offers %q\nthe key has        %q", sent, keyed)
			}
			if df := walkFS(t, in.mounts["dockerfile"]); !slices.Equal(df, []string{"Dockerfile"}) {
				t.Errorf("the Dockerfile's folder offers %q, want only the Dockerfile", df)
			}
			if in.dockerfile != "Dockerfile" {
				t.Errorf("dockerfile = %q", in.dockerfile)
			}
		})
	}
}

// buildInputOf is what a BuildKit build of the context dir (the
// workspace) is offered, and the files its key is made of (what bottle
// sends as the request's Keep).
func buildInputOf(t *testing.T, dir, dockerfile string) (*buildInput, []string) {
	t.Helper()
	finder := kinds.Descriptions()["image.build"].(steps.InputFinder)
	keyed, err := finder.ImpliedInputs(dir, &kinds.ImageBuildSpec{Dockerfile: dockerfile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := newBuildInput(dir, keyed, dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	return in, keyed
}

// walkFS lists the files (not folders) an fsutil FS offers, checking that
// each is root's.
func walkFS(t *testing.T, f interface {
	Walk(context.Context, string, fs.WalkDirFunc) error
}) []string {
	t.Helper()
	var out []string
	err := f.Walk(context.Background(), "", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*fstypes.Stat)
		if st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s is sent as %d:%d, want root's", p, st.Uid, st.Gid)
		}
		if !d.IsDir() {
			out = append(out, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestDockerfileElsewhere: a Dockerfile in a subfolder of the context is
// offered from its own folder, by its base name.
func TestDockerfileElsewhere(t *testing.T) {
	dir := testenv.WriteContext(t, nil, "build/app.Dockerfile", "build/other.txt", "a.txt")
	in, _ := buildInputOf(t, dir, "build/app.Dockerfile")
	if in.dockerfile != "app.Dockerfile" {
		t.Errorf("dockerfile = %q, want app.Dockerfile", in.dockerfile)
	}
	if got := walkFS(t, in.mounts["dockerfile"]); !slices.Equal(got, []string{"app.Dockerfile"}) {
		t.Errorf("the Dockerfile's folder offers %q", got)
	}
}

func TestExitCode(t *testing.T) {
	tests := map[string]int{
		`process "/bin/sh -c exit 3" did not complete successfully: exit code: 3`: 3,
		`executor failed running [/bin/sh -c exit 7]: exit code: 7`:               7,
		`failed to compute cache key: "/x" not found`:                             0,
		`exit code: 255`: 255,
	}
	for msg, want := range tests {
		if got := exitCode(msg); got != want {
			t.Errorf("exitCode(%q) = %d, want %d", msg, got, want)
		}
	}
}

// TestProgressFailure: statuses become plain text in the log, and a failed
// vertex becomes an error naming it, its exit code and its last lines.
func TestProgressFailure(t *testing.T) {
	var log bytes.Buffer
	p := startProgress(context.Background(), &log)
	now := time.Now()
	ok, bad := digest.FromString("ok"), digest.FromString("bad")
	p.ch <- &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: ok, Name: "[1/2] COPY a /a", Started: &now, Completed: &now},
		{Digest: bad, Name: "[2/2] RUN make", Started: &now},
	}}
	var lines []byte
	for i := 1; i <= 15; i++ {
		lines = append(lines, []byte("line "+strings.Repeat("x", i%3)+string(rune('a'+i))+"\n")...)
	}
	p.ch <- &bkclient.SolveStatus{Logs: []*bkclient.VertexLog{{Vertex: bad, Data: lines, Timestamp: now}}}
	p.ch <- &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		{Digest: bad, Name: "[2/2] RUN make", Started: &now, Completed: &now, Error: `process "/bin/sh -c make" did not complete successfully: exit code: 2`},
	}}
	close(p.ch)
	p.wait()
	err := p.failure(errors.New("failed to solve: exit code: 2"))
	var be *kinds.BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want a BuildError", err)
	}
	if be.Vertex != "[2/2] RUN make" || be.Code != 2 || len(be.Tail) != tailLines || !strings.HasSuffix(be.Tail[len(be.Tail)-1], "p") {
		t.Errorf("got %+v", be)
	}
	for _, want := range []string{"[2/2] RUN make", "ERROR: process", "line"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, log.String())
		}
	}
}
