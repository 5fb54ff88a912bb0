package graph

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/steps"
)

type runnerSpec struct {
	Runner string `toml:"runner"`
}

// runnerKind runs a program of the host on its own, named by its runner
// field (default "runner"), as pack runs smolvm.
type runnerKind struct{}

func (runnerKind) Name() string                 { return "runs" }
func (runnerKind) Version() int                 { return 1 }
func (runnerKind) Effect() string               { return "" }
func (runnerKind) NewSpec() any                 { return new(runnerSpec) }
func (runnerKind) Results() []string            { return []string{"out"} }
func (runnerKind) Outputs(string, any) []string { return nil }
func (runnerKind) Programs(spec any) []steps.Program {
	bin := spec.(*runnerSpec).Runner
	if bin == "" {
		bin = "runner"
	}
	return []steps.Program{{Name: bin, Field: "runner", Help: "install runner or name it in the step's runner field"}}
}

var runnerKinds = map[string]steps.Kind{"runs": runnerKind{}, "plain": plainKind{}}

// planWith loads and plans the workspace at root with the given kinds and
// PATH.
func planWith(t *testing.T, root string, ks map[string]steps.Kind, path string) (*Plan, error) {
	t.Helper()
	pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(map[string]string{"PATH": path}), Kinds: ks}, noCache{})
	if err != nil {
		return nil, err
	}
	return pl.Plan(nil)
}

// writeProgram puts an executable file named name with content in dir.
func writeProgram(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func toolLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "tool ") {
			out = append(out, l)
		}
	}
	return out
}

// TestProgramsEnterTheKey: a program a kind runs on its own enters the key
// as a tool line with its binary's digest, found on PATH (or relative to
// the workspace, or absolute, as the kind runs it), once when the step also
// lists it in tools.
func TestProgramsEnterTheKey(t *testing.T) {
	bin := t.TempDir()
	writeProgram(t, bin, "runner", "#!/bin/sh\n# v1\n")
	writeProgram(t, bin, "other", "#!/bin/sh\n# other\n")
	v1 := cache.SumString("#!/bin/sh\n# v1\n")
	other := cache.SumString("#!/bin/sh\n# other\n")
	local := cache.SumString("#!/bin/sh\n# local\n")
	tests := []struct {
		name   string
		fields string
		want   []string
	}{
		{"default program on PATH", ``, []string{"tool runner " + v1.String()}},
		{"named in the field", `runner = "other"`, []string{"tool other " + other.String()}},
		{"absolute path", `runner = "` + filepath.Join(bin, "other") + `"`, []string{"tool " + filepath.Join(bin, "other") + " " + other.String()}},
		{"relative to the workspace", `runner = "./tools/runner"`, []string{"tool ./tools/runner " + local.String()}},
		{"also in tools", `tools = ["runner"]`, []string{"tool runner " + v1.String()}},
		{"beside other tools", `tools = ["other"]`, []string{"tool other " + other.String(), "tool runner " + v1.String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				"bottle.toml":  "[steps.s]\nkind = \"runs\"\n" + tt.fields + "\n",
				"tools/runner": "#!/bin/sh\n# local\n",
			})
			os.Chmod(filepath.Join(root, "tools", "runner"), 0o755)
			p, err := planWith(t, root, runnerKinds, bin)
			if err != nil {
				t.Fatal(err)
			}
			if got := toolLines(p.Step("s").KeyLines()); !slices.Equal(got, tt.want) {
				t.Errorf("tool lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestProgramChangeChangesTheKey: a new build of the program (a smolvm
// upgrade) changes the key of every step that runs it, and explain says so.
func TestProgramChangeChangesTheKey(t *testing.T) {
	bin := t.TempDir()
	root := writeTree(t, map[string]string{"bottle.toml": "[steps.s]\nkind = \"runs\"\n\n[steps.p]\nkind = \"plain\"\n"})
	writeProgram(t, bin, "runner", "#!/bin/sh\n# v1\n")
	before, err := planWith(t, root, runnerKinds, bin)
	if err != nil {
		t.Fatal(err)
	}
	writeProgram(t, bin, "runner", "#!/bin/sh\n# v2\n")
	after, err := planWith(t, root, runnerKinds, bin)
	if err != nil {
		t.Fatal(err)
	}
	if before.Step("s").Key == after.Step("s").Key {
		t.Errorf("the key of a step that runs the program did not change")
	}
	if before.Step("p").Key != after.Step("p").Key {
		t.Errorf("the key of a step that does not run the program changed")
	}
	cs := DiffKeyLines(before.Step("s").KeyLines(), after.Step("s").KeyLines())
	if len(cs) != 1 || cs[0].String() != "tool runner changed" {
		t.Errorf("changes = %v, want [tool runner changed]", cs)
	}
}

// TestMissingProgramIsAPlanError: a program the kind runs that is not on
// PATH fails the plan, before anything runs, naming the place, the step,
// the program and how to get it. A step not planned does not need it.
func TestMissingProgramIsAPlanError(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name, config string
		want         string
	}{
		{"default", "[steps.s]\nkind = \"runs\"\n",
			"bottle.toml:1:1: steps.s.runner: a runs step runs runner, which is not on PATH: install runner or name it in the step's runner field"},
		{"named", "[steps.s]\nkind = \"runs\"\nrunner = \"nope\"\n",
			"bottle.toml:3:1: steps.s.runner: a runs step runs nope, which is not on PATH: install runner"},
		{"absolute", "[steps.s]\nkind = \"runs\"\nrunner = \"/no/such/runner\"\n",
			"bottle.toml:3:1: steps.s.runner: a runs step cannot run /no/such/runner: not found or not executable; install runner"},
		{"from a result", "[steps.p]\nkind = \"runs\"\nrunner = \"/bin/sh\"\n[steps.s]\nkind = \"runs\"\nrunner = \"${step.p.out}\"\n",
			"steps.s.runner: the program a step runs cannot come from another step's results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{"bottle.toml": tt.config})
			t.Chdir(root)
			_, err := planWith(t, root, runnerKinds, empty)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestSmolvmEntersTheKey: pack and machine.create run smolvm, so its binary
// is in their keys; exec steps are not affected.
func TestSmolvmEntersTheKey(t *testing.T) {
	bin := t.TempDir()
	writeProgram(t, bin, "smolvm", "#!/bin/sh\n")
	root := writeTree(t, map[string]string{"bottle.toml": `
[steps.pack]
kind = "pack"
image = "127.0.0.1:5000/app:dev"
output = "build/app"

[steps.vm]
kind = "machine.create"
name = "app"
from = "build/app.smolmachine"
needs = ["pack"]

[steps.gen]
kind = "exec"
run = "true"
`})
	p, err := planWith(t, root, kinds.Descriptions(), bin)
	if err != nil {
		t.Fatal(err)
	}
	want := "tool smolvm " + cache.SumString("#!/bin/sh\n").String()
	if got := toolLines(p.Step("pack").KeyLines()); !slices.Equal(got, []string{want}) {
		t.Errorf("pack's tool lines = %q, want %q", got, want)
	}
	if got := toolLines(p.Step("gen").KeyLines()); len(got) != 0 {
		t.Errorf("exec's tool lines = %q, want none", got)
	}
	if len(p.Step("vm").Node.Programs) != 1 || p.Step("vm").Node.Programs[0].Name != "smolvm" {
		t.Errorf("machine.create runs %v, want smolvm", p.Step("vm").Node.Programs)
	}
}
