package config

import (
	"slices"
	"testing"
)

// Groups and settings.default: a group has only needs and description,
// stands for its members (transitively), and default names what exists.
func TestGroupsAndDefault(t *testing.T) {
	const steps = "[steps.lint]\nkind = \"exec\"\nrun = \"x\"\n\n[steps.test]\nkind = \"exec\"\nrun = \"y\"\n\n"
	for _, tt := range []struct {
		name, src string
		members   map[string][]string // want, when want is ""
		def       []string
		want      string // the whole error
	}{
		{name: "group", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"lint\", \"test\"]\ndescription = \"what CI runs\"\n",
			members: map[string][]string{"ci": {"lint", "test"}, "lint": nil}},
		{name: "nested", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"checks\", \"test\"]\n[steps.checks]\nkind = \"group\"\nneeds = [\"lint\", \"test\"]\n",
			members: map[string][]string{"ci": {"lint", "test"}, "checks": {"lint", "test"}}},
		{name: "default", src: "[settings]\ndefault = [\"ci\", \"lint\"]\n" + steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"test\"]\n",
			members: map[string][]string{"ci": {"test"}}, def: []string{"ci", "lint"}},
		{name: "step needs a group", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"lint\"]\n[steps.pkg]\nkind = \"exec\"\nrun = \"z\"\nneeds = [\"ci\"]\n",
			members: map[string][]string{"ci": {"lint"}}},
		{name: "default unknown", src: "[settings]\ndefault = [\"tset\"]\n" + steps,
			want: `bottle.toml:2:1: settings.default: no step or group "tset" (did you mean "test"?)`},
		{name: "default not a list", src: "[settings]\ndefault = \"test\"\n" + steps,
			want: `bottle.toml:2:1: settings.default: want a list of strings, got a string (write ["test"])`},
		{name: "group with run", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"lint\"]\nrun = \"true\"\n",
			want: `bottle.toml:12:1: steps.ci: a group has only needs and description, not "run": it runs nothing; put the work in a step and list that step in needs`},
		{name: "group with a near field", src: steps + "[steps.ci]\nkind = \"group\"\nneed = [\"lint\"]\n",
			want: "bottle.toml:9:1: steps.ci: a group needs at least one step: write needs = [\"STEP\", ...]\n" +
				`bottle.toml:11:1: steps.ci: a group has only needs and description, not "need" (did you mean "needs"?)`},
		{name: "group empty", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = []\n",
			want: `bottle.toml:11:1: steps.ci.needs: a group needs at least one step`},
		{name: "group needs unknown", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"lnit\"]\n",
			want: `bottle.toml:11:1: steps.ci.needs: no step "lnit" (did you mean "lint"?)`},
		{name: "group contains itself", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"ci\"]\n",
			want: `bottle.toml:11:1: steps.ci.needs: a group cannot contain itself`},
		{name: "groups contain each other", src: steps + "[steps.a]\nkind = \"group\"\nneeds = [\"b\"]\n[steps.b]\nkind = \"group\"\nneeds = [\"a\"]\n",
			want: `bottle.toml:11:1: steps.a.needs: groups contain each other: a -> b -> a`},
		{name: "group results", src: steps + "[steps.ci]\nkind = \"group\"\nneeds = [\"lint\"]\n[steps.pkg]\nkind = \"exec\"\nrun = \"${step.ci.outputs}\"\n",
			want: `bottle.toml:14:1: steps.pkg.run: ${step.ci.outputs}: ci is a group, which has no results: refer to one of its steps (lint)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("bottle.toml", []byte(tt.src), kinds)
			if tt.want != "" {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("error:\n%v\nwant:\n%s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.members {
				if got := f.Members(name); !slices.Equal(got, want) {
					t.Errorf("Members(%s) = %q, want %q", name, got, want)
				}
			}
			if !slices.Equal(f.Settings.Default, tt.def) {
				t.Errorf("default = %q, want %q", f.Settings.Default, tt.def)
			}
			for _, g := range f.Groups {
				if f.Step(g.Name) != nil {
					t.Errorf("group %s is also a step", g.Name)
				}
			}
		})
	}
}
