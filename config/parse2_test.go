package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseReportsErrorsOfEveryKind(t *testing.T) {
	// A decoding error in one step does not hide a bad reference or need
	// in another, and needing the broken step is not reported again.
	src := "[steps.a]\nkind = \"exce\"\n\n[steps.b]\nkind = \"exec\"\nrun = \"${var.nope}\"\nneeds = [\"a\", \"c\"]\n"
	_, err := Parse("bottle.toml", []byte(src), kinds)
	want := `bottle.toml:2:1: steps.a.kind: unknown kind "exce" (did you mean "exec"?) (kinds: exec, group, image.build)
bottle.toml:6:1: steps.b.run: ${var.nope}: no var "nope"
bottle.toml:7:1: steps.b.needs: no step "c" (did you mean "a"?)`
	if err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Pos != (Pos{2, 1}) {
		t.Errorf("errors.As *Error = %v", e)
	}
}

const orderSrc = `[steps.zeta]   # last by name, first in the file
kind = "exec"
run = "x"

[steps.alpha]
kind = "exec"
# a comment with kind = "nope" and [steps.fake]
inputs = [
  "a/*.go",  # ] not the end
  """b/[x]/*.go""",
]
run = """
[steps.inside]
outputs = 1
"""
outputs = ['o = [1]']

[steps.mid]
kind = "exec"
  argv = ["a",
    "b"]
`

func TestStepOrderAndPositions(t *testing.T) {
	for _, tt := range []struct{ name, src string }{
		{"fast", orderSrc},
		{"slow", strings.ReplaceAll(orderSrc, "\n", "\r\n")}, // CR LF line ends
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("bottle.toml", []byte(tt.src), kinds)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range f.Steps {
				names = append(names, s.Name)
			}
			if want := []string{"zeta", "alpha", "mid"}; !reflect.DeepEqual(names, want) {
				t.Fatalf("steps %v, want %v", names, want)
			}
			alpha, mid := f.Step("alpha"), f.Step("mid")
			want := map[string]Pos{"kind": {6, 1}, "inputs": {8, 1}, "run": {12, 1}, "outputs": {16, 1}}
			if !reflect.DeepEqual(alpha.FieldPos.Map(), want) {
				t.Errorf("alpha FieldPos = %v, want %v", alpha.FieldPos.Map(), want)
			}
			if alpha.Pos != (Pos{5, 1}) || mid.FieldPos.Map()["argv"] != (Pos{20, 3}) || mid.FieldPosOr("outputs") != (Pos{18, 1}) {
				t.Errorf("alpha at %v, mid.argv at %v, mid.outputs at %v", alpha.Pos, mid.FieldPos.Map()["argv"], mid.FieldPosOr("outputs"))
			}
			if f.Step("inside") != nil || f.Step("fake") != nil {
				t.Error("found a step that is not there")
			}
		})
	}
}

func TestExpandSpecKeepsUnexported(t *testing.T) {
	type spec struct {
		Run    string `toml:"run"`
		hidden string
	}
	s := &spec{Run: "${var.x}", hidden: "h"}
	out, err := ExpandSpec(s, func(Ref) (string, error) { return "v", nil })
	if err != nil {
		t.Fatal(err)
	}
	if o := out.(*spec); o.Run != "v" || o.hidden != "h" {
		t.Errorf("expanded = %+v", o)
	}
	if _, err := ExpandSpec(spec{}, nil); err == nil {
		t.Error("ExpandSpec of a struct, not a pointer: no error")
	}
	refs, err := SpecRefs(s)
	if err != nil || len(refs) != 1 || len(refs["run"]) != 1 {
		t.Errorf("SpecRefs = %v, %v", refs, err)
	}
}
