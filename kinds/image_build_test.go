package kinds

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/docker/docker/client"
)

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
