package config

import (
	"strconv"
	"strings"
	"testing"
)

// epochSpec is a kind with a source_date_epoch field, as image.build has.
type epochSpec struct {
	Dockerfile      string `toml:"dockerfile"`
	SourceDateEpoch string `toml:"source_date_epoch"`
}

type epochKind struct{}

func (epochKind) NewSpec() any      { return new(epochSpec) }
func (epochKind) Results() []string { return nil }

var epochKinds = map[string]KindInfo{"exec": kinds["exec"], "image.build": epochKind{}}

func TestSourceDateEpochSetting(t *testing.T) {
	const steps = `
[steps.img]
kind = "image.build"
[steps.own]
kind = "image.build"
source_date_epoch = "42"
[steps.bin]
kind = "exec"
run = "make"
`
	ref := "${var.settings.source_date_epoch}"
	tests := []struct {
		name     string
		setting  string // the line in [settings]; "" for none
		wantVar  string // the var's text; "-" for no var
		computed string // the computed var's command; "" for a plain var
		imgField string // img's source_date_epoch after Parse
	}{
		{"unset", "", "-", "", ""},
		{"seconds as a string", `source_date_epoch = "1700000000"`, "1700000000", "", ref},
		{"seconds as an integer", `source_date_epoch = 1700000000`, "1700000000", "", ref},
		{"zero", `source_date_epoch = 0`, "0", "", ref},
		{"git", `source_date_epoch = "git"`, "", GitCommitTimeSh, ref},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("bottle.toml", []byte("[settings]\n"+tt.setting+"\n"+steps), epochKinds)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := f.Vars[SourceDateEpochVar]
			switch {
			case tt.wantVar == "-" && ok:
				t.Errorf("var %s = %q, want none", SourceDateEpochVar, v)
			case tt.wantVar != "-" && (!ok || v != tt.wantVar):
				t.Errorf("var %s = %q (%v), want %q", SourceDateEpochVar, v, ok, tt.wantVar)
			}
			c, isComputed := f.Computed[SourceDateEpochVar]
			if isComputed != (tt.computed != "") || c.Sh != tt.computed {
				t.Errorf("computed = %+v (%v), want command %q", c, isComputed, tt.computed)
			}
			if tt.computed != "" && (c.Timeout != DefaultComputedTimeout || !strings.Contains(c.Hint, "git repository")) {
				t.Errorf("computed = %+v, want the default timeout and a hint", c)
			}
			if got := f.Step("img").Spec.(*epochSpec).SourceDateEpoch; got != tt.imgField {
				t.Errorf("img source_date_epoch = %q, want %q", got, tt.imgField)
			}
			if got := f.Step("own").Spec.(*epochSpec).SourceDateEpoch; got != "42" {
				t.Errorf("a step's own source_date_epoch = %q, want it kept: 42", got)
			}
			if tt.wantVar != "-" {
				if got, want := VarPlace(f, SourceDateEpochVar), "bottle.toml:2:1: settings.source_date_epoch"; got != want {
					t.Errorf("VarPlace = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestSourceDateEpochSettingErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"a word", "[settings]\nsource_date_epoch = \"yesterday\"\n",
			`bottle.toml:2:1: settings.source_date_epoch: want seconds since 1970 or "git", got "yesterday"`},
		{"empty", "[settings]\nsource_date_epoch = \"\"\n",
			`bottle.toml:2:1: settings.source_date_epoch: want seconds since 1970 or "git", got ""`},
		{"negative", "# c\n[settings]\njobs = 2\nsource_date_epoch = -1\n",
			`bottle.toml:4:1: settings.source_date_epoch: want seconds since 1970 or "git", got -1`},
		{"sign in a string", "[settings]\nsource_date_epoch = \"+17\"\n",
			`bottle.toml:2:1: settings.source_date_epoch: want seconds since 1970 or "git", got "+17"`},
		{"a date", "[settings]\nsource_date_epoch = 2023-11-14T22:13:20Z\n",
			`bottle.toml:2:1: settings.source_date_epoch: want seconds since 1970 or "git", got a date or time`},
		{"decimal", "[settings]\nsource_date_epoch = 1.5\n",
			`bottle.toml:2:1: settings.source_date_epoch: want seconds since 1970 or "git", got a decimal number`},
		{"too big", "[settings]\nsource_date_epoch = \"99999999999999999999\"\n",
			`bottle.toml:2:1: settings.source_date_epoch: want seconds since 1970 or "git", got "99999999999999999999"`},
		{"Git", "[settings]\nsource_date_epoch = \"Git\"\n",
			`bottle.toml:2:1: settings.source_date_epoch: want seconds since 1970 or "git", got "Git"`},
		{"misspelt", "[settings]\nsource_date_epoc = \"git\"\n",
			`bottle.toml:2:1: settings: unknown field "source_date_epoc" (did you mean "source_date_epoch"?)`},
		{"a var of that name cannot be declared", "[vars]\n\"settings.source_date_epoch\" = \"1\"\n",
			`vars.settings.source_date_epoch: bad var name "settings.source_date_epoch": use letters, digits and _, starting with a letter or _`},
		{"used without the setting", "[steps.a]\nkind = \"exec\"\nrun = \"echo ${var.settings.source_date_epoch}\"\n",
			`bottle.toml:3:1: steps.a.run: ${var.settings.source_date_epoch}: no var "settings.source_date_epoch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bottle.toml", []byte(tt.src), epochKinds)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if got := err.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("error =\n%s\nwant it to hold\n%s", got, tt.want)
			}
		})
	}
}

// The setting's var is a var like any other: [vars] and steps may use it,
// and a var that uses "git" comes from a command too.
func TestSourceDateEpochVarIsUsable(t *testing.T) {
	src := `[settings]
source_date_epoch = "git"
[vars]
stamp = "t=${var.settings.source_date_epoch}"
[steps.a]
kind = "exec"
run = "echo ${var.stamp}"
`
	f, err := Parse("bottle.toml", []byte(src), epochKinds)
	if err != nil {
		t.Fatal(err)
	}
	if got := ComputedDeps(f, nil, "stamp"); len(got) != 1 || got[0] != SourceDateEpochVar {
		t.Errorf("ComputedDeps(stamp) = %q, want [%s]", got, SourceDateEpochVar)
	}
	vals, _ := ResolveVars(f, nil, func(string) (string, bool) { return "", false }, map[string]string{SourceDateEpochVar: "1700000000"})
	if vals["stamp"] != "t=1700000000" {
		t.Errorf("stamp = %q, want t=1700000000", vals["stamp"])
	}
}

// --var settings.source_date_epoch=SECONDS replaces the setting, as --var
// does a var; anything but seconds is refused.
func TestSourceDateEpochOverride(t *testing.T) {
	f, err := Parse("bottle.toml", []byte("[settings]\nsource_date_epoch = \"git\"\n"), epochKinds)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckOverrides(f, map[string]string{SourceDateEpochVar: "0"}); err != nil {
		t.Error(err)
	}
	for _, v := range []string{"", "git", "yesterday", "-1"} {
		err := CheckOverrides(f, map[string]string{SourceDateEpochVar: v})
		if want := "--var settings.source_date_epoch: want seconds since 1970, got " + strconv.Quote(v); err == nil || err.Error() != want {
			t.Errorf("%q: err = %v, want %q", v, err, want)
		}
	}
	if ComputedDeps(f, map[string]string{SourceDateEpochVar: "0"}, SourceDateEpochVar) != nil {
		t.Error("an overridden setting still comes from git")
	}
}
