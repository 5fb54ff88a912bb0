package graph

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/kinds"
)

const spliceConfig = `[vars]
q = "'"

[steps.gen]
kind = "exec"
run = "mkdir -p out && touch 'out/a b.txt' 'out/$(touch PWNED)'"
outputs = ["out/a b.txt", "out/$(touch PWNED)"]

[steps.use]
kind = "exec"
`

func TestLoadRefusesUnsafeSplice(t *testing.T) {
	tests := []struct {
		name, use, want string
	}{
		{"single quotes", `run = "echo '${step.gen.outputs}'"`,
			`bottle.toml:11:1: steps.use.run: ${step.gen.outputs} stands inside single quotes: its value could be read as shell syntax there; pass it through the environment instead (e.g. export V="${step.gen.outputs}" first, then use "$V")`},
		{"env in single quotes", `run = "sh -c 'echo ${env.TAG}'"`,
			`bottle.toml:11:1: steps.use.run: ${env.TAG} stands inside single quotes: its value could be read as shell syntax there; pass it through the environment instead (write "$TAG": the command's environment holds it)`},
		{"heredoc", "run = \"\"\"\ncat <<EOF\n${step.gen.outputs}\nEOF\n\"\"\"", "bottle.toml:11:1: steps.use.run: ${step.gen.outputs} stands in a here-document"},
		{"a var opens the quote", `run = "echo ${var.q}${env.TAG}${var.q}"`, "steps.use.run: ${env.TAG} stands inside single quotes"},
		{"the field is placed", "description = \"x\"\n  run = \"echo '${env.TAG}'\"", "bottle.toml:12:3: steps.use.run:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{"bottle.toml": spliceConfig + tt.use + "\n"})
			_, err := Load(LoadOptions{Root: root, Getenv: mapEnv(nil), Kinds: kinds.Descriptions()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v\nwant an error containing %q", err, tt.want)
			}
		})
	}
}

// TestExpandSpecSplices fills in a step's references as apply does: in run
// every path of ${step.gen.outputs} is one single-quoted word, in argv one
// argument; host variables likewise; a var is spliced as written.
func TestExpandSpecSplices(t *testing.T) {
	tests := []struct {
		name, use string
		run       string
		argv      []string
	}{
		{"run, unquoted", `run = "wc -c ${step.gen.outputs}"`, `wc -c 'out/a b.txt' 'out/$(touch PWNED)'`, nil},
		{"run, double quotes", `run = "echo \"${step.gen.outputs} ${env.TAG}\""`, `echo "out/a b.txt out/\$(touch PWNED) x \"y\" \$z"`, nil},
		{"run, env unquoted", `run = "echo ${env.TAG}"`, `echo 'x "y" $z'`, nil},
		{"run, var as written", `run = "echo ${var.q}a b${var.q} ${env.TAG}"`, `echo 'a b' 'x "y" $z'`, nil},
		{"argv", `argv = ["wc", "-c", "${step.gen.outputs}", "${env.TAG}", "--x=${step.gen.outputs}"]`, "",
			[]string{"wc", "-c", "out/a b.txt", "out/$(touch PWNED)", `x "y" $z`, "--x=out/a b.txt out/$(touch PWNED)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{"bottle.toml": spliceConfig + tt.use + "\n"})
			env := mapEnv(map[string]string{"TAG": `x "y" $z`})
			g, err := Load(LoadOptions{Root: root, Getenv: env, Kinds: kinds.Descriptions()})
			if err != nil {
				t.Fatal(err)
			}
			pl := &Planner{Graph: g, Getenv: env}
			spec, err := pl.ExpandSpec(g.Node("use"), func(step, field string) (string, error) {
				return "what the cache says", nil
			})
			if err != nil {
				t.Fatal(err)
			}
			s := spec.(*kinds.ExecSpec)
			if s.Run != tt.run || !reflect.DeepEqual(s.Argv, tt.argv) {
				t.Errorf("expanded run %s argv %q\nwant run %s argv %q", s.Run, s.Argv, tt.run, tt.argv)
			}
		})
	}
}
