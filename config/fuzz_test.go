package config

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, and every failure is an *Error or Errors
// with a message. The seeds are below; an input the fuzzer finds failing
// goes into testdata/fuzz/FuzzParse as a crasher, and only those are kept.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		goodSrc,
		"[steps.a]\nkind = \"exec\"\nrun = \"x\"\n",
		"[settings]\njobs = 2\ncache_dir = \"/c\"\n[vars]\nx = \"1\"\n",
		"[steps.a]\nkind = \"exec\"\nrun = \"${var.x} ${step.b.outputs} $${x} ${HOME}\"\n[steps.b]\nkind = \"exec\"\nrun = \"y\"\noutputs=[\"o\"]\n",
		"[steps.a]\nkind = \"image.build\"\ndockerfile = \"D\"\nbuild_args = { A = \"b\" }\ntags = [\n\"x\", # c\n]\n",
		"[steps.\"a b\"]\nkind = 1\n",
		"a.b.c = \"\"\"\n[x]\n\"\"\"\n",
		"[steps.a]\nkind = \"exec\"\ninputs = [\"!**\", \"?x\", \"../y\"]\ntimeout = \"-1s\"\n",
		"[[steps]]\nkind = \"exec\"\n",
		"steps.a.kind = 'exec'\nsteps.a.run = '''\nx\\\n'''\n[ \"vars\" ]\n\"a\\u0041\" = \"\\\"q\\\"\"\n",
		"[steps.a]\r\nkind = \"exec\"\r\nrun = \"x\"\r\n",
		"[steps.a]\nkind = \"exec\"\nrun = \"\"\"a \\\n   b\"\"\"\"\"\njobs = +1_000\n",
		"[steps.a]\nkind = \"exec\"\nrun = \"x\"\npass_env = [\"P\", \"P\"]\nenv = [\"P\"]\nenvironment = { E = \"${var.v}${env.X}\", BOTTLE_X = 1 }\n",
		"[vars]\na = \"${env.A:-x:-y}${var.b}\"\nb = \"${env.B}${var.a}\"\nc = \"${env.C:-}\"\n[steps.a]\nkind = \"exec\"\nrun = \"${env.D:-d} ${var.c}\"\n",
		string(genW2(2, 3)),
		"[settings]\ndefault = [\"ci\", \"x\"]\n[steps.a]\nkind = \"exec\"\nrun = \"${step.ci.outputs}\"\nneeds = [\"ci\"]\n[steps.ci]\nkind = \"group\"\nneeds = [\"g\", \"a\"]\n[steps.g]\nkind = \"group\"\nneeds = [\"ci\"]\nrun = 1\n",
		"[vars]\nv = { sh = \"git describe --tags\", timeout = \"1s\" }\nw = \"${var.v}-${env.X:-y}\"\nu = { sh = 1, hs = 2 }\nt = { }\n[settings]\npools = { p = 1, q = 0 }\n[steps.a]\nkind = \"exec\"\nrun = \"echo ${var.w} '${var.v}'\"\npool = \"p\"\n",
		"[vars]\nv = { sh = \"$${x} $(date)\" }\nv2 = { sh = \"${var.v}\" }\n[vars.x]\nsh = \"\"\"\nmultiline\n\"\"\"\n",
		"[steps.c]\nkind = \"exec\"\nmatrix = { a = [\"x\", \"y.1\"], b = [\"z_-\"] }\nrun = \"${matrix.a}$${matrix.b}${step.d[z_-].outputs}\"\noutputs = [\"o/${matrix.a}\"]\n[steps.d]\nkind = \"exec\"\nrun = \"${matrix.b}\"\nneeds = [\"c\", \"c[x]\", \"c[x,z_-]\"]\n[steps.d.matrix]\nb = [\"z_-\", \"q\"]\n",
		"[settings]\ndefault = [\"c[1]\", \"c[\"]\n[vars]\nv = \"${matrix.a}\"\n[steps.c]\nkind = \"exec\"\nmatrix = { a = [\"1\", 1, \"\", \"a b\", \"1\"], \"-\" = [], c = {} }\nrun = \"${matrix.a\"\n[steps.g]\nkind = \"group\"\nneeds = [\"c\", \"c[2]\"]\nmatrix = {}\n",
	}
	for _, tt := range errorTests {
		seeds = append(seeds, tt.src)
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
				if m := s.Matrix; m != nil && (s.Name != InstanceName(m.Base, m.Values) || len(m.Keys) != len(m.Values)) {
					t.Fatalf("instance %q of %+v", s.Name, m)
				}
				for _, n := range s.Needs {
					if _, err := file.Needed(s, n); err != nil {
						t.Fatalf("step %s: a need that parsed does not resolve: %v", s.Name, err)
					}
				}
			}
			for k, c := range file.Computed {
				if c.Sh == "" || c.Timeout <= 0 {
					t.Fatalf("computed var %q without a command or a timeout: %+v", k, c)
				}
				if _, ok := file.Vars[k]; !ok {
					t.Fatalf("computed var %q missing from Vars", k)
				}
			}
			return
		}
		var es Errors
		var e *Error
		switch {
		case errors.As(err, &es):
			if len(es) == 0 {
				t.Fatal("empty Errors")
			}
		case errors.As(err, &e):
			es = Errors{e}
		default:
			t.Fatalf("error %T (%v) is not an *Error or Errors", err, err)
		}
		for _, e := range es {
			if e.Msg == "" || e.File != "bottle.toml" {
				t.Fatalf("error without message or file: %+v", e)
			}
		}
		if err.Error() == "" {
			t.Fatal("empty message")
		}
	})
}
