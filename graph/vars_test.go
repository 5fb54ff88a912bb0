package graph

import (
	"strings"
	"testing"

	"github.com/bottle-build/bottle/kinds"
)

const varsConfig = `
[vars]
goos = "${env.GOOS:-linux}"
token = "${env.TOKEN}"

[steps.bin]
kind = "exec"
run = "echo ${var.goos} > out/app-${var.goos}.txt"
outputs = ["out/app-${var.goos}.txt"]

[steps.release]
kind = "exec"
needs = ["bin"]
run = "echo ${env.GITHUB_TOKEN}"

[steps.publish]
kind = "exec"
run = "echo ${var.token}"
outputs = ["out/pub-${env.CHANNEL}.txt"]
`

// An unset ${env.X} without a default stops only the steps being planned
// that use it, directly or through a var, and the error names the place.
func TestUnsetEnvOnlyForPlannedSteps(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": varsConfig})
	tests := []struct {
		name    string
		env     map[string]string
		targets []string
		err     string // "" for a plan
	}{
		{"other step plans", nil, []string{"bin"}, ""},
		{"direct", nil, []string{"release"},
			`bottle.toml:14:1: steps.release.run: ${env.GITHUB_TOKEN} is unset: set GITHUB_TOKEN, or give a default: ${env.GITHUB_TOKEN:-VALUE}`},
		{"through a var", map[string]string{"CHANNEL": "beta"}, []string{"publish"},
			`bottle.toml:18:1: steps.publish.run: ${var.token}: ${env.TOKEN} is unset: set TOKEN, or give a default: ${env.TOKEN:-VALUE} (in `},
		{"in an output path", map[string]string{"TOKEN": "t"}, []string{"publish"},
			`steps.publish.outputs: ${env.CHANNEL} is unset`},
		{"all set", map[string]string{"TOKEN": "t", "CHANNEL": "beta", "GITHUB_TOKEN": "g"}, nil, ""},
		{"all steps with one unset", map[string]string{"TOKEN": "t", "CHANNEL": "beta"}, nil, `${env.GITHUB_TOKEN} is unset`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(tt.env), Kinds: kinds.Descriptions()}, noCache{})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			_, err = pl.Plan(tt.targets)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("plan: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

// A default, an override and the environment each give the output path
// and the key the value used.
func TestVarsFromOutside(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": varsConfig})
	load := func(env, overrides map[string]string) *Planner {
		t.Helper()
		pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(env), Vars: overrides, Kinds: kinds.Descriptions()}, noCache{})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	keys := map[string]string{}
	for _, tt := range []struct {
		name       string
		env, over  map[string]string
		wantOutput string
		sameKeyAs  string
	}{
		{"default", nil, nil, "out/app-linux.txt", ""},
		{"env", map[string]string{"GOOS": "darwin"}, nil, "out/app-darwin.txt", ""},
		{"empty env counts as unset", map[string]string{"GOOS": ""}, nil, "out/app-linux.txt", ""},
		{"override", map[string]string{"GOOS": "darwin"}, map[string]string{"goos": "windows"}, "out/app-windows.txt", ""},
		{"override equal to the default", nil, map[string]string{"goos": "linux"}, "out/app-linux.txt", "default"},
	} {
		pl := load(tt.env, tt.over)
		if got := pl.Graph.Node("bin").Outputs; len(got) != 1 || got[0] != tt.wantOutput {
			t.Errorf("%s: outputs %v, want %s", tt.name, got, tt.wantOutput)
		}
		p, err := pl.Plan([]string{"bin"})
		if err != nil {
			t.Fatal(err)
		}
		k := p.Step("bin").Key.String()
		if tt.sameKeyAs != "" {
			if keys[tt.sameKeyAs] != k {
				t.Errorf("%s: key differs from %s's", tt.name, tt.sameKeyAs)
			}
		} else {
			for other, ok := range keys {
				if ok == k && !(tt.name == "empty env counts as unset" && other == "default") {
					t.Errorf("%s: same key as %s", tt.name, other)
				}
			}
		}
		keys[tt.name] = k
	}

	_, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(nil), Vars: map[string]string{"gos": "x"}, Kinds: kinds.Descriptions()}, noCache{})
	if want := `--var gos: no var "gos" (did you mean "goos"?)`; err == nil || err.Error() != want {
		t.Errorf("unknown override: err = %v, want %q", err, want)
	}
}
