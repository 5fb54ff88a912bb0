package config

import (
	"reflect"
	"strings"
	"testing"
)

type envRefusingKind struct{ fakeKind }

func (envRefusingKind) RefuseEnv() string { return "this kind runs no command" }

func TestParsePassEnvAndEnvironment(t *testing.T) {
	src := "[vars]\nv = \"1.2\"\n[steps.a]\nkind = \"exec\"\nrun = \"x\"\npass_env = [\"DOCKER_HOST\", \"HTTPS_PROXY\"]\nenvironment = { CGO_ENABLED = \"0\", VERSION = \"v${var.v}\" }\nenv = [\"GOFLAGS\"]\n"
	f, err := Parse("bottle.toml", []byte(src), kinds)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Step("a")
	if !reflect.DeepEqual(a.PassEnv, []string{"DOCKER_HOST", "HTTPS_PROXY"}) {
		t.Errorf("pass_env %q", a.PassEnv)
	}
	if want := map[string]string{"CGO_ENABLED": "0", "VERSION": "v${var.v}"}; !reflect.DeepEqual(a.Environment, want) {
		t.Errorf("environment %q, want %q", a.Environment, want)
	}
	if a.FieldPos.Map()["pass_env"] != (Pos{6, 1}) || a.FieldPos.Map()["environment"] != (Pos{7, 1}) {
		t.Errorf("positions %v", a.FieldPos.Map())
	}
}

func TestParsePassEnvErrors(t *testing.T) {
	withSave := map[string]KindInfo{"exec": kinds["exec"], "image.save": envRefusingKind{}}
	step := "[steps.a]\nkind = \"exec\"\nrun = \"x\"\n"
	tests := []struct {
		name, src, want string
	}{
		{"bad name", step + "pass_env = [\"MY-HOST\"]\n",
			`bottle.toml:4:1: steps.a.pass_env: "MY-HOST" is not a variable name`},
		{"not a list", step + "pass_env = \"DOCKER_HOST\"\n",
			`bottle.toml:4:1: steps.a.pass_env: want a list of strings, got a string (write ["DOCKER_HOST"])`},
		{"listed twice", step + "pass_env = [\"X\", \"X\"]\n",
			`bottle.toml:4:1: steps.a.pass_env: "X" is listed twice`},
		{"passed anyway", step + "pass_env = [\"PATH\"]\n",
			`bottle.toml:4:1: steps.a.pass_env: PATH is passed to every command: no need to pass it`},
		{"set by bottle", step + "pass_env = [\"BOTTLE_STEP\"]\n",
			`bottle.toml:4:1: steps.a.pass_env: BOTTLE_STEP is set by bottle: no need to pass it`},
		{"also in env", step + "env = [\"X\"]\npass_env = [\"X\"]\n",
			`bottle.toml:5:1: steps.a.pass_env: X is also in env: name a variable in one of env, pass_env, environment and secrets`},
		{"also a secret", step + "pass_env = [\"TOKEN\"]\nsecrets = [\"TOKEN\"]\n",
			`bottle.toml:5:1: steps.a.secrets: TOKEN is also in pass_env`},
		{"environment also in env", step + "env = [\"CGO_ENABLED\"]\nenvironment = { CGO_ENABLED = \"0\" }\n",
			`bottle.toml:5:1: steps.a.environment: CGO_ENABLED is also in env`},
		{"environment also in pass_env", step + "pass_env = [\"X\"]\nenvironment = { X = \"0\" }\n",
			`bottle.toml:5:1: steps.a.environment: X is also in pass_env`},
		{"environment not a table", step + "environment = [\"X=1\"]\n",
			`bottle.toml:4:1: steps.a.environment: want a table of strings, e.g. { CGO_ENABLED = "0" }, got a list`},
		{"environment bad name", step + "environment = { \"MY-X\" = \"1\" }\n",
			`bottle.toml:4:1: steps.a.environment: "MY-X" is not a variable name`},
		{"environment not a string", step + "environment = { X = 0 }\n",
			`bottle.toml:4:`},
		{"environment sets BOTTLE_", step + "environment = { BOTTLE_STEP = \"x\" }\n",
			`bottle.toml:4:1: steps.a.environment: BOTTLE_STEP: names starting with BOTTLE_ are set by bottle`},
		{"environment uses env", step + "environment = { X = \"${env.HOME}\" }\n",
			`steps.a.environment.X: ${env.HOME}: environment holds literal values and ${var.NAME}; to pass a host variable name it in env (enters the key) or pass_env (does not)`},
		{"environment uses a step", step + "environment = { X = \"${step.b.output}\" }\n[steps.b]\nkind = \"exec\"\nrun = \"x\"\n",
			`steps.a.environment.X: ${step.b.output}: environment holds literal values and ${var.NAME}`},
		{"environment unknown var", step + "environment = { X = \"${var.nope}\" }\n",
			`bottle.toml:4:1: steps.a.environment: ${var.nope}: no var "nope"`},
		{"kind refuses pass_env", "[steps.s]\nkind = \"image.save\"\npass_env = [\"DOCKER_HOST\"]\n",
			`bottle.toml:3:1: steps.s.pass_env: this kind runs no command: pass_env has nowhere to go`},
		{"kind refuses environment", "[steps.s]\nkind = \"image.save\"\nenvironment = { X = \"1\" }\n",
			`bottle.toml:3:1: steps.s.environment: this kind runs no command: environment has nowhere to go`},
		{"misspelt field", step + "passenv = [\"X\"]\n",
			`bottle.toml:4:1: steps.a: unknown field "passenv" (did you mean "pass_env"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bottle.toml", []byte(tt.src), withSave)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n  %s\nwant:\n  %s", err, tt.want)
			}
		})
	}
}

// TestParsePassEnvAcrossSteps: one name may be env in one step and
// pass_env in another; the rule is per step.
func TestParsePassEnvAcrossSteps(t *testing.T) {
	src := "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nenv = [\"X\"]\n[steps.b]\nkind = \"exec\"\nrun = \"x\"\npass_env = [\"X\"]\n[steps.c]\nkind = \"exec\"\nrun = \"x\"\nenvironment = { X = \"1\" }\n"
	if _, err := Parse("bottle.toml", []byte(src), kinds); err != nil {
		t.Fatal(err)
	}
}
