package kinds

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestNormalizePlatform(t *testing.T) {
	tests := []struct{ os, arch, want string }{
		{"linux", "x86_64", "linux/amd64"},
		{"linux", "amd64", "linux/amd64"},
		{"linux", "aarch64", "linux/arm64"}, // Docker Desktop on Apple silicon
		{"linux", "arm64", "linux/arm64"},
		{"linux", "armv7l", "linux/arm/v7"},
		{"linux", "armv6l", "linux/arm/v6"},
		{"linux", "i686", "linux/386"},
		{"linux", "ppc64le", "linux/ppc64le"},
		{"linux", "s390x", "linux/s390x"},
		{"Windows", "X86_64", "windows/amd64"},
		{" linux ", " aarch64\n", "linux/arm64"},
	}
	for _, tt := range tests {
		if got := NormalizePlatform(tt.os, tt.arch); got != tt.want {
			t.Errorf("NormalizePlatform(%q, %q) = %q, want %q", tt.os, tt.arch, got, tt.want)
		}
	}
}

// fakeEngine serves the two read-only calls of the Docker Engine API that
// asking the platform makes (ping, info) on a unix socket, and counts them.
type fakeEngine struct {
	mu    sync.Mutex
	calls []string
}

func startFakeEngine(t *testing.T, info map[string]string) (*fakeEngine, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	e := &fakeEngine{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls = append(e.calls, r.Method+" "+r.URL.Path)
		e.mu.Unlock()
		w.Header().Set("Api-Version", "1.41")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/info"):
			json.NewEncoder(w).Encode(info)
		default:
			http.NotFound(w, r)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return e, "unix://" + sock
}

// TestEnginePlatform asks a fake engine its platform: the answer is spelled
// as image platforms are, and the engine is asked once per Runtime however
// many builds ask.
func TestEnginePlatform(t *testing.T) {
	e, host := startFakeEngine(t, map[string]string{"OSType": "linux", "Architecture": "aarch64"})
	t.Setenv("DOCKER_HOST", host)
	rt := &Runtime{}
	for i := 0; i < 3; i++ {
		p, err := imageBuildKind{}.Platform(context.Background(), rt, &ImageBuildSpec{})
		if err != nil {
			t.Fatal(err)
		}
		if p != "linux/arm64" {
			t.Errorf("platform %q, want linux/arm64", p)
		}
	}
	infos := 0
	for _, c := range e.calls {
		if !strings.HasPrefix(c, "GET ") && !strings.HasPrefix(c, "HEAD ") {
			t.Errorf("asking the platform made the call %q: it must only read", c)
		}
		if strings.HasSuffix(c, "/info") {
			infos++
		}
	}
	if infos != 1 {
		t.Errorf("the engine was asked its info %d times, want once: %q", infos, e.calls)
	}
}

// TestEnginePlatformErrors: an engine that cannot be reached, or does not
// say its platform, is an error (which planning turns into a key line and
// apply into the step's failure), never a guess.
func TestEnginePlatformErrors(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
		_, err := (&Runtime{}).EnginePlatform(context.Background())
		if err == nil || !strings.Contains(err.Error(), "cannot reach the Docker engine") {
			t.Errorf("err = %v, want cannot reach the Docker engine", err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		_, host := startFakeEngine(t, map[string]string{"OSType": "linux"})
		t.Setenv("DOCKER_HOST", host)
		_, err := (&Runtime{}).EnginePlatform(context.Background())
		if err == nil || !strings.Contains(err.Error(), "did not say its OS and architecture") {
			t.Errorf("err = %v, want did not say its OS and architecture", err)
		}
	})
}

// TestPlatformFollowsTheBuilder: with settings.buildkit, a BuildKit step's
// platform is the standalone builder's (here unreachable: an error naming
// it), and a builder = "legacy" step's is still the engine's.
func TestPlatformFollowsTheBuilder(t *testing.T) {
	useBuildKitHelper(t)
	_, host := startFakeEngine(t, map[string]string{"OSType": "linux", "Architecture": "x86_64"})
	t.Setenv("DOCKER_HOST", host)
	rt := &Runtime{Buildkit: "unix://" + filepath.Join(t.TempDir(), "none.sock")}
	p, err := imageBuildKind{}.Platform(context.Background(), rt, &ImageBuildSpec{Builder: BuilderLegacy})
	if err != nil || p != "linux/amd64" {
		t.Errorf("legacy step: platform %q, %v; want the engine's linux/amd64", p, err)
	}
	_, err = imageBuildKind{}.Platform(context.Background(), rt, &ImageBuildSpec{})
	if err == nil || !strings.Contains(err.Error(), "settings.buildkit") {
		t.Errorf("BuildKit step: err = %v, want one naming settings.buildkit", err)
	}
}
