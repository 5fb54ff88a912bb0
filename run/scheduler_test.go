package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// fakeRunner writes each declared output with the step's run text and
// records which steps ran. A run text starting with "fail"
// fails; one starting with "slow" waits for ctx.
type fakeRunner struct {
	mu      sync.Mutex
	ran     []string
	stopped atomic.Int32
}

func (f *fakeRunner) Run(ctx context.Context, job *kinds.Job) (*kinds.Outcome, error) {
	f.mu.Lock()
	f.ran = append(f.ran, job.Step)
	f.mu.Unlock()
	spec := job.Spec.(*kinds.ExecSpec)
	switch {
	case strings.HasPrefix(spec.Run, "fail"):
		fmt.Fprintln(job.Log, "it broke")
		return nil, &kinds.ExitError{Code: 2}
	case strings.HasPrefix(spec.Run, "slow"):
		select {
		case <-ctx.Done():
			f.stopped.Add(1)
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
		}
	}
	for _, o := range spec.Outputs {
		content := strings.TrimPrefix(spec.Run, "write ")
		if err := os.WriteFile(filepath.Join(job.Workspace, o), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	return &kinds.Outcome{}, nil
}

// fakeExec is the exec kind with a fake runner.
type fakeExec struct {
	kinds.Kind
	fr runner
}

func (f fakeExec) Run(ctx context.Context, job *kinds.Job) (*kinds.Outcome, error) {
	return f.fr.Run(ctx, job)
}

func setup(t *testing.T, config string, fr *fakeRunner, opts Options) (*Applier, *graph.Plan) {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "bottle.toml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return plan(t, root, fr, opts)
}

func plan(t *testing.T, root string, fr *fakeRunner, opts Options) (*Applier, *graph.Plan) {
	g, err := graph.Load(graph.LoadOptions{Root: root, Kinds: kinds.Descriptions()})
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
	kind := func(name string) kinds.Kind { return fakeExec{kinds.Get("exec"), fr} }
	return &Applier{Planner: pl, Store: store, Kind: kind, State: st, Options: opts}, p
}

// TestJobsLimit holds every step inside its runner until the test lets it
// go, so the limit is observed, not hoped for: with -j 2 exactly two steps
// are held before any is let go, and the runner never has a third step
// inside it. (The reports may: a step is reported done only once its
// result is committed, while its slot already runs the next one.)
func TestJobsLimit(t *testing.T) {
	const nSteps, jobs = 6, 2
	var cfg strings.Builder
	for i := 0; i < nSteps; i++ {
		fmt.Fprintf(&cfg, "[steps.s%d]\nkind = \"exec\"\nrun = \"write %d\"\noutputs = [\"o%d\"]\n", i, i, i)
	}
	fr := &fakeRunner{}
	a, p := setup(t, cfg.String(), fr, Options{Jobs: jobs})
	gate := &gateRunner{next: fr, started: make(chan string, nSteps), release: make(chan struct{}, nSteps)}
	a.Kind = func(string) kinds.Kind { return fakeExec{kinds.Get("exec"), gate} }
	var events syncBuffer
	a.Reporter = lineReporter{&events}

	type result struct {
		sum *Summary
		err error
	}
	applied := make(chan result, 1)
	go func() {
		sum, err := a.Apply(context.Background(), p)
		applied <- result{sum, err}
	}()
	// A step is let go only once the limit's worth is held (a runner passes
	// the gate only with a release, so started-released are held at once).
	// The timeout only turns a hang (a limit below jobs) into a failure.
	started, released := 0, 0
	for released < nSteps {
		for want := min(released+jobs, nSteps); started < want; started++ {
			select {
			case <-gate.started:
			case <-time.After(10 * time.Second):
				t.Fatalf("%d nSteps started, %d let go: want %d started at once", started, released, want-released)
			}
		}
		gate.release <- struct{}{}
		released++
	}
	res := <-applied
	if res.err != nil {
		t.Fatal(res.err)
	}
	sum := res.sum
	if sum.Ran != nSteps {
		t.Errorf("ran %d, want %d", sum.Ran, nSteps)
	}
	if sum.Misses != nSteps || sum.Hits != 0 {
		t.Errorf("cache: %d hits, %d misses", sum.Hits, sum.Misses)
	}
	if peak := gate.peak.Load(); peak != jobs {
		t.Errorf("peak of %d steps inside the runner at once, want %d", peak, jobs)
	}
	if got := strings.Count(events.String(), " started\n"); got != nSteps {
		t.Errorf("%d started reports, want %d:\n%s", got, nSteps, events.String())
	}
}

// runner is what fakeExec runs steps with.
type runner interface {
	Run(ctx context.Context, job *kinds.Job) (*kinds.Outcome, error)
}

// gateRunner holds each step until the test sends on release, announcing it
// on started first, then lets next run it.
type gateRunner struct {
	next    runner
	started chan string
	release chan struct{}
	// inFlight counts the steps inside Run; peak is its highest.
	inFlight, peak atomic.Int32
}

// lineReporter writes "- STEP EVENT" for each report, in the order made.
type lineReporter struct{ w *syncBuffer }

func (r lineReporter) Started(sp *graph.StepPlan) { fmt.Fprintf(r.w, "- %s started\n", sp.Node.Name) }
func (r lineReporter) Finished(sp *graph.StepPlan, rep Report) {
	fmt.Fprintf(r.w, "- %s %s\n", sp.Node.Name, rep.Event)
}

func (g *gateRunner) Run(ctx context.Context, job *kinds.Job) (*kinds.Outcome, error) {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	g.started <- job.Step
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return g.next.Run(ctx, job)
}

// syncBuffer is a strings.Builder safe to write from the applier's goroutine
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const failCfg = `
[steps.slow]
kind = "exec"
run = "slow"
outputs = ["slow.out"]

[steps.bad]
kind = "exec"
run = "fail"
outputs = ["bad.out"]

[steps.after]
kind = "exec"
needs = ["bad"]
run = "write after"
outputs = ["after.out"]

[steps.other]
kind = "exec"
needs = ["good"]
run = "write other"
outputs = ["other.out"]

[steps.good]
kind = "exec"
run = "write good"
outputs = ["good.out"]
`

func TestFailFast(t *testing.T) {
	fr := &fakeRunner{}
	a, p := setup(t, failCfg, fr, Options{Jobs: 2})
	sum, err := a.Apply(context.Background(), p)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if sum.Failed != 1 || sum.Stopped != 1 || fr.stopped.Load() != 1 {
		t.Errorf("failed %d stopped %d (runner saw %d stops)", sum.Failed, sum.Stopped, fr.stopped.Load())
	}
	if sum.Ran+sum.Failed+sum.Stopped+sum.Skipped != 5 {
		t.Errorf("summary does not account for every step: %+v", sum)
	}
	if len(sum.Failures) != 1 || sum.Failures[0].Step != "bad" || len(sum.Failures[0].Tail) != 1 || sum.Failures[0].Tail[0] != "it broke" {
		t.Errorf("failures = %+v", sum.Failures)
	}
	for _, s := range fr.ran {
		if s == "after" {
			t.Error("a step whose need failed ran")
		}
	}
}

func TestKeepGoing(t *testing.T) {
	fr := &fakeRunner{}
	cfg := strings.Replace(failCfg, `run = "slow"`, `run = "write slow"`, 1)
	a, p := setup(t, cfg, fr, Options{Jobs: 1, KeepGoing: true})
	sum, err := a.Apply(context.Background(), p)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v", err)
	}
	if sum.Ran != 3 || sum.Failed != 1 || sum.Skipped != 1 {
		t.Errorf("ran %d failed %d skipped %d; want 3, 1, 1", sum.Ran, sum.Failed, sum.Skipped)
	}
	// Finished work is recorded: a second plan has them up to date.
	_, p2 := plan(t, a.Planner.Graph.Root, fr, Options{})
	for _, name := range []string{"slow", "good", "other"} {
		if st := p2.Step(name).Status; st != graph.UpToDate {
			t.Errorf("%s is %s after keep-going, want up-to-date", name, st)
		}
	}
}

func TestCutoffAndRestore(t *testing.T) {
	cfg := `
[steps.gen]
kind = "exec"
inputs = ["src.txt"]
run = "write constant"
outputs = ["gen.out"]

[steps.use]
kind = "exec"
inputs = ["gen.out"]
run = "write used"
outputs = ["use.out"]
`
	fr := &fakeRunner{}
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "bottle.toml"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(root, "src.txt"), []byte("v1"), 0o644)
	a, p := plan(t, root, fr, Options{Jobs: 2})
	if _, err := a.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	a.State.Compact()
	// gen's input changes but its output does not: use is cut off.
	os.WriteFile(filepath.Join(root, "src.txt"), []byte("v2"), 0o644)
	a, p = plan(t, root, fr, Options{Jobs: 2})
	if p.Step("use").Status != graph.Pending {
		t.Fatalf("use is %s, want pending", p.Step("use").Status)
	}
	sum, err := a.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ran != 1 || sum.CutOff != 1 {
		t.Errorf("ran %d, cut off %d; want 1 and 1", sum.Ran, sum.CutOff)
	}
	a.State.Compact()
	// Back to v1: gen's old result is in the cache and is restored.
	os.WriteFile(filepath.Join(root, "src.txt"), []byte("v1"), 0o644)
	a, p = plan(t, root, fr, Options{Jobs: 2})
	if st := p.Step("gen").Status; st != graph.Restore {
		t.Fatalf("gen is %s, want restore", st)
	}
	sum, err = a.Apply(context.Background(), p)
	if err != nil || sum.Restored != 1 || sum.Hits != 1 {
		t.Errorf("restore: %+v, %v", sum, err)
	}
}

