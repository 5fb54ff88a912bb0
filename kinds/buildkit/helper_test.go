package buildkit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/kinds"
)

// TestMainRefusesWhatBottleDoesNotSend: a request bottle would not write
// is refused with exit status 2, saying why; one it would is answered on
// stdout, a failure included.
func TestMainRefusesWhatBottleDoesNotSend(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"no op", "", nil, 2, "usage: bottle-buildkit build|platform"},
		{"no request", "", []string{"build"}, 2, "no build request on standard input"},
		{"another op", `{"Op":"platform"}`, []string{"build"}, 2, `is for "platform", not build`},
		{"a build of nothing", `{"Op":"build"}`, []string{"build"}, 0, ""},
		{"an unknown op", `{"Op":"x"}`, []string{"x"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tt.code, tt.stderr)
			}
			if code != 0 {
				return
			}
			var resp kinds.BuildKitResponse
			if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil || resp.Error == "" {
				t.Errorf("answer %q (%v): want an error", stdout.String(), err)
			}
		})
	}
}
