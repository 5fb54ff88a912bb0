package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fakeSpec is a kind's own fields, for tests.
type fakeSpec struct {
	Run        string            `toml:"run"`
	Argv       []string          `toml:"argv"`
	Outputs    []string          `toml:"outputs"`
	Dockerfile string            `toml:"dockerfile"`
	Tags       []string          `toml:"tags"`
	BuildArgs  map[string]string `toml:"build_args"`
	Insecure   bool              `toml:"insecure"`
	Cpus       int               `toml:"cpus"`
}

func (s *fakeSpec) Check() error {
	if s.Run == "" && len(s.Argv) == 0 && s.Dockerfile == "" {
		return &FieldError{Field: "run", Msg: "give run or argv"}
	}
	return nil
}

type fakeKind struct{ results []string }

func (k fakeKind) NewSpec() any      { return new(fakeSpec) }
func (k fakeKind) Results() []string { return k.results }

var kinds = map[string]KindInfo{
	"exec":        fakeKind{[]string{"outputs"}},
	"image.build": fakeKind{[]string{"image_id"}},
}

const goodSrc = `# a comment
[settings]
cache_dir = "/tmp/c"
jobs = 3

[vars]
image = "agent"

[steps.bin]
kind = "exec"
inputs = [
  "cmd/**/*.go",   # a comment with = and [ in it
  "!**/*_test.go",
  "?gen/*.go",
]
env = ["GOFLAGS"]
tools = ["go"]
run = """
go build -o build/${var.image} \
  ./cmd/agent"""
outputs = ["build/${var.image}"]
timeout = "10m"
description = "compile"

[steps.build]
kind = "image.build"
dockerfile = "Dockerfile"
tags = ["${var.image}:dev", "${step.bin.outputs}"]
build_args = { VERSION = "1.0", HOME = "${env.HOME}" }
needs = ["bin"]
always = true
cpus = 2
insecure = true
`

func TestParseGood(t *testing.T) {
	f, err := Parse("bottle.toml", []byte(goodSrc), kinds)
	if err != nil {
		t.Fatal(err)
	}
	if f.Settings.CacheDir != "/tmp/c" || f.Settings.Jobs != 3 {
		t.Errorf("settings = %+v", f.Settings)
	}
	if f.Vars["image"] != "agent" || f.VarPos["image"] != (Pos{7, 1}) {
		t.Errorf("vars = %v at %v", f.Vars, f.VarPos)
	}
	if len(f.Steps) != 2 || f.Steps[0].Name != "bin" || f.Steps[1].Name != "build" {
		t.Fatalf("steps out of file order: %v", f.Steps)
	}
	bin, build := f.Steps[0], f.Steps[1]
	if bin.Pos != (Pos{9, 1}) {
		t.Errorf("bin at %v, want 9:1", bin.Pos)
	}
	wantPos := map[string]Pos{"kind": {10, 1}, "inputs": {11, 1}, "env": {16, 1}, "tools": {17, 1}, "run": {18, 1}, "outputs": {21, 1}, "timeout": {22, 1}}
	for k, want := range wantPos {
		if got := bin.FieldPos.Map()[k]; got != want {
			t.Errorf("FieldPos.Map()[%s] = %v, want %v", k, got, want)
		}
	}
	if got := bin.Inputs; !reflect.DeepEqual(got, []string{"cmd/**/*.go", "!**/*_test.go", "?gen/*.go"}) {
		t.Errorf("inputs = %q", got)
	}
	if bin.Timeout.Minutes() != 10 || bin.Description != "compile" {
		t.Errorf("timeout %v description %q", bin.Timeout, bin.Description)
	}
	spec := build.Spec.(*fakeSpec)
	if spec.Dockerfile != "Dockerfile" || spec.Cpus != 2 || !spec.Insecure || spec.BuildArgs["VERSION"] != "1.0" {
		t.Errorf("spec = %+v", spec)
	}
	if !build.Always || !reflect.DeepEqual(build.Needs, []string{"bin"}) {
		t.Errorf("build = %+v", build)
	}
	refs, err := SpecRefs(build.Spec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Ref{
		"tags":       {{Kind: RefVar, Name: "image"}, {Kind: RefStep, Name: "bin", Field: "outputs"}},
		"build_args": {{Kind: RefEnv, Name: "HOME"}},
	}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("refs = %+v, want %+v", refs, want)
	}
}

