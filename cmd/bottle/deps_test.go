package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBottleLinksNoBuildKit: BuildKit's client, gRPC and protobuf stay in
// bottle-buildkit (kinds/buildkit.go says why), and the check can fail:
// the helper links them.
func TestBottleLinksNoBuildKit(t *testing.T) {
	heavy := []string{"github.com/moby/buildkit/", "google.golang.org/grpc", "google.golang.org/protobuf/"}
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, tt := range []struct {
		pkg   string
		links bool
	}{
		{".", false},
		{"../bottle-buildkit", true},
	} {
		out, err := exec.Command(goCmd, "list", "-deps", tt.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tt.pkg, err)
		}
		for _, h := range heavy {
			if got := strings.Contains("\n"+string(out), "\n"+h); got != tt.links {
				t.Errorf("%s links %s: %v, want %v", tt.pkg, h, got, tt.links)
			}
		}
	}
}
