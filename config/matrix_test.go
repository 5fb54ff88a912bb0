package config

import (
	"slices"
	"strings"
	"testing"
)

const crossSrc = `[steps.cross]
kind = "exec"
matrix = { goos = ["linux", "darwin"], goarch = ["amd64", "arm64"] }
inputs = ["src/${matrix.goos}/*.go"]
env = ["GO_${matrix.goarch}"]
environment = { GOARCH = "${matrix.goarch}" }
description = "build for ${matrix.goos}/${matrix.goarch}"
run = "GOOS=${matrix.goos} GOARCH=${matrix.goarch} go build -o dist/app-${matrix.goos}-${matrix.goarch} $${matrix.goos}"
outputs = ["dist/app-${matrix.goos}-${matrix.goarch}"]

[steps.package]
kind = "exec"
matrix.goarch = ["arm64", "amd64"]
needs = ["cross"]
run = "tar cf dist/pkg-${matrix.goarch}.tar ${step.cross[linux,${matrix.goarch}].outputs}"
outputs = ["dist/pkg-${matrix.goarch}.tar"]

[steps.notes]
kind = "exec"
run = "cat ${step.package[amd64].outputs}"
`

// TestMatrixExpand: a matrix step becomes one step per combination, first
// key outermost, in the order the keys are written, with ${matrix.KEY}
// replaced in every string and $${ kept literal.
func TestMatrixExpand(t *testing.T) {
	f, err := Parse("bottle.toml", []byte(crossSrc), kinds)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range f.Steps {
		names = append(names, s.Name)
	}
	want := []string{"cross[linux,amd64]", "cross[linux,arm64]", "cross[darwin,amd64]", "cross[darwin,arm64]", "package[arm64]", "package[amd64]", "notes"}
	if !slices.Equal(names, want) {
		t.Fatalf("steps = %q, want %q", names, want)
	}
	c := f.Step("cross[darwin,arm64]")
	if m := c.Matrix; m == nil || m.Base != "cross" || !slices.Equal(m.Keys, []string{"goos", "goarch"}) || !slices.Equal(m.Values, []string{"darwin", "arm64"}) {
		t.Fatalf("matrix = %+v", c.Matrix)
	}
	spec := c.Spec.(*fakeSpec)
	for _, tt := range []struct{ what, got, want string }{
		{"run", spec.Run, "GOOS=darwin GOARCH=arm64 go build -o dist/app-darwin-arm64 $${matrix.goos}"},
		{"outputs", strings.Join(spec.Outputs, " "), "dist/app-darwin-arm64"},
		{"inputs", strings.Join(c.Inputs, " "), "src/darwin/*.go"},
		{"env", strings.Join(c.Env, " "), "GO_arm64"},
		{"environment", c.Environment["GOARCH"], "arm64"},
		{"description", c.Description, "build for darwin/arm64"},
		{"package run", f.Step("package[amd64]").Spec.(*fakeSpec).Run, "tar cf dist/pkg-amd64.tar ${step.cross[linux,amd64].outputs}"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.what, tt.got, tt.want)
		}
	}
	if c.Pos != (Pos{1, 1}) || c.FieldPos.Map()["run"] != (Pos{8, 1}) {
		t.Errorf("instance at %v, run at %v: want the step as written", c.Pos, c.FieldPos.Map()["run"])
	}
	if f.Step("notes").Matrix != nil {
		t.Error("a step without matrix has one")
	}
}

