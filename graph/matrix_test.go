package graph

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

const matrixConfig = `
[steps.cross]
kind = "exec"
matrix = { goarch = ["amd64", "arm64"], goos = ["linux", "darwin"] }
run = "echo ${matrix.goos}/${matrix.goarch} > out/app-${matrix.goos}-${matrix.goarch}"
outputs = ["out/app-${matrix.goos}-${matrix.goarch}"]

[steps.package]
kind = "exec"
matrix = { goarch = ["amd64", "arm64"] }
needs = ["cross"]
run = "cat ${step.cross[${matrix.goarch},linux].outputs} > out/pkg-${matrix.goarch}"
outputs = ["out/pkg-${matrix.goarch}"]

[steps.all]
kind = "group"
needs = ["cross"]

[steps.sign]
kind = "exec"
matrix = { goarch = ["arm64"] }
needs = ["all"]
run = "cat ${step.package.outputs} > out/sig"
outputs = ["out/sig"]

[steps.release]
kind = "exec"
needs = ["package"]
run = "cat ${step.package[amd64].outputs}"
`

func nodeNames(ns []*Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

// TestMatrixNeeds: a need on a matrix step means every instance; from an
// instance of a matrix step sharing keys, only those with its values,
// directly or through a group; a reference to one instance needs it.
func TestMatrixNeeds(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": matrixConfig})
	g, err := Load(LoadOptions{Root: root, Kinds: kinds.Descriptions()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		step  string
		needs []string
	}{
		{"cross[amd64,linux]", nil},
		{"package[arm64]", []string{"cross[arm64,darwin]", "cross[arm64,linux]"}},
		{"package[amd64]", []string{"cross[amd64,darwin]", "cross[amd64,linux]"}},
		{"sign[arm64]", []string{"cross[arm64,darwin]", "cross[arm64,linux]", "package[arm64]"}},
		{"release", []string{"package[amd64]", "package[arm64]"}},
	} {
		n := g.Node(tt.step)
		if n == nil {
			t.Fatalf("no step %s", tt.step)
		}
		if got := nodeNames(n.Needs); !slices.Equal(got, tt.needs) {
			t.Errorf("%s needs %q, want %q", tt.step, got, tt.needs)
		}
	}
	if got := g.Node("package[arm64]").Outputs; !slices.Equal(got, []string{"out/pkg-arm64"}) {
		t.Errorf("package[arm64] outputs %q", got)
	}
}

// TestMatrixSelection: naming a matrix step on the command line takes
// every instance, an instance only that one and what it needs, and a wrong
// instance is an error naming the instances.
func TestMatrixSelection(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": matrixConfig})
	g, err := Load(LoadOptions{Root: root, Kinds: kinds.Descriptions()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		targets []string
		want    []string
		err     string
	}{
		{targets: []string{"cross[arm64,linux]"}, want: []string{"cross[arm64,linux]"}},
		{targets: []string{"package[arm64]"}, want: []string{"cross[arm64,linux]", "cross[arm64,darwin]", "package[arm64]"}},
		{targets: []string{"cross"}, want: []string{"cross[amd64,linux]", "cross[amd64,darwin]", "cross[arm64,linux]", "cross[arm64,darwin]"}},
		{targets: []string{"all"}, want: []string{"cross[amd64,linux]", "cross[amd64,darwin]", "cross[arm64,linux]", "cross[arm64,darwin]"}},
		{targets: []string{"cross[arm64]"}, err: `no instance "cross[arm64]": give one value per key of cross's matrix (goarch, goos), e.g. cross[amd64,linux]; its instances: cross[amd64,linux], cross[amd64,darwin], cross[arm64,linux], cross[arm64,darwin]`},
		{targets: []string{"crosss"}, err: `bottle.toml (did you mean "cross"?)`},
	} {
		order, err := g.Resolve(tt.targets, nil)
		if tt.err != "" {
			if err == nil || !strings.HasSuffix(err.Error(), tt.err) {
				t.Errorf("Resolve(%q) error %v, want %s", tt.targets, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeNames(order); !slices.Equal(got, tt.want) {
			t.Errorf("Resolve(%q) = %q, want %q", tt.targets, got, tt.want)
		}
	}
}

// TestMatrixOutputsDiffer: instances of one step writing one output is a
// load error at the step, naming the key to use.
func TestMatrixOutputsDiffer(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"same path", "[steps.cross]\nkind = \"exec\"\nmatrix = { goos = [\"linux\", \"darwin\"], goarch = [\"amd64\"] }\nrun = \"x\"\noutputs = [\"out/app-${matrix.goarch}\"]\n",
			`bottle.toml:5:1: steps.cross.outputs: instances cross[linux,amd64] and cross[darwin,amd64] both write "out/app-amd64": each instance needs outputs of its own: use ${matrix.goos} in the path`},
		{"inside", "[steps.cross]\nkind = \"exec\"\nmatrix = { d = [\"y\", \".\"] }\nrun = \"x\"\noutputs = [\"out/${matrix.d}\"]\n",
			`bottle.toml:5:1: steps.cross.outputs: instances cross[.] and cross[y] write "out" and "out/y" inside it: each instance needs outputs of its own: use ${matrix.d} in the path`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(LoadOptions{Root: writeTree(t, map[string]string{"bottle.toml": tt.src}), Kinds: kinds.Descriptions()})
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

// TestMatrixConfigCache: the parsed-config cache keeps the instances and
// their matrices: a cached load equals a fresh one.
func TestMatrixConfigCache(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": matrixConfig})
	fresh, err := Load(LoadOptions{Root: root, Kinds: kinds.Descriptions()})
	if err != nil {
		t.Fatal(err)
	}
	if err := workspace.Init(root); err != nil {
		t.Fatal(err)
	}
	if err := fresh.SaveConfigCache(); err != nil {
		t.Fatal(err)
	}
	cached, err := Load(LoadOptions{Root: root, Kinds: kinds.Descriptions()})
	if err != nil {
		t.Fatal(err)
	}
	if !cached.configFromCache {
		t.Fatal("the second load parsed the config again")
	}
	if !reflect.DeepEqual(fresh.Config, cached.Config) {
		t.Errorf("cached config differs:\n%+v\nvs\n%+v", fresh.Config, cached.Config)
	}
	if m := cached.Node("cross[arm64,darwin]").Step.Matrix; m == nil || m.Base != "cross" || !slices.Equal(m.Values, []string{"arm64", "darwin"}) {
		t.Errorf("cached matrix = %+v", m)
	}
	if got := nodeNames(cached.Node("package[arm64]").Needs); !slices.Equal(got, []string{"cross[arm64,darwin]", "cross[arm64,linux]"}) {
		t.Errorf("cached: package[arm64] needs %q", got)
	}
}
