package graph

import (
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/kinds"
)

const groupSteps = `
[steps.lint]
kind = "exec"
run = "echo lint"

[steps.test]
kind = "exec"
run = "echo test"

[steps.other]
kind = "exec"
run = "echo other"
`

const groupDecl = `
[steps.checks]
kind = "group"
needs = ["lint"]

[steps.ci]
kind = "group"
needs = ["checks", "test"]

[steps.pkg]
kind = "exec"
run = "echo pkg"
needs = ["ci"]
`

// TestGroupNeeds: a need on a group is a need on each of its members,
// through nested groups; their results enter the needing step's key;
// naming a group resolves its members; a group is never a step.
func TestGroupNeeds(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": groupSteps + groupDecl})
	g, err := Load(LoadOptions{Root: root, Kinds: kinds.Descriptions()})
	if err != nil {
		t.Fatal(err)
	}
	if g.Node("ci") != nil || g.Node("checks") != nil {
		t.Fatal("a group became a step")
	}
	names := func(ns []*Node) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Name)
		}
		return out
	}
	if got := names(g.Node("pkg").Needs); !slices.Equal(got, []string{"lint", "test"}) {
		t.Errorf("pkg needs %q, want lint and test", got)
	}
	for _, tt := range []struct {
		targets []string
		want    []string
	}{
		{[]string{"ci"}, []string{"lint", "test"}},
		{[]string{"checks"}, []string{"lint"}},
		{[]string{"pkg"}, []string{"lint", "test", "pkg"}},
		{[]string{"ci", "test"}, []string{"lint", "test"}},
	} {
		order, err := g.Resolve(tt.targets, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(order); !slices.Equal(got, tt.want) {
			t.Errorf("Resolve(%q) = %q, want %q", tt.targets, got, tt.want)
		}
	}
	if _, err := g.Resolve([]string{"cj"}, nil); err == nil || !strings.Contains(err.Error(), `(did you mean "ci"?)`) {
		t.Errorf("Resolve(cj) = %v, want a suggestion of the group", err)
	}

	// The members' results are in pkg's key, and a new result of one
	// changes it.
	pkg := g.Node("pkg")
	key := func(lint string) []string {
		result := map[string]cache.Digest{"lint": cache.SumBytes([]byte(lint)), "test": cache.SumBytes([]byte("t"))}
		deps := make([]cache.Digest, len(pkg.Needs))
		for i, d := range pkg.Needs {
			deps[i] = result[d.Name]
		}
		lines, err := pkg.KeyLines(&KeyInput{Deps: deps, Env: mapEnv(nil)})
		if err != nil {
			t.Fatal(err)
		}
		return lines
	}
	a, b := key("one"), key("two")
	var deps []string
	for _, l := range a {
		if strings.HasPrefix(l, "dep ") {
			deps = append(deps, strings.Fields(l)[1])
		}
	}
	if !slices.Equal(deps, []string{"lint", "test"}) {
		t.Errorf("pkg's key deps = %q, want lint and test", deps)
	}
	if slices.Equal(a, b) {
		t.Error("a new result of lint left pkg's key alone")
	}
}

// TestGroupsLeaveOtherKeys: declaring groups (and a step needing one)
// changes the key of no step that does not need a group.
func TestGroupsLeaveOtherKeys(t *testing.T) {
	keys := func(src string) map[string]string {
		p := planIn(t, writeTree(t, map[string]string{"bottle.toml": src}), nil)
		out := map[string]string{}
		for _, s := range p.Steps {
			out[s.Node.Name] = strings.Join(s.KeyLines(), "\n")
		}
		return out
	}
	without, with := keys(groupSteps), keys(groupSteps+groupDecl)
	for _, name := range []string{"lint", "test", "other"} {
		if without[name] == "" || without[name] != with[name] {
			t.Errorf("%s's key changed with groups declared:\n%s\nvs\n%s", name, without[name], with[name])
		}
	}
	if _, ok := with["ci"]; ok {
		t.Error("the plan has a step for the group ci")
	}
}