// TestMatrixSelect: a name means a step, an instance, every instance, or a
// group's members; a need from an instance pairs on the shared keys.
func TestMatrixSelect(t *testing.T) {
	src := crossSrc + "[steps.ci]\nkind = \"group\"\nneeds = [\"cross\", \"notes\"]\n"
	f, err := Parse("bottle.toml", []byte(src), kinds)
	if err != nil {
		t.Fatal(err)
	}
	allCross := []string{"cross[linux,amd64]", "cross[linux,arm64]", "cross[darwin,amd64]", "cross[darwin,arm64]"}
	for _, tt := range []struct {
		from, name string
		want       []string
		err        string
	}{
		{name: "cross", want: allCross},
		{name: "cross[darwin,amd64]", want: []string{"cross[darwin,amd64]"}},
		{name: "notes", want: []string{"notes"}},
		{name: "ci", want: append(slices.Clone(allCross), "notes")},
		{from: "package[arm64]", name: "cross", want: []string{"cross[linux,arm64]", "cross[darwin,arm64]"}},
		{from: "package[amd64]", name: "ci", want: []string{"cross[linux,amd64]", "cross[darwin,amd64]", "notes"}},
		{from: "notes", name: "package", want: []string{"package[arm64]", "package[amd64]"}},
		{from: "cross[linux,arm64]", name: "package", want: []string{"package[arm64]"}},
		{name: "cross[arm64]", err: `no instance "cross[arm64]": give one value per key of cross's matrix (goos, goarch), e.g. cross[linux,amd64]; its instances: cross[linux,amd64], cross[linux,arm64], cross[darwin,amd64], cross[darwin,arm64]`},
		{name: "cross[amd64,linux]", err: `no instance "cross[amd64,linux]"; its instances: cross[linux,amd64], cross[linux,arm64], cross[darwin,amd64], cross[darwin,arm64]`},
		{name: "cross[linux,amd46]", err: `no instance "cross[linux,amd46]" (did you mean "cross[linux,amd64]"?); its instances: cross[linux,amd64], cross[linux,arm64], cross[darwin,amd64], cross[darwin,arm64]`},
		{name: "notes[x]", err: `step notes has no matrix: name it notes`},
		{name: "crss", err: `no step "crss" (did you mean "cross"?)`},
	} {
		t.Run(tt.from+" "+tt.name, func(t *testing.T) {
			var from *Step
			if tt.from != "" {
				from = f.Step(tt.from)
			}
			got, err := f.Needed(from, tt.name)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestMatrixErrors: every problem with a matrix, its values, its
// references and names of instances is a load error with its place.
func TestMatrixErrors(t *testing.T) {
	const head = "[steps.cross]\nkind = \"exec\"\n"
	for _, tt := range []struct{ name, src, want string }{
		{"empty table", head + "matrix = {}\nrun = \"x\"\n",
			`bottle.toml:3:1: steps.cross.matrix: an empty matrix makes no step: give each key its values, e.g. { goarch = ["amd64", "arm64"] }`},
		{"not a table", head + "matrix = [\"a\"]\nrun = \"x\"\n",
			`bottle.toml:3:1: steps.cross.matrix: want a table of value lists, e.g. { goarch = ["amd64", "arm64"] }, got a list`},
		{"empty list", head + "matrix = { goarch = [] }\nrun = \"x\"\n",
			`bottle.toml:3:1: steps.cross.matrix.goarch: an empty list makes no step: give at least one value`},
		{"a string", head + "matrix = { goarch = \"amd64\" }\nrun = \"x\"\n",
			`bottle.toml:3:1: steps.cross.matrix.goarch: want a list of values, got a string (write ["amd64"])`},
		{"duplicate", head + "run = \"x\"\n[steps.cross.matrix]\ngoarch = [\"amd64\", \"arm64\", \"amd64\"]\n",
			`bottle.toml:5:1: steps.cross.matrix.goarch: "amd64" is listed twice`},
		{"not a string", head + "run = \"x\"\n[steps.cross.matrix]\ngoos = [\"linux\"]\ngoarch = [1]\n",
			`bottle.toml:6:1: steps.cross.matrix.goarch: item 1: want a string, got a number`},
		{"bad character", head + "matrix = { goarch = [\"arm/64\"] }\nrun = \"x\"\n",
			`bottle.toml:3:1: steps.cross.matrix.goarch: item 1: bad value "arm/64": use letters, digits, '.', '_' and '-' (a value becomes part of the step's name)`},
		{"bad key", head + "matrix = { \"go-arch\" = [\"a\"] }\nrun = \"x\"\n",
			`bottle.toml:3:1: steps.cross.matrix.go-arch: bad matrix key "go-arch": use letters, digits and _, starting with a letter or _`},
		{"too many", head + "run = \"x\"\n[steps.cross.matrix]\na = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"]\nb = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"]\nc = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\"]\nd = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]\n",
			`bottle.toml:4:1: steps.cross.matrix: the matrix makes more than 4096 steps: split it`},
		{"unknown key", head + "matrix = { goarch = [\"amd64\", \"arm64\"] }\nrun = \"GOARCH=${matrix.goarc} go build\"\n",
			`bottle.toml:4:1: steps.cross.run: ${matrix.goarc}: no matrix key "goarc" (did you mean "goarch"?) (keys: goarch)`},
		{"no matrix", "[steps.a]\nkind = \"exec\"\nrun = \"echo ${matrix.goarch}\"\n",
			`bottle.toml:3:1: steps.a.run: ${matrix.goarch}: this step has no matrix: add one, e.g. matrix = { goarch = ["a", "b"] }`},
		{"in vars", "[vars]\nv = \"${matrix.goarch}\"\n",
			`bottle.toml:2:1: vars.v: ${matrix.goarch}: a var cannot use a matrix value: only a step with matrix has one`},
		{"unknown field", head + "matrx = { goarch = [\"a\"] }\nrun = \"x\"\n",
			`bottle.toml:3:1: steps.cross: unknown field "matrx" (did you mean "matrix"?)`},
		{"group", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n[steps.ci]\nkind = \"group\"\nneeds = [\"a\"]\nmatrix = { k = [\"v\"] }\n",
			`bottle.toml:7:1: steps.ci: a group has only needs and description, not "matrix": it runs nothing; put the work in a step and list that step in needs`},
		{"one instance only", head + "matrix = { goos = [\"linux\", \"darwin\"] }\nneeds = [\"b-${matrix.goos}\"]\nrun = \"x\"\n[steps.b-linux]\nkind = \"exec\"\nrun = \"y\"\n",
			`bottle.toml:4:1: steps.cross[darwin].needs: no step "b-darwin"`},
		{"need an unknown instance", head + "matrix = { goarch = [\"amd64\", \"arm64\"] }\nrun = \"x\"\n[steps.b]\nkind = \"exec\"\nrun = \"y\"\nneeds = [\"cross[arm46]\"]\n",
			`bottle.toml:8:1: steps.b.needs: no instance "cross[arm46]" (did you mean "cross[arm64]"?); its instances: cross[amd64], cross[arm64]`},
		{"need an instance of a plain step", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n[steps.b]\nkind = \"exec\"\nrun = \"y\"\nneeds = [\"a[x]\"]\n",
			`bottle.toml:7:1: steps.b.needs: step a has no matrix: name it a`},
		{"default instance", "[settings]\ndefault = [\"cross[riscv]\"]\n" + head + "matrix = { goarch = [\"amd64\"] }\nrun = \"x\"\n",
			`bottle.toml:2:1: settings.default: no instance "cross[riscv]"; its instances: cross[amd64]`},
		{"ref to all instances", head + "matrix = { goarch = [\"amd64\", \"arm64\"] }\nrun = \"x\"\noutputs = [\"o-${matrix.goarch}\"]\n[steps.b]\nkind = \"exec\"\nrun = \"cat ${step.cross.outputs}\"\n",
			`bottle.toml:8:1: steps.b.run: ${step.cross.outputs}: cross is a matrix step of 2 instances: name one, e.g. ${step.cross[amd64].outputs}`},
		{"ref pairs with two", head + "matrix = { goos = [\"linux\", \"darwin\"], goarch = [\"amd64\", \"arm64\"] }\nrun = \"x\"\n[steps.pkg]\nkind = \"exec\"\nmatrix = { goarch = [\"amd64\"] }\nrun = \"cat ${step.cross.outputs}\"\n",
			`bottle.toml:8:1: steps.pkg.run: ${step.cross.outputs}: 2 instances of cross have this step's goarch: name one, e.g. ${step.cross[linux,amd64].outputs}`},
		{"pairs with none", head + "matrix = { goarch = [\"amd64\"] }\nrun = \"x\"\n[steps.pkg]\nkind = \"exec\"\nmatrix = { goarch = [\"amd64\", \"riscv64\"] }\nneeds = [\"cross\"]\nrun = \"y\"\n",
			`bottle.toml:8:1: steps.pkg[riscv64].needs: no instance of cross has goarch = riscv64`},
		{"own results", head + "matrix = { goarch = [\"amd64\"] }\nrun = \"${step.cross.outputs}\"\n",
			`bottle.toml:4:1: steps.cross.run: ${step.cross[amd64].outputs}: a step cannot use its own results`},
		{"needs itself", head + "matrix = { goarch = [\"amd64\", \"arm64\"] }\nrun = \"x\"\nneeds = [\"cross\"]\n",
			`bottle.toml:5:1: steps.cross.needs: a step cannot need itself`},
		{"bad ref to instance", "[steps.a]\nkind = \"exec\"\nrun = \"${step.b[x/y].outputs}\"\n",
			`bottle.toml:3:1: steps.a.run: bad reference "${step.b[x/y].outputs}": want ${step.NAME.FIELD} or, for one instance of a matrix step, ${step.NAME[v1,...].FIELD}`},
		{"step named like an instance", "[steps.\"a[x]\"]\nkind = \"exec\"\nrun = \"x\"\n",
			`bottle.toml:1:1: steps: bad step name "a[x]": use lowercase letters, digits, _ and -, starting with a letter`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bottle.toml", []byte(tt.src), kinds)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}
