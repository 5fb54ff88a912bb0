package run

import (
	"reflect"
	"strings"
	"testing"
)

// TestCommandEnvironmentOrder: the command gets the fixed host variables,
// env, pass_env (when set on the host), environment (vars expanded) and
// secrets, then BOTTLE_STEP and BOTTLE_WORKSPACE, in that order; an unset
// pass_env variable is left out without failing the step.
func TestCommandEnvironmentOrder(t *testing.T) {
	const config = `
[vars]
v = "1.2"

[steps.s]
kind = "exec"
env = ["MODE"]
pass_env = ["PROXY_X", "NOT_SET"]
environment = { CGO_ENABLED = "0", VERSION = "v${var.v}" }
secrets = ["TOKEN"]
run = "write s"
outputs = ["s.txt"]
`
	a, sr, sum, err := applySecrets(t, config, map[string]string{
		"PATH": "/bin", "MODE": "fast", "PROXY_X": "http://proxy:3128", "TOKEN": "tok-3f9a1c77", "UNLISTED": "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed > 0 {
		t.Fatalf("summary %+v", sum)
	}
	want := []string{
		"PATH=/bin", "MODE=fast", "PROXY_X=http://proxy:3128",
		"CGO_ENABLED=0", "VERSION=v1.2", "TOKEN=tok-3f9a1c77",
		"BOTTLE_STEP=s", "BOTTLE_WORKSPACE=" + a.root(),
	}
	if got := sr.envs["s"]; !reflect.DeepEqual(got, want) {
		t.Errorf("env:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
