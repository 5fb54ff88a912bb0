package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
)

// locating is the exec kind as a push is: its "where" value says where it
// put what it made (a registry host), its "digest" what it made.
type locating struct{ kinds.Kind }

func (locating) Name() string                   { return "locating" }
func (locating) LocationValues() []string       { return []string{"where"} }
func (locating) Results() []string              { return []string{"digest", "where"} }
func (locating) Effect() string                 { return "" }
func (l locating) Outputs(string, any) []string { return nil }

var _ steps.Locator = locating{}

// pushRunner makes the same thing each run and puts it somewhere new.
type pushRunner struct{ runs atomic.Int32 }

func (r *pushRunner) Run(ctx context.Context, job *kinds.Job) (*kinds.Outcome, error) {
	n := r.runs.Add(1)
	return &kinds.Outcome{Values: map[string]string{"digest": "sha256:same", "where": "host" + strconv.Itoa(int(n))}}, nil
}

// TestLocationLeftOutOfDownstreamKeys: a step that makes the same thing
// again but puts it elsewhere (a push to another registry) gives the steps
// after it the same key, so they are cut off; the result records which
// values are locations, and keeps them.
func TestLocationLeftOutOfDownstreamKeys(t *testing.T) {
	root := t.TempDir()
	write := func(cfg string) {
		if err := os.WriteFile(filepath.Join(root, "bottle.toml"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const cfg = `
[steps.push]
kind = "locating"
run = "push to %s"

[steps.use]
kind = "exec"
run = "write ${step.push.digest}"
outputs = ["use.out"]
`
	pr := &pushRunner{}
	fr := &fakeRunner{}
	ks := kinds.Descriptions()
	ks["locating"] = locating{kinds.Get("exec")}
	apply := func(target string) (*Applier, *graph.Plan, *Summary) {
		t.Helper()
		write(fmt.Sprintf(cfg, target))
		g, err := graph.Load(graph.LoadOptions{Root: root, Kinds: ks})
		if err != nil {
			t.Fatal(err)
		}
		ix, _ := files.OpenIndex(workspace.IndexPath(root))
		st, _ := workspace.Load(root)
		store, err := cache.Open(filepath.Join(root, ".cache"))
		if err != nil {
			t.Fatal(err)
		}
		pl := &graph.Planner{Graph: g, Index: ix, State: st, Cache: store}
		p, err := pl.Plan(nil)
		if err != nil {
			t.Fatal(err)
		}
		kind := func(name string) kinds.Kind {
			if name == "locating" {
				return fakeExec{kinds.Get("exec"), pr}
			}
			return fakeExec{kinds.Get("exec"), fr}
		}
		a := &Applier{Planner: pl, Store: store, Kind: kind, State: st, Options: Options{Jobs: 1}}
		sum, err := a.Apply(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		a.State.Compact()
		return a, p, sum
	}
	if _, _, sum := apply("laptop"); sum.Ran != 2 {
		t.Fatalf("first apply ran %d steps, want 2", sum.Ran)
	}
	// Another target: push runs again and puts the same thing elsewhere;
	// use's key is unchanged, so it is cut off.
	a, p, sum := apply("ci")
	if sum.Ran != 1 || sum.CutOff != 1 {
		t.Errorf("after pushing elsewhere: ran %d, cut off %d; want 1 and 1", sum.Ran, sum.CutOff)
	}
	res, err := a.Store.PeekResult(p.Step("push").Key)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Location, []string{"where"}) || res.Values["where"] != "host2" {
		t.Errorf("stored result: location %q, where %q; want [where] and host2", res.Location, res.Values["where"])
	}
	if got := a.State.Steps["push"].Result; got != res.Digest() {
		t.Errorf("state records result %s, want the result's digest %s", got.Short(), res.Digest().Short())
	}
}
