package graph

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/kinds"
)

// genConfig is a workspace whose step gen writes what build (an
// image.build) takes as its context or Dockerfile.
func genConfig(genOutputs, buildFields string) string {
	return "[steps.gen]\nkind = \"exec\"\nrun = \"sh gen.sh\"\ninputs = [\"gen.sh\"]\noutputs = " + genOutputs + "\n\n" +
		"[steps.build]\nkind = \"image.build\"\ntags = [\"t\"]\n" + buildFields + "\n"
}

// TestGeneratedContextIsANeed: an image.build whose context or Dockerfile
// is (or lies under) another step's declared output needs that step, plans
// pending after it on a fresh checkout, and keys the produced files through
// its result: the same key whether or not they are on disk at plan time,
// another when the producer's result differs.
func TestGeneratedContextIsANeed(t *testing.T) {
	tests := []struct {
		name        string
		genOutputs  string
		buildFields string
		tree        map[string]string // besides bottle.toml and gen.sh
		made        map[string]string // what gen writes, for the second plan
		sources     []string          // build's own (hashed) files
	}{
		{"context is an output", `["out/ctx"]`, `context = "out/ctx"`, nil,
			map[string]string{"out/ctx/Dockerfile": "FROM scratch\nCOPY hello.txt /\n", "out/ctx/hello.txt": "hi\n"}, nil},
		{"context under an output", `["out"]`, `context = "out/ctx"`, nil,
			map[string]string{"out/ctx/Dockerfile": "FROM scratch\n", "out/ctx/.dockerignore": "x\n"}, nil},
		{"context holds outputs", `["out/ctx/Dockerfile", "out/ctx/hello.txt"]`, `context = "out/ctx"`, nil,
			map[string]string{"out/ctx/Dockerfile": "FROM scratch\nCOPY hello.txt /\n", "out/ctx/hello.txt": "hi\n"}, nil},
		{"Dockerfile is an output, context in the workspace", `["gen/Dockerfile"]`, `dockerfile = "gen/Dockerfile"`,
			map[string]string{"hello.txt": "hi\n"},
			map[string]string{"gen/Dockerfile": "FROM scratch\nCOPY hello.txt /\n"},
			[]string{"bottle.toml", "gen.sh", "hello.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, pl := genPlanner(t, genConfig(tt.genOutputs, tt.buildFields), tt.tree)
			decided := func() (*StepPlan, []string) {
				t.Helper()
				p, err := pl.Plan(nil)
				if err != nil {
					t.Fatalf("plan: %v", err)
				}
				sp := p.Step("build")
				if sp.Status != Pending || sp.After != "gen" {
					t.Fatalf("build is %s after %q, want pending after gen", sp.Status, sp.After)
				}
				if !sp.Node.IsImplicit("gen") {
					t.Errorf("build's need on gen is not implied by its context: needs %v", sp.Node.Needs)
				}
				var paths []string
				for _, e := range sp.Sources {
					paths = append(paths, e.Path)
				}
				if !slices.Equal(paths, tt.sources) {
					t.Errorf("build's own files %q, want %q", paths, tt.sources)
				}
				// gen has run, with result digest d: build is decided.
				dsp, err := pl.Decide(p, sp, func(need string) (cache.Digest, bool) { return cache.SumString("gen result"), true })
				if err != nil {
					t.Fatal(err)
				}
				return dsp, dsp.KeyLines()
			}
			fresh, freshLines := decided()
			if !slices.Contains(freshLines, "dep gen "+cache.SumString("gen result").String()) {
				t.Errorf("no dep line for gen in %q", freshLines)
			}
			// gen has run: its files are on disk, and they change nothing
			// in build's key (its result stands for them).
			for p, c := range tt.made {
				full := filepath.Join(root, filepath.FromSlash(p))
				os.MkdirAll(filepath.Dir(full), 0o755)
				if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			after, afterLines := decided()
			if after.Key != fresh.Key {
				t.Errorf("the key changed once gen's files exist:\nfresh %q\nafter %q", freshLines, afterLines)
			}
			// Another result of gen is another key.
			p, _ := pl.Plan(nil)
			other, err := pl.Decide(p, p.Step("build"), func(string) (cache.Digest, bool) { return cache.SumString("other"), true })
			if err != nil {
				t.Fatal(err)
			}
			if other.Key == fresh.Key {
				t.Error("another result of gen gives build the same key")
			}
		})
	}
}

// TestMissingContextIsAFieldError: a context or Dockerfile that is neither
// in the workspace nor another step's output is a plan error naming the
// field, at its position.
func TestMissingContextIsAFieldError(t *testing.T) {
	tests := []struct {
		name   string
		config string
		tree   map[string]string
		want   string
	}{
		{"context nowhere", genConfig(`["out/other"]`, `context = "out/ctx"`), nil,
			`bottle.toml:10:1: steps.build.context: build context "out/ctx" is not a folder of the workspace, and no step declares it as an output`},
		{"Dockerfile nowhere", genConfig(`["out/other"]`, `dockerfile = "gen/Dockerfile"`), nil,
			`bottle.toml:10:1: steps.build.dockerfile: no Dockerfile "gen/Dockerfile" in the build context ".", and no step declares it as an output`},
		{"context made without its Dockerfile", genConfig(`["out/ctx/hello.txt"]`, `context = "out/ctx"`), nil,
			`steps.build.dockerfile: no Dockerfile "Dockerfile" in the build context "out/ctx", and no step declares it as an output`},
		{"context is a file", genConfig(`["out/other"]`, `context = "ctx"`), map[string]string{"ctx": "x"},
			`steps.build.context: build context "ctx" is a file, not a folder`},
		{"a generated .dockerignore in a workspace context", genConfig(`[".dockerignore"]`, ``), map[string]string{"Dockerfile": "FROM scratch\n"},
			`steps.build.context: the .dockerignore of build context "." is another step's output`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, pl := genPlanner(t, tt.config, tt.tree)
			_, err := pl.Plan([]string{"build"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("plan error %v\nwant one holding %q", err, tt.want)
			}
		})
	}
}

// genPlanner writes a workspace of config, gen.sh and tree, and plans it
// with the real kinds and no cache.
func genPlanner(t *testing.T, config string, tree map[string]string) (string, *Planner) {
	t.Helper()
	all := map[string]string{"bottle.toml": config, "gen.sh": "true\n"}
	for p, c := range tree {
		all[p] = c
	}
	root := writeTree(t, all)
	pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(nil), Kinds: kinds.Descriptions()}, noCache{})
	if err != nil {
		t.Fatal(err)
	}
	return root, pl
}
