package config

import (
	"reflect"
	"strings"
	"testing"
)

type refusingKind struct{ fakeKind }

func (refusingKind) RefuseSecrets(any) string { return "this kind cannot take secrets yet" }

func TestParseSecrets(t *testing.T) {
	src := "[steps.a]\nkind = \"exec\"\nrun = \"curl -H \\\"$TOKEN\\\" x\"\nsecrets = [\"TOKEN\", \"NPM_TOKEN\"]\nenv = [\"GOFLAGS\"]\n"
	f, err := Parse("bottle.toml", []byte(src), kinds)
	if err != nil {
		t.Fatal(err)
	}
	a := f.Step("a")
	if !reflect.DeepEqual(a.Secrets, []string{"TOKEN", "NPM_TOKEN"}) || !reflect.DeepEqual(a.Env, []string{"GOFLAGS"}) {
		t.Errorf("secrets %q env %q", a.Secrets, a.Env)
	}
	if a.FieldPos.Map()["secrets"] != (Pos{4, 1}) {
		t.Errorf("secrets at %v", a.FieldPos.Map()["secrets"])
	}
}

func TestParseSecretErrors(t *testing.T) {
	withPush := map[string]KindInfo{"exec": kinds["exec"], "image.push": refusingKind{}}
	tests := []struct {
		name, src, want string
	}{
		{"bad name", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"MY-TOKEN\"]\n",
			`bottle.toml:4:1: steps.a.secrets: "MY-TOKEN" is not a variable name`},
		{"not a list", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = \"TOKEN\"\n",
			`bottle.toml:4:1: steps.a.secrets: want a list of strings, got a string (write ["TOKEN"])`},
		{"listed twice", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"TOKEN\", \"TOKEN\"]\n",
			`bottle.toml:4:1: steps.a.secrets: "TOKEN" is listed twice`},
		{"passed anyway", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"HOME\"]\n",
			`bottle.toml:4:1: steps.a.secrets: HOME is passed to every command: it cannot be a secret`},
		{"set by bottle", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"BOTTLE_STEP\"]\n",
			`bottle.toml:4:1: steps.a.secrets: BOTTLE_STEP is set by bottle: it cannot be a secret`},
		{"also in env", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"TOKEN\"]\nenv = [\"TOKEN\"]\n",
			`bottle.toml:5:1: steps.a.env: TOKEN is a secret (steps.a.secrets): a variable in env enters the key as a digest of its value; name it in secrets only`},
		{"in another step's env", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"TOKEN\"]\n[steps.b]\nkind = \"exec\"\nrun = \"x\"\nenv = [\"TOKEN\"]\n",
			`bottle.toml:8:1: steps.b.env: TOKEN is a secret (steps.a.secrets)`},
		{"referenced in run", "[steps.a]\nkind = \"exec\"\nsecrets = [\"TOKEN\"]\nrun = \"curl -u ${env.TOKEN} x\"\n",
			`bottle.toml:4:1: steps.a.run: ${env.TOKEN}: TOKEN is a secret (steps.a.secrets): a reference puts a digest of its value in the key; read it from the command's environment instead ($TOKEN)`},
		{"referenced by another step", "[steps.b]\nkind = \"exec\"\nrun = \"x\"\nbuild_args = { T = \"${env.TOKEN}\" }\n[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"TOKEN\"]\n",
			`bottle.toml:4:1: steps.b.build_args: ${env.TOKEN}: TOKEN is a secret (steps.a.secrets)`},
		{"referenced in inputs", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"TOKEN\"]\ninputs = [\"src/${env.TOKEN}/*\"]\n",
			`bottle.toml:5:1: steps.a.inputs: ${env.TOKEN}: TOKEN is a secret`},
		{"referenced in description", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"TOKEN\"]\ndescription = \"uses ${env.TOKEN}\"\n",
			`bottle.toml:5:1: steps.a.description: ${env.TOKEN}: TOKEN is a secret`},
		{"kind refuses", "[steps.p]\nkind = \"image.push\"\nrun = \"x\"\nsecrets = [\"TOKEN\"]\n",
			`bottle.toml:4:1: steps.p.secrets: this kind cannot take secrets yet`},
		{"misspelt field", "[steps.a]\nkind = \"exec\"\nrun = \"x\"\nsecret = [\"TOKEN\"]\n",
			`bottle.toml:4:1: steps.a: unknown field "secret" (did you mean "secrets"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bottle.toml", []byte(tt.src), withPush)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n  %s\nwant:\n  %s", err, tt.want)
			}
		})
	}
}

// TestParseSecretsAndEnvApart: a secret and an env variable of other names
// live side by side, in one step or several, and a ${env.X} of a name that
// is no secret stays allowed.
func TestParseSecretsAndEnvApart(t *testing.T) {
	src := "[steps.a]\nkind = \"exec\"\nrun = \"echo ${env.GOOS}\"\nsecrets = [\"TOKEN\"]\nenv = [\"GOFLAGS\"]\n[steps.b]\nkind = \"exec\"\nrun = \"x\"\nsecrets = [\"TOKEN\"]\nenv = [\"TOKENS\"]\n"
	if _, err := Parse("bottle.toml", []byte(src), kinds); err != nil {
		t.Fatal(err)
	}
}