var errorTests = []struct {
	name, src, want string
}{
	{"unknown field", "[steps.a]\nkind = \"exec\"\nrnu = \"x\"\n",
		`bottle.toml:3:1: steps.a: unknown field "rnu" (did you mean "run"?)`},
	{"unknown field in spec", "[steps.build]\nkind = \"image.build\"\ndockerfle = \"D\"\n",
		`bottle.toml:3:1: steps.build: unknown field "dockerfle" (did you mean "dockerfile"?)`},
	{"unknown field indented", "[steps.a]\n  kind = \"exec\"\n  run = \"x\"\n  outptus = []\n",
		`bottle.toml:4:3: steps.a: unknown field "outptus" (did you mean "outputs"?)`},
	{"unknown table", "[step.a]\nkind = \"exec\"\n",
		`bottle.toml:1:1: unknown table "step" (did you mean "steps"?)`},
	{"unknown setting", "[settings]\njbos = 2\n",
		`bottle.toml:2:1: settings: unknown field "jbos" (did you mean "jobs"?)`},
	{"yes in settings", "[settings]\nyes = true\n",
		`bottle.toml:2:1: settings.yes: "yes" is the operator's choice, not the workspace's: set it in your own config file ($XDG_CONFIG_HOME/bottle/config.toml, else ~/.config/bottle/config.toml), the BOTTLE_YES variable or the --yes flag`},
	{"yes at the top", "yes = true\n",
		`bottle.toml:1:1: yes: "yes" is the operator's choice, not the workspace's: set it in your own config file ($XDG_CONFIG_HOME/bottle/config.toml, else ~/.config/bottle/config.toml), the BOTTLE_YES variable or the --yes flag`},
	{"color in settings", "[settings]\ncolor = \"always\"\n",
		`bottle.toml:2:1: settings.color: "color" is the operator's choice, not the workspace's: set it in your own config file ($XDG_CONFIG_HOME/bottle/config.toml, else ~/.config/bottle/config.toml), the BOTTLE_COLOR variable or the --color flag`},
	{"unknown kind", "[steps.a]\nkind = \"exce\"\nrun = \"x\"\n",
		`bottle.toml:2:1: steps.a.kind: unknown kind "exce" (did you mean "exec"?) (kinds: exec, group, image.build)`},
	{"missing kind", "[steps.a]\nrun = \"x\"\n",
		`bottle.toml:1:1: steps.a: missing field "kind": one of exec, group, image.build`},
	{"wrong type list", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ninputs = \"src/*.go\"\n",
		`bottle.toml:4:1: steps.a.inputs: want a list of strings, got a string (write ["src/*.go"])`},
	{"wrong type jobs", "[settings]\njobs = \"four\"\n",
		`bottle.toml:2:1: settings.jobs: want a whole number of steps at once, got a string`},
	{"jobs zero", "[settings]\njobs = 0\n",
		`bottle.toml:2:1: settings.jobs: want a number of steps at once from 1 to 4096, got 0`},
	{"fsmonitor unknown", "[settings]\nfsmonitor = \"inotify\"\n",
		`bottle.toml:2:1: settings.fsmonitor: want "watchman", "off" or "none", got "inotify"`},
	{"fsmonitor not a string", "[settings]\nfsmonitor = true\n",
		`bottle.toml:2:1: settings.fsmonitor: want a string, got a boolean`},
	{"buildkit without scheme", "[settings]\nbuildkit = \"builder:1234\"\n",
		`bottle.toml:2:1: settings.buildkit: want the address of a buildkitd, "tcp://HOST:PORT" or "unix:///PATH/buildkitd.sock", got "builder:1234"`},
	{"buildkit tcp without port", "[settings]\nbuildkit = \"tcp://builder\"\n",
		`bottle.toml:2:1: settings.buildkit: tcp address "tcp://builder" has no port: buildkitd listens where its --addr says, e.g. tcp://builder:1234`},
	{"buildkit relative socket", "[settings]\nbuildkit = \"unix://run/bk.sock\"\n",
		`bottle.toml:2:1: settings.buildkit: unix socket "unix://run/bk.sock" must be an absolute path, as unix:///run/buildkit/buildkitd.sock`},
	{"buildkit other scheme", "[settings]\nbuildkit = \"docker-container://bk\"\n",
		`bottle.toml:2:1: settings.buildkit: bottle reaches a buildkitd over "tcp://" or "unix://", not "docker-container://"`},
	{"wrong type in spec", "[steps.a]\nkind = \"exec\"\nrun = [\"x\"]\n",
		`bottle.toml:3:1: steps.a.run: want a string, got a list`},
	{"bad step name", "[steps.Build]\nkind = \"exec\"\nrun = \"x\"\n",
		`bottle.toml:1:1: steps: bad step name "Build": use lowercase letters, digits, _ and -, starting with a letter`},
	{"unknown need", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nneeds = [\"bee\"]\n[steps.be]\nkind = \"exec\"\nrun = \"x\"\n",
		`bottle.toml:4:1: steps.a.needs: no step "bee" (did you mean "be"?)`},
	{"self need", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nneeds = [\"a\"]\n",
		`bottle.toml:4:1: steps.a.needs: a step cannot need itself`},
	{"unknown var", "[vars]\nimage = \"x\"\n[steps.a]\nkind = \"exec\"\nrun = \"echo ${var.imag}\"\n",
		`bottle.toml:5:1: steps.a.run: ${var.imag}: no var "imag" (did you mean "image"?)`},
	{"unknown step ref", "[steps.a]\nkind = \"exec\"\nrun = \"echo ${step.b.outputs}\"\n",
		`bottle.toml:3:1: steps.a.run: ${step.b.outputs}: no step "b"`},
	{"unknown result", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n[steps.b]\nkind = \"exec\"\nrun = \"echo ${step.a.image_id}\"\n",
		`bottle.toml:6:1: steps.b.run: ${step.a.image_id}: a step of kind exec has no result "image_id" (it has: outputs)`},
	{"own result", "[steps.a]\nkind = \"exec\"\nrun = \"echo ${step.a.outputs}\"\n",
		`bottle.toml:3:1: steps.a.run: ${step.a.outputs}: a step cannot use its own results`},
	{"malformed ref", "[steps.a]\nkind = \"exec\"\nrun = \"echo ${var.x\"\n",
		`bottle.toml:3:1: steps.a.run: unterminated reference "${var.x": add the closing }`},
	{"escaping input", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ninputs = [\"../secret\"]\n",
		`bottle.toml:4:1: steps.a.inputs: "../secret" leaves the workspace`},
	{"absolute input", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ninputs = [\"!/etc/*\"]\n",
		`bottle.toml:4:1: steps.a.inputs: in "!/etc/*": "/etc/*" is absolute: give a path relative to the workspace`},
	{"bad glob", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ninputs = [\"src/[a\"]\n",
		`bottle.toml:4:1: steps.a.inputs: "src/[a" is not a valid glob`},
	{"bad timeout", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ntimeout = \"10 minutes\"\n",
		`bottle.toml:4:1: steps.a.timeout: bad duration "10 minutes": write it like "90s", "10m" or "1h30m"`},
	{"bad env name", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nenv = [\"A-B\"]\n",
		`bottle.toml:4:1: steps.a.env: "A-B" is not a variable name`},
	{"check", "[steps.a]\nkind = \"exec\"\n",
		`bottle.toml:1:1: steps.a.run: give run or argv`},
	{"syntax", "[steps.a]\nkind = = \"exec\"\n",
		`bottle.toml:2:`},
	{"var cycle", "[vars]\na = \"${var.b}\"\nb = \"x${var.a}\"\n",
		`bottle.toml:2:1: vars.a: vars refer to each other in a cycle: a → b → a`},
	{"var self", "[vars]\na = \"${var.a}\"\n",
		`bottle.toml:2:1: vars.a: vars refer to each other in a cycle: a → a`},
	{"var unknown var", "[vars]\nversion = \"1\"\na = \"${var.verison}\"\n",
		`bottle.toml:3:1: vars.a: ${var.verison}: no var "verison" (did you mean "version"?)`},
	{"var step ref", "[vars]\na = \"${step.b.outputs}\"\n",
		`bottle.toml:2:1: vars.a: ${step.b.outputs}: a var cannot use a step's results`},
	{"env default with ref", "[vars]\na = \"${env.X:-${var.b}}\"\nb = \"x\"\n",
		`bottle.toml:2:1: vars.a: bad reference "${env.X:-${var.b}": a default is literal text and cannot hold a reference`},
	{"syntax exact", "[steps.a]\nkind = = \"exec\"\n",
		`bottle.toml:2:8: expected value but found '=' instead`},
	{"duplicate table", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n[steps.a]\n",
		`bottle.toml:4:2: key 'steps.a' has already been defined`},
	{"unknown top-level key", "jobs = 2\n",
		`bottle.toml:1:1: unknown key "jobs"`},
	{"jobs decimal", "[settings]\njobs = 1.5\n",
		`bottle.toml:2:1: settings.jobs: want a whole number of steps at once, got a decimal number`},
	{"var not a string", "[vars]\nn = 1\n",
		`bottle.toml:2:1: vars.n: want a string, or a command's output as { sh = "COMMAND" }, got a number`},
	{"computed unknown field", "[vars]\nv = { hs = \"git describe\" }\n",
		`bottle.toml:2:1: vars.v.hs: unknown field "hs" of a computed var (did you mean "sh"?)`},
	{"computed without sh", "[vars]\nv = { timeout = \"5s\" }\n",
		`bottle.toml:2:1: vars.v: a computed var needs sh, the command whose output is its value: v = { sh = "git describe --tags" }`},
	{"computed empty sh", "[vars]\nv = { sh = \" \" }\n",
		`bottle.toml:2:1: vars.v.sh: empty command: give the command whose output is the value, e.g. sh = "git describe --tags"`},
	{"computed sh not a string", "[vars]\nv = { sh = [\"git\"] }\n",
		`bottle.toml:2:1: vars.v.sh: want a string, got a list`},
	{"computed bad timeout", "[vars]\nv = { sh = \"date\", timeout = \"5\" }\n",
		`bottle.toml:2:1: vars.v.timeout: bad duration "5": write it like "10s" or "2m"`},
	{"computed negative timeout", "[vars]\nv = { sh = \"date\", timeout = \"-1s\" }\n",
		`bottle.toml:2:1: vars.v.timeout: the timeout must be positive, got "-1s"`},
	{"computed sh with a reference", "[vars]\nb = \"x\"\nv = { sh = \"echo ${var.b}\" }\n",
		`bottle.toml:3:1: vars.v.sh: a computed var's command runs as written and cannot hold a reference (${...}): give it values through the environment ($NAME), or write $${ for a literal ${`},
	{"bad var name", "[vars]\n\"a-b\" = \"x\"\n",
		`bottle.toml:2:1: vars.a-b: bad var name "a-b": use letters, digits and _, starting with a letter or _`},
	{"need listed twice", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n[steps.b]\nkind = \"exec\"\nrun = \"x\"\nneeds = [\"a\", \"a\"]\n",
		`bottle.toml:7:1: steps.b.needs: "a" is listed twice`},
	{"need not suggesting itself", "[steps.ab]\nkind = \"exec\"\nrun = \"x\"\nneeds = [\"ac\"]\n",
		`bottle.toml:4:1: steps.ab.needs: no step "ac"`},
	{"negative timeout", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ntimeout = \"-1s\"\n",
		`bottle.toml:4:1: steps.a.timeout: the timeout must be positive, got "-1s"`},
	{"var escaping the workspace", "[vars]\nd = \"../x\"\n[steps.a]\nkind = \"exec\"\nrun = \"x\"\ninputs = [\"${var.d}/*.go\"]\n",
		`bottle.toml:6:1: steps.a.inputs: "${var.d}/*.go" expands to "../x/*.go" leaves the workspace`},
	{"empty pattern", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ninputs = [\"?\"]\n",
		`bottle.toml:4:1: steps.a.inputs: in "?": empty path: give a path relative to the workspace`},
	{"empty tool", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ntools = [\" \"]\n",
		`bottle.toml:4:1: steps.a.tools: empty tool name`},
	{"not a table", "[steps]\na = 1\n",
		`bottle.toml:2:1: steps.a: want a table ([steps.a]), got a number`},
	{"wrong list item", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\ntags = [\"a\", 2]\n",
		`bottle.toml:4:1: steps.a.tags: item 2: want a string, got a number`},
	{"map value", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nbuild_args = { A = 1 }\n",
		`bottle.toml:4:1: steps.a.build_args.A: want a string, got a number`},
	{"unknown field in a dotted step", "steps.a.kind = \"exec\"\nsteps.a.run = \"x\"\nsteps.a.rn = \"y\"\n",
		`bottle.toml:3:1: steps.a: unknown field "rn" (did you mean "run"?)`},
	{"unknown field after a CR LF", "[steps.a]\r\nkind = \"exec\"\r\n  rnu = \"x\"\r\n",
		`bottle.toml:3:3: steps.a: unknown field "rnu" (did you mean "run"?)`},
	{"unknown field with an escaped key", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n\"\\u0072nu\" = 1\n",
		`bottle.toml:4:1: steps.a: unknown field "rnu" (did you mean "run"?)`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bottle.toml", []byte(tt.src), kinds)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T is not Errors", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n  %s\nwant:\n  %s", err, tt.want)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	src := "[steps.a]\nkind = \"exec\"\nrnu = \"x\"\n\n[steps.b]\nkind = \"exec\"\nrun = \"x\"\noutptus = []\n"
	_, err := Parse("bottle.toml", []byte(src), kinds)
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("got %v, want 2 errors", err)
	}
	if es[0].Pos.Line != 3 || es[1].Pos.Line != 8 {
		t.Errorf("errors not in file order: %v", err)
	}
}

func TestRefs(t *testing.T) {
	tests := []struct {
		in, want string
		err      string
	}{
		{"plain", "plain", ""},
		{"a ${var.x} b", "a X b", ""},
		{"${env.HOME}/x", "/home/me/x", ""},
		{"${step.bin.outputs} ok", "build/app ok", ""},
		{"shell ${HOME} and ${1} stay", "shell ${HOME} and ${1} stay", ""},
		{"literal $${var.x}", "literal ${var.x}", ""},
		{"$$${var.x}", "$${var.x}", ""},
		{"${var.}", "", `bad reference`},
		{"${var.x", "", `unterminated reference`},
		{"${step.bin}", "", `bad reference "${step.bin}": want ${step.NAME.FIELD}`},
		{"${step.Bin.x}", "", `bad reference`},
		{"${env.A-B}", "", `bad reference "${env.A-B}": want ${env.NAME} or ${env.NAME:-default}`},
		{"${env.GOOS:-linux}", "[linux]", ""},
		{"${env.GOOS:-}", "[]", ""},
		{"${step.bin.outputs", "", `unterminated reference`},
		{"$${env.HOME} ${env.HOME}", "${env.HOME} /home/me", ""},
		{"${var.x}${var.x}", "XX", ""},
		{"${}", "${}", ""},
		{"$", "$", ""},
	}
	vals := map[Ref]string{
		{Kind: RefVar, Name: "x"}:                                        "X",
		{Kind: RefEnv, Name: "HOME"}:                                     "/home/me",
		{Kind: RefEnv, Name: "GOOS", HasDefault: true, Default: "linux"}: "[linux]",
		{Kind: RefEnv, Name: "GOOS", HasDefault: true}:                   "[]",
		{Kind: RefStep, Name: "bin", Field: "outputs"}:                   "build/app",
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Expand(tt.in, func(r Ref) (string, error) { return vals[r], nil })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestExpandSpecCopies(t *testing.T) {
	s := &fakeSpec{Run: "${var.x}", Tags: []string{"${var.x}:1"}, BuildArgs: map[string]string{"A": "${var.x}"}}
	out, err := ExpandSpec(s, func(Ref) (string, error) { return "v", nil })
	if err != nil {
		t.Fatal(err)
	}
	o := out.(*fakeSpec)
	if o.Run != "v" || o.Tags[0] != "v:1" || o.BuildArgs["A"] != "v" {
		t.Errorf("expanded = %+v", o)
	}
	if s.Run != "${var.x}" || s.Tags[0] != "${var.x}:1" || s.BuildArgs["A"] != "${var.x}" {
		t.Errorf("the original changed: %+v", s)
	}
}

func TestKeyPositions(t *testing.T) {
	src := `a = 1
[t]
"quoted key" = "x = [not a table]"
b.c = 2   # comment
ml = """
[not.a.header]
x = 1
"""
arr = [
  "[x]",
  { y = 1 },
]
[ "u" . v ]
  w = 3
`
	got := keyPositions([]byte(src))
	want := map[string]Pos{
		"a": {1, 1}, "t": {2, 1}, "t.quoted key": {3, 1}, "t.b.c": {4, 1}, "t.ml": {5, 1},
		"t.arr": {9, 1}, "u.v": {13, 1}, "u.v.w": {14, 3},
	}
	for k, p := range want {
		if g, _ := exactPos(got, k); g != p {
			t.Errorf("%s at %v, want %v", k, g, p)
		}
	}
	for _, bad := range []string{"not", "not.a.header", "not.a.header.x", "t.x", "t.y"} {
		if _, ok := exactPos(got, bad); ok {
			t.Errorf("found %q, which is inside a value", bad)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"run", "argv", "outputs", "dockerfile", "inputs"}
	for in, want := range map[string]string{
		"rnu": "run", "outptus": "outputs", "dockerfle": "dockerfile", "input": "inputs", "zzzzzz": "",
	} {
		got := suggest(in, cands)
		if want == "" && got != "" || want != "" && !strings.Contains(got, `"`+want+`"`) {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// exactPos is the position of path itself, not of an enclosing table.
func exactPos(t *posTree, path string) (Pos, bool) {
	parts := strings.Split(path, ".")
	for _, k := range parts[:len(parts)-1] {
		t = t.child(k)
	}
	if t == nil {
		return Pos{}, false
	}
	p, ok := t.fields[parts[len(parts)-1]]
	return p, ok
}

func TestParseFsmonitor(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`fsmonitor = "watchman"`, "watchman"},
		{`fsmonitor = "off"`, ""},
		{`fsmonitor = "none"`, ""},
		{``, ""},
	} {
		f, err := Parse("bottle.toml", []byte("[settings]\n"+tt.in+"\n"), kinds)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if f.Settings.Fsmonitor != tt.want {
			t.Errorf("%s: Fsmonitor = %q, want %q", tt.in, f.Settings.Fsmonitor, tt.want)
		}
	}
}
