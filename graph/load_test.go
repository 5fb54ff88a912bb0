package graph

import (
	"slices"
	"testing"

	"github.com/bottle-build/bottle/kinds"
)

// A step's input patterns are its own as written when they hold no
// reference, and expanded from vars and the environment when they do.
func TestLoadInputPatterns(t *testing.T) {
	root := writeTree(t, map[string]string{
		"bottle.toml": `
[vars]
d = "src"

[steps.plain]
kind = "exec"
inputs = ["a.txt", "src/*.go"]
run = "true"

[steps.refs]
kind = "exec"
inputs = ["${var.d}/*.go", "${env.DIR:-lib}/x.txt", "b.txt"]
run = "true"

[steps.none]
kind = "exec"
run = "true"
`,
	})
	g, err := Load(LoadOptions{Root: root, Getenv: mapEnv(nil), Kinds: kinds.Descriptions()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step string
		want []string
	}{
		{"plain", []string{"a.txt", "src/*.go"}},
		{"refs", []string{"src/*.go", "lib/x.txt", "b.txt"}},
		{"none", nil},
	} {
		if got := g.Node(tc.step).Inputs; !slices.Equal(got, tc.want) {
			t.Errorf("%s: inputs %q, want %q", tc.step, got, tc.want)
		}
	}
}
