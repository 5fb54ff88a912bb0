package kinds

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"
	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	fstypes "github.com/tonistiigi/fsutil/types"
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
			dir := writeContext(t, tt.patterns, append(slices.Clone(contextTree), ".bottle/state", ".bottle/out/x.tar")...)
			keyed, err := imageBuildKind{}.ImpliedInputs(dir, &ImageBuildSpec{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			in := buildInputOf(t, dir, "Dockerfile", true)
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

// buildInputOf is what a BuildKit build of the context dir is offered.
func buildInputOf(t *testing.T, dir, dockerfile string, atRoot bool) *buildInput {
	t.Helper()
	bc, err := openBuildContext(dir, dockerfile, atRoot)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := bc.entries()
	if err != nil {
		t.Fatal(err)
	}
	in, err := newBuildInput(bc, entries, dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	return in
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
	dir := writeContext(t, nil, "build/app.Dockerfile", "build/other.txt", "a.txt")
	in := buildInputOf(t, dir, "build/app.Dockerfile", false)
	if in.dockerfile != "app.Dockerfile" {
		t.Errorf("dockerfile = %q, want app.Dockerfile", in.dockerfile)
	}
	if got := walkFS(t, in.mounts["dockerfile"]); !slices.Equal(got, []string{"app.Dockerfile"}) {
		t.Errorf("the Dockerfile's folder offers %q", got)
	}
}

func TestBuildErrorMessage(t *testing.T) {
	tests := []struct {
		err  BuildError
		want string
	}{
		{BuildError{Msg: "The command '/bin/sh -c false' returned a non-zero code: 1", Code: 1}, "The command '/bin/sh -c false' returned a non-zero code: 1 (exit code 1)"},
		{BuildError{Msg: "executor failed running [x]: exit code: 3", Code: 3}, "executor failed running [x]: exit code: 3"},
		{BuildError{Vertex: "[build 2/3] RUN make", Msg: `process "/bin/sh -c make" did not complete successfully: exit code: 2`, Code: 2, Tail: []string{"cc: error", "make: *** [all] Error 1"}},
			"[build 2/3] RUN make: exit code 2; its last output:\n  | cc: error\n  | make: *** [all] Error 1"},
		{BuildError{Vertex: "[internal] load metadata", Msg: "no such host"}, "[internal] load metadata: no such host"},
		{BuildError{Msg: "failed to solve: target stage final could not be found"}, "failed to solve: target stage final could not be found"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
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
	var be *BuildError
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

// TestEngineBuildKit: BuildKit wherever the engine has it; the legacy
// builder when asked for, or when the engine is too old or not Linux.
func TestEngineBuildKit(t *testing.T) {
	tests := []struct {
		name, version, ostype, builder string
		want                           string // "" BuildKit; else part of the reason
	}{
		{"linux engine", "1.41", "linux", "", ""},
		{"asked for buildkit", "1.41", "linux", "buildkit", ""},
		{"asked for legacy", "1.41", "linux", "legacy", `builder = "legacy"`},
		{"old engine", "1.38", "linux", "", "older than BuildKit"},
		{"windows engine", "1.41", "windows", "", "runs windows containers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Api-Version", tt.version)
				w.Header().Set("Ostype", tt.ostype)
				w.Write([]byte("OK"))
			}))
			defer srv.Close()
			cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+strings.TrimPrefix(srv.URL, "http://")), client.WithVersion(tt.version))
			if err != nil {
				t.Fatal(err)
			}
			got := engineBuildKit(context.Background(), cli, &ImageBuildSpec{Builder: tt.builder})
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("engineBuildKit = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestImageBuildCheck(t *testing.T) {
	tests := []struct {
		spec ImageBuildSpec
		want string // "" valid
	}{
		{ImageBuildSpec{}, ""},
		{ImageBuildSpec{Builder: "buildkit", SSH: []string{"default", "github.key"}}, ""},
		{ImageBuildSpec{Builder: "kaniko"}, `builder: want "buildkit" or "legacy", got "kaniko"`},
		{ImageBuildSpec{SSH: []string{""}}, `ssh: "" is not an SSH agent id`},
		{ImageBuildSpec{SSH: []string{"a b"}}, `ssh: "a b" is not an SSH agent id`},
		{ImageBuildSpec{Builder: "legacy", SSH: []string{"default"}}, "the legacy builder cannot forward an SSH agent"},
		// source_date_epoch: seconds since 1970, or a reference whose
		// value planning fills in.
		{ImageBuildSpec{SourceDateEpoch: "0"}, ""},
		{ImageBuildSpec{SourceDateEpoch: "1700000000"}, ""},
		{ImageBuildSpec{SourceDateEpoch: "${var.settings.source_date_epoch}"}, ""},
		{ImageBuildSpec{SourceDateEpoch: "${env.SOURCE_DATE_EPOCH}"}, ""},
		{ImageBuildSpec{SourceDateEpoch: "git"}, `source_date_epoch: want seconds since 1970, got "git" (settings.source_date_epoch = "git" takes the last commit's time)`},
		{ImageBuildSpec{SourceDateEpoch: "-1"}, `source_date_epoch: want seconds since 1970, got "-1"`},
		{ImageBuildSpec{SourceDateEpoch: "17.5"}, `source_date_epoch: want seconds since 1970, got "17.5"`},
		{ImageBuildSpec{SourceDateEpoch: "2023-11-14"}, `source_date_epoch: want seconds since 1970, got "2023-11-14"`},
	}
	for _, tt := range tests {
		wantCheck(t, tt.spec, tt.spec.Check(), tt.want)
	}
}

func TestImageSaveCheck(t *testing.T) {
	tests := []struct {
		spec ImageSaveSpec
		want string
	}{
		{ImageSaveSpec{Image: "app:dev"}, ""},
		{ImageSaveSpec{From: "${step.build.archive}"}, ""},
		{ImageSaveSpec{From: ".bottle/out/build.image.tar"}, ""},
		{ImageSaveSpec{}, `image.save needs "image"`},
		{ImageSaveSpec{Image: "app:dev", From: "x.tar"}, "not both"},
		{ImageSaveSpec{From: "../x.tar"}, "from:"},
	}
	for _, tt := range tests {
		wantCheck(t, tt.spec, tt.spec.Check(), tt.want)
	}
}

// wantCheck fails unless err is nil for want "" or holds want.
func wantCheck(t *testing.T, spec any, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%+v: %v", spec, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("%+v: err = %v, want %q", spec, err, want)
	}
}
