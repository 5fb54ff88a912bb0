package graph

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/kinds"
)

const computedConfig = `
[vars]
version = { sh = "describe" }
tag = "fzf-${var.version}"
commit = { sh = "rev-parse" }
broken = { sh = "fail" }

[steps.bin]
kind = "exec"
run = "go build -ldflags=-X=main.version=${var.version} -o out/fzf"
outputs = ["out/fzf"]

[steps.pkg]
kind = "exec"
needs = ["bin"]
run = "tar czf out/${var.tag}.tgz out/fzf"
outputs = ["out/${var.tag}.tgz"]

[steps.lint]
kind = "exec"
run = "echo lint"

[steps.stamp]
kind = "exec"
run = "echo ${var.commit}"
environment = { COMMIT = "${var.commit}" }

[steps.bad]
kind = "exec"
run = "echo ${var.broken}"
`

// fakeCommands answers computed vars' commands from a table and counts
// the runs.
type fakeCommands struct {
	out  map[string]string
	runs map[string]int
}

func (f *fakeCommands) run(dir, command string, timeout time.Duration) (string, error) {
	f.runs[command]++
	if command == "fail" {
		return "", errors.New("exit status 128: fatal: No names found")
	}
	return f.out[command] + "\n", nil
}

func loadComputed(t *testing.T, root string, f *fakeCommands, overrides map[string]string) *Planner {
	t.Helper()
	pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(nil), Vars: overrides, VarCommand: f.run, Kinds: kinds.Descriptions()}, noCache{})
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// A computed var runs once per plan, only when a step being planned uses
// it or a step's paths do, and its value is trimmed.
func TestComputedRunsOnlyWhenUsed(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": computedConfig})
	tests := []struct {
		targets  []string
		runs     map[string]int
		computed map[string]string // Plan.Computed
		err      string
	}{
		// pkg's output path uses version (through tag): every plan needs it.
		{[]string{"lint"}, map[string]int{"describe": 1}, nil, ""},
		{[]string{"bin"}, map[string]int{"describe": 1}, map[string]string{"version": "v1.2.0"}, ""},
		{[]string{"pkg"}, map[string]int{"describe": 1}, map[string]string{"version": "v1.2.0"}, ""},
		{[]string{"stamp", "bin"}, map[string]int{"describe": 1, "rev-parse": 1}, map[string]string{"version": "v1.2.0", "commit": "abc123"}, ""},
		{[]string{"bad"}, map[string]int{"describe": 1, "fail": 1}, nil,
			"bottle.toml:6:1: vars.broken: computing ${var.broken}: `fail`: exit status 128: fatal: No names found"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.targets, ","), func(t *testing.T) {
			f := &fakeCommands{out: map[string]string{"describe": "v1.2.0", "rev-parse": "abc123"}, runs: map[string]int{}}
			pl := loadComputed(t, root, f, nil)
			p, err := pl.Plan(tt.targets)
			if tt.err != "" {
				if err == nil || !strings.HasSuffix(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !equalMaps(p.Computed, tt.computed) {
				t.Errorf("Plan.Computed = %v, want %v", p.Computed, tt.computed)
			}
			if !equalMaps(f.runs, tt.runs) {
				t.Errorf("runs = %v, want %v", f.runs, tt.runs)
			}
			if got := pl.Graph.Node("pkg").Outputs; len(got) != 1 || got[0] != "out/fzf-v1.2.0.tgz" {
				t.Errorf("pkg outputs = %v", got)
			}
		})
	}
}

// A new value changes exactly the keys of the steps that use the var, as
// a "var" line; --var replaces the command, which then does not run.
func TestComputedInKeys(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": computedConfig})
	keys := func(version string, overrides map[string]string) (map[string]string, *fakeCommands) {
		f := &fakeCommands{out: map[string]string{"describe": version, "rev-parse": "abc"}, runs: map[string]int{}}
		pl := loadComputed(t, root, f, overrides)
		p, err := pl.Plan([]string{"bin", "lint", "stamp"})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, sp := range p.Steps {
			m[sp.Node.Name] = sp.Key.String()
		}
		// A computed value enters as a digest line, never as text.
		lines := strings.Join(p.Step("bin").KeyLines(), "\n")
		if overrides == nil && (!strings.Contains(lines, "\nvar version ") || strings.Contains(lines, version)) {
			t.Errorf("bin's key lines hold no digest line for version, or hold its value:\n%s", lines)
		}
		return m, f
	}
	a, _ := keys("v1.0.0", nil)
	b, _ := keys("v1.1.0", nil)
	if a["bin"] == b["bin"] {
		t.Error("a new version left bin's key alone")
	}
	if a["lint"] != b["lint"] || a["stamp"] != b["stamp"] {
		t.Error("a new version changed the key of a step that does not use it")
	}
	c, f := keys("v1.1.0", map[string]string{"version": "v9"})
	if f.runs["describe"] != 0 {
		t.Errorf("describe ran %d times with --var version", f.runs["describe"])
	}
	if c["bin"] == b["bin"] {
		t.Error("--var version left bin's key alone")
	}
}

// A computed value is outside the config: in a shell command it is one
// quoted word, never syntax, and a var that uses it is too.
func TestComputedIsQuoted(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": computedConfig})
	f := &fakeCommands{out: map[string]string{"describe": "v1 $(touch PWNED); x", "rev-parse": "abc"}, runs: map[string]int{}}
	pl := loadComputed(t, root, f, nil)
	p, err := pl.Plan([]string{"pkg"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"bin": `go build -ldflags=-X=main.version='v1 $(touch PWNED); x' -o out/fzf`,
		"pkg": `tar czf out/'fzf-v1 $(touch PWNED); x'.tgz out/fzf`,
	} {
		spec, err := pl.ExpandSpec(p.Step(name).Node, func(string, string) (string, error) { return "", nil })
		if err != nil {
			t.Fatal(err)
		}
		if got := spec.(*kinds.ExecSpec).Run; got != want {
			t.Errorf("%s: run = %s, want %s", name, got, want)
		}
	}
	// In single quotes it could not be quoted: a load error.
	root2 := writeTree(t, map[string]string{"bottle.toml": `
[vars]
v = { sh = "describe" }
[steps.a]
kind = "exec"
run = "echo '${var.v}'"
`})
	_, err = newPlanner(t, LoadOptions{Root: root2, Getenv: mapEnv(nil), VarCommand: f.run, Kinds: kinds.Descriptions()}, noCache{})
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "steps.a.run: ${var.v} stands inside single quotes") {
		t.Errorf("err = %v", err)
	}
}

// A saved plan records the computed values; another value makes it stale.
func TestComputedStalePlan(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": computedConfig})
	plan := func(version string) *PlanJSON {
		f := &fakeCommands{out: map[string]string{"describe": version}, runs: map[string]int{}}
		pl := loadComputed(t, root, f, nil)
		p, err := pl.Plan([]string{"bin"})
		if err != nil {
			t.Fatal(err)
		}
		return p.JSON(pl.Graph, true)
	}
	saved := plan("v1.0.0")
	if saved.Computed["version"] != "v1.0.0" {
		t.Fatalf("saved plan computed = %v", saved.Computed)
	}
	if err := CheckSaved(saved, plan("v1.0.0")); err != nil {
		t.Errorf("same value: %v", err)
	}
	err := CheckSaved(saved, plan("v1.1.0"))
	want := `saved plan is stale: var version: its command printed "v1.0.0" when the plan was made, "v1.1.0" now; run 'bottle plan' again`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func equalMaps[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A computed var used only in environment enters the key too, and the
// command gets its value.
func TestComputedInEnvironment(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": `
[vars]
commit = { sh = "rev-parse" }
[steps.stamp]
kind = "exec"
environment = { COMMIT = "${var.commit}" }
run = "echo $COMMIT"
`})
	plan := func(commit string) (*Planner, *StepPlan) {
		f := &fakeCommands{out: map[string]string{"rev-parse": commit}, runs: map[string]int{}}
		pl := loadComputed(t, root, f, nil)
		p, err := pl.Plan([]string{"stamp"})
		if err != nil {
			t.Fatal(err)
		}
		return pl, p.Step("stamp")
	}
	pl, a := plan("abc")
	_, b := plan("def")
	if a.Key == b.Key {
		t.Error("a new commit left the key of a step using it in environment alone")
	}
	env, err := a.Node.Environment(pl.Graph.Vars)
	if err != nil || len(env) != 1 || env[0] != "COMMIT=abc" {
		t.Errorf("environment = %q, %v; want COMMIT=abc", env, err)
	}
}