// TestTimeoutAppliesToEveryKind: the scheduler, not the kind, enforces a
// step's timeout; the fake runner knows nothing of timeouts and only waits
// for its context.
func TestTimeoutAppliesToEveryKind(t *testing.T) {
	fr := &fakeRunner{}
	a, p := setup(t, "[steps.hang]\nkind = \"exec\"\nrun = \"slow\"\ntimeout = \"50ms\"\n", fr, Options{Jobs: 1})
	sum, err := a.Apply(context.Background(), p)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if len(sum.Failures) != 1 || sum.Failures[0].Err == nil || sum.Failures[0].Err.Error() != "timed out after 50ms" {
		t.Fatalf("failures = %+v, want one 'timed out after 50ms'", sum.Failures)
	}
	if sum.Stopped != 0 || sum.Interrupted {
		t.Errorf("a timeout is a failure, not an interrupt: %+v", sum)
	}
}

// TestApplyLeavesThePlanAlone: the plan is a value. Apply keeps what
// happened in its own records; the plan's steps read the same afterwards,
// pending ones included, so a plan can be printed, saved or compared after
// it was applied.
func TestApplyLeavesThePlanAlone(t *testing.T) {
	cfg := `
[steps.gen]
kind = "exec"
run = "write gen"
outputs = ["gen.out"]

[steps.use]
kind = "exec"
inputs = ["gen.out"]
run = "write use"
outputs = ["use.out"]
`
	a, p := setup(t, cfg, &fakeRunner{}, Options{Jobs: 2})
	type view struct {
		status graph.Status
		reason string
		key    cache.Key
		digest cache.Digest
		values string
	}
	look := func() map[string]view {
		m := map[string]view{}
		for _, sp := range p.Steps {
			m[sp.Node.Name] = view{sp.Status, sp.Reason, sp.Key, sp.ResultDigest, fmt.Sprint(sp.Values)}
		}
		return m
	}
	before := look()
	if before["use"].status != graph.Pending {
		t.Fatalf("use is %s before apply, want pending", before["use"].status)
	}
	sum, err := a.Apply(context.Background(), p)
	if err != nil || sum.Ran != 2 {
		t.Fatalf("apply: %+v, %v; want 2 ran", sum, err)
	}
	if after := look(); !reflect.DeepEqual(before, after) {
		t.Errorf("apply changed the plan:\nbefore %+v\nafter  %+v", before, after)
	}
}
