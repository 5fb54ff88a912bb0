package graph

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/kinds"
)

// oneResult is a cache holding one result.
type oneResult struct{ res *cache.Result }

func (c oneResult) PeekResult(k cache.Key) (*cache.Result, error) {
	if c.res != nil && k == c.res.Key {
		return c.res, nil
	}
	return nil, cache.ErrMiss
}

// TestKnownKeyLinesOfPending: a pending step's known key lines are exactly
// the lines its key has once its need is decided, less the need's line.
func TestKnownKeyLinesOfPending(t *testing.T) {
	root := writeTree(t, baseTree())
	env := map[string]string{"MODE": "fast"}
	plan := func(c ResultSource) (*Planner, *Plan) {
		pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(env), Kinds: kinds.Descriptions()}, c)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pl.Plan(nil)
		if err != nil {
			t.Fatal(err)
		}
		return pl, p
	}
	pl, p := plan(noCache{})
	use := p.Step("use")
	if use.Status != Pending || use.After != "gen" {
		t.Fatalf("use is %s after %q, want pending after gen", use.Status, use.After)
	}
	if use.KeyLines() != nil {
		t.Fatal("a pending step has key lines of its own")
	}
	lines, unknown, err := pl.KnownKeyLines(p, use)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(unknown, []string{"gen"}) {
		t.Errorf("unknown = %q, want [gen]", unknown)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "dep ") {
			t.Errorf("a line of an unknown need: %q", l)
		}
	}
	for _, want := range []string{"bottle-key ", "kind exec ", "field outputs ", "field run "} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, want) }) {
			t.Errorf("no line %q… in %q", want, lines)
		}
	}

	// With gen's result in the cache, use is decided: its whole key lines
	// are the known ones plus gen's.
	gen := p.Step("gen")
	res := &cache.Result{Key: gen.Key, Step: "gen", Kind: "exec", Files: []cache.File{{Path: "gen.txt", Digest: cache.SumString("x"), Size: 1, Mode: 0o644}}}
	pl2, p2 := plan(oneResult{res})
	use2 := p2.Step("use")
	if !use2.Status.Decided() {
		t.Fatalf("use is %s with gen's result cached", use2.Status)
	}
	whole := use2.KeyLines()
	if got := WithoutDeps(whole, []string{"gen"}); !reflect.DeepEqual(got, lines) {
		t.Errorf("known lines of the pending step:\n%s\nthe decided key's, less gen:\n%s", strings.Join(lines, "\n"), strings.Join(got, "\n"))
	}
	if len(whole) != len(lines)+1 || !strings.HasPrefix(whole[len(whole)-1], "dep gen ") {
		t.Errorf("decided key lines %q: want the known ones and dep gen", whole)
	}
	// A decided step's known lines are its key lines.
	got, unknown, err := pl2.KnownKeyLines(p2, use2)
	if err != nil || unknown != nil || !reflect.DeepEqual(got, whole) {
		t.Errorf("decided: %q, %q, %v; want its key lines", got, unknown, err)
	}
}

func TestWithoutDeps(t *testing.T) {
	lines := []string{"bottle-key 1", "field run \"dep a x\"", "dep a 00", "dep ab 11", "dep b 22"}
	for _, tc := range []struct {
		needs []string
		want  []string
	}{
		{nil, lines},
		{[]string{"a"}, []string{"bottle-key 1", "field run \"dep a x\"", "dep ab 11", "dep b 22"}},
		{[]string{"a", "b"}, []string{"bottle-key 1", "field run \"dep a x\"", "dep ab 11"}},
		{[]string{"c"}, lines},
	} {
		if got := WithoutDeps(lines, tc.needs); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("WithoutDeps(%q) = %q, want %q", tc.needs, got, tc.want)
		}
	}
}

// TestSavedSourceLines: a saved plan's record of a step's input files gives
// back the key lines the step's key had for them: plain, executable, a
// link, a name that needs quoting.
func TestSavedSourceLines(t *testing.T) {
	tree := baseTree()
	tree["src/with space.txt"] = "s\n"
	tree["src/x.txt"] = "x\n"
	root := writeTree(t, tree)
	if err := os.Chmod(filepath.Join(root, "src/x.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(root, "src/l.txt")); err != nil {
		t.Fatal(err)
	}
	pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(nil), Kinds: kinds.Descriptions()}, noCache{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pl.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := p.Step("gen")
	want := sp.Node.SourceLines(sp.Sources)
	if len(want) != 5 {
		t.Fatalf("gen has %d input lines, want 5: %q", len(want), want)
	}
	var saved []SourceJSON
	for _, s := range p.JSON(pl.Graph, true).Steps {
		if s.Name == "gen" {
			saved = s.Sources
		}
	}
	if got := SavedSourceLines(saved); !reflect.DeepEqual(got, want) {
		t.Errorf("from the saved plan:\n%s\nthe key's:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
