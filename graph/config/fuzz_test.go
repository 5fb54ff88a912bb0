package config

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, and every failure is a positioned Errors
// with a message. The corpus found so far is kept in testdata/fuzz.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"[steps.a]\nkind = \"exec\"\nrun = \"x\"\n",
		"[settings]\njobs = 2\ncache_dir = \"/c\"\n[vars]\nx = \"1\"\n",
		"[steps.a]\nkind = \"exec\"\nrun = \"${var.x} ${step.b.outputs} $${x} ${HOME}\"\n[steps.b]\nkind = \"exec\"\nrun = \"y\"\noutputs=[\"o\"]\n",
		"[steps.a]\nkind = \"image.build\"\ndockerfile = \"D\"\nbuild_args = { A = \"b\" }\ntags = [\n\"x\", # c\n]\n",
		"[steps.\"a b\"]\nkind = 1\n",
		"a.b.c = \"\"\"\n[x]\n\"\"\"\n",
		"[steps.a]\nkind = \"exec\"\ninputs = [\"!**\", \"?x\", \"../y\"]\ntimeout = \"-1s\"\n",
		"[[steps]]\nkind = \"exec\"\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("bottle.toml", data, kinds)
		if err == nil {
			if file == nil {
				t.Fatal("nil file and nil error")
			}
			for _, s := range file.Steps {
				if s.Spec == nil || s.Kind == "" {
					t.Fatalf("step %q without kind or spec", s.Name)
				}
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T (%v) is not a non-empty Errors", err, err)
		}
		for _, e := range es {
			if e.Msg == "" || e.File != "bottle.toml" {
				t.Fatalf("error without message or file: %+v", e)
			}
		}
	})
}
