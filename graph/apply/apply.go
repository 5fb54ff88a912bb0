// Package apply executes a plan: it restores cached results, runs steps in
// dependency order up to -j at once, stores each result the moment it
// succeeds and records it in the workspace state. It is the only caller of
// step runners and the only writer of the cache; planning (package graph)
// never receives either.
package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
)

// Store is the writable cache apply needs.
type Store interface {
	graph.ResultSource
	// GetResult is PeekResult that also marks the result used (prune
	// drops the least recently used first).
	GetResult(k cache.Key) (*cache.Result, error)
	PutFile(path string) (cache.Digest, int64, error)
	PutResult(r *cache.Result) error
	RestoreFile(d cache.Digest, dst string, perm fs.FileMode) error
}

// Options tune a run.
type Options struct {
	Jobs      int  // steps at once; <= 0 means 1
	KeepGoing bool // run every step whose needs succeeded, despite failures
	LogTail   int  // lines of a failed step's log to show; default 20
}

// Applier runs plans.
type Applier struct {
	Planner  *graph.Planner
	Store    Store
	Runners  map[string]steps.Runner
	State    *workspace.State
	Progress *Progress
	Hold     interface{ Add(...cache.Key) error } // may be nil
	// Environ is the host environment a command's environment is drawn
	// from; default os.Environ().
	Environ []string
	Options
}

// Failure is one step that did not succeed.
type Failure struct {
	Step    string
	Err     error
	LogPath string // workspace-relative
	Tail    []string
}

// Summary is what a run did.
type Summary struct {
	Ran, Restored, CutOff, UpToDate, Failed, Skipped, Stopped, Unstored int
	Hits, Misses                                                        int
	Failures                                                            []*Failure
	Interrupted                                                         bool
}

// Line is the end-of-run summary line.
func (s *Summary) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d ran, %d restored, %d cut off early, %d failed", s.Ran, s.Restored, s.CutOff, s.Failed)
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", s.Skipped)
	}
	if s.Stopped > 0 {
		fmt.Fprintf(&b, ", %d stopped", s.Stopped)
	}
	if s.UpToDate > 0 {
		fmt.Fprintf(&b, ", %d up to date", s.UpToDate)
	}
	fmt.Fprintf(&b, "; cache: %d %s, %d %s", s.Hits, plural(s.Hits, "hit", "hits"), s.Misses, plural(s.Misses, "miss", "misses"))
	if s.Unstored > 0 {
		fmt.Fprintf(&b, "; %d %s not stored (inputs changed while running)", s.Unstored, plural(s.Unstored, "result", "results"))
	}
	return b.String() + "."
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ErrFailed is returned when at least one step failed.
var ErrFailed = errors.New("apply failed")

type outcome struct {
	sp       *graph.StepPlan
	status   string // "ran", "restored", "failed", "stopped"
	res      *cache.Result
	err      error
	unstored string // why the result was not stored
	fellBack string // restore fell back to running: why
	dur      time.Duration
}

// Apply runs plan. It returns ErrFailed (wrapped) when a step failed, and
// the context's error when interrupted; the summary is filled either way.
func (a *Applier) Apply(ctx context.Context, plan *graph.Plan) (*Summary, error) {
	jobs := a.Jobs
	if jobs <= 0 {
		jobs = 1
	}
	sum := &Summary{}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	// Dependents and counts of unfinished needs, within the plan.
	waiting := map[*graph.StepPlan]int{}
	dependents := map[string][]*graph.StepPlan{}
	for _, sp := range plan.Steps {
		for _, d := range sp.Node.Needs {
			if plan.Step(d.Name) != nil {
				waiting[sp]++
				dependents[d.Name] = append(dependents[d.Name], sp)
			}
		}
	}
	var ready []*graph.StepPlan
	for _, sp := range plan.Steps {
		if waiting[sp] == 0 {
			ready = append(ready, sp)
		}
	}
	failed := map[string]bool{}
	done := make(chan *outcome)
	running := 0
	stopping := false
	wasPending := map[*graph.StepPlan]bool{}
	for _, sp := range plan.Steps {
		wasPending[sp] = sp.Status == graph.Pending
	}

	finish := func(sp *graph.StepPlan, ok bool) {
		for _, dep := range dependents[sp.Node.Name] {
			if !ok {
				failed[dep.Node.Name] = true
			}
			waiting[dep]--
			if waiting[dep] == 0 {
				ready = append(ready, dep)
			}
		}
	}

	accounted := 0
	fail := func(sp *graph.StepPlan) {
		failed[sp.Node.Name] = true
		finish(sp, false)
		if !a.KeepGoing && !stopping {
			stopping = true
			stop()
		}
	}
	for (len(ready) > 0 && !stopping) || running > 0 {
		if runCtx.Err() != nil {
			stopping = true
		}
		// Start what can start.
		for len(ready) > 0 && !stopping {
			sp := ready[0]
			if failed[sp.Node.Name] {
				ready = ready[1:]
				accounted++
				sum.Skipped++
				a.Progress.Step(sp, "skipped", "a step it needs did not succeed", 0)
				finish(sp, false)
				continue
			}
			if sp.Status == graph.Pending {
				if err := a.Planner.Decide(plan, sp); err != nil {
					ready = ready[1:]
					accounted++
					sum.Failed++
					sum.Failures = append(sum.Failures, &Failure{Step: sp.Node.Name, Err: err})
					a.Progress.Step(sp, "failed", err.Error(), 0)
					fail(sp)
					continue
				}
			}
			if sp.Status == graph.UpToDate {
				ready = ready[1:]
				accounted++
				if wasPending[sp] {
					sum.CutOff++
					a.Progress.Step(sp, "cut off", "upstream result unchanged", 0)
				} else {
					sum.UpToDate++
				}
				finish(sp, true)
				continue
			}
			if running >= jobs {
				break
			}
			ready = ready[1:]
			running++
			a.Progress.Start(sp)
			go func(sp *graph.StepPlan) { done <- a.do(runCtx, plan, sp) }(sp)
		}
		if running == 0 {
			continue
		}
		o := <-done
		running--
		accounted++
		sp := o.sp
		if o.status == "ran" || o.status == "restored" {
			if err := a.record(sp, o); err != nil {
				o.status, o.err = "failed", fmt.Errorf("recording state: %w", err)
			}
		}
		switch o.status {
		case "ran", "restored":
			if o.status == "ran" {
				sum.Ran++
				sum.Misses++
			} else {
				sum.Restored++
				sum.Hits++
			}
			detail := o.fellBack
			if o.unstored != "" {
				sum.Unstored++
				detail = o.unstored
			}
			a.Progress.Step(sp, o.status, detail, o.dur)
			finish(sp, true)
		case "stopped":
			sum.Stopped++
			a.Progress.Step(sp, "stopped", "", o.dur)
			fail(sp)
		default:
			sum.Failed++
			f := &Failure{Step: sp.Node.Name, Err: o.err, LogPath: workspace.LogRel(sp.Node.Name)}
			f.Tail = tail(filepath.Join(a.Planner.Graph.Root, f.LogPath), a.logTail())
			sum.Failures = append(sum.Failures, f)
			a.Progress.Step(sp, "failed", o.err.Error(), o.dur)
			fail(sp)
		}
	}
	// Whatever never started (fail-fast, or an interrupt) is skipped.
	sum.Skipped += len(plan.Steps) - accounted
	if ctx.Err() != nil {
		sum.Interrupted = true
		return sum, ctx.Err()
	}
	if sum.Failed > 0 {
		return sum, ErrFailed
	}
	return sum, nil
}

func (a *Applier) logTail() int {
	if a.LogTail > 0 {
		return a.LogTail
	}
	return 20
}

// record makes a finished step's result visible downstream and in the state.
func (a *Applier) record(sp *graph.StepPlan, o *outcome) error {
	res := o.res
	sp.Status = graph.UpToDate
	sp.ResultDigest = res.Digest()
	sp.Values = res.Values
	if o.unstored != "" {
		// The state must not claim this key: the next plan reruns the step.
		return a.State.Forget(sp.Node.Name)
	}
	if a.Hold != nil {
		a.Hold.Add(res.Key)
	}
	return a.State.Record(&workspace.Step{
		Name:    sp.Node.Name,
		Key:     res.Key,
		Result:  sp.ResultDigest,
		Files:   res.Files,
		Values:  res.Values,
		Log:     res.Log,
		Applied: time.Now().UTC(),
	})
}

// do restores or runs one step. It runs on its own goroutine and touches no
// shared bookkeeping.
func (a *Applier) do(ctx context.Context, plan *graph.Plan, sp *graph.StepPlan) *outcome {
	start := time.Now()
	if sp.Status == graph.Restore && sp.Cached != nil {
		err := a.restore(sp)
		if err == nil {
			err = a.recreate(ctx, plan, sp)
		}
		if err == nil {
			os.Remove(filepath.Join(a.Planner.Graph.Root, workspace.LogRel(sp.Node.Name)))
			return &outcome{sp: sp, status: "restored", res: sp.Cached, dur: time.Since(start)}
		}
		if ctx.Err() != nil {
			return &outcome{sp: sp, status: "stopped", err: ctx.Err()}
		}
		o := a.run(ctx, plan, sp)
		o.fellBack = fmt.Sprintf("ran instead of restoring: %v", err)
		o.dur = time.Since(start)
		return o
	}
	o := a.run(ctx, plan, sp)
	o.dur = time.Since(start)
	return o
}

// recreate asks the runner to bring back the effect of a restored result
// (image.build loads its archive into the engine).
func (a *Applier) recreate(ctx context.Context, plan *graph.Plan, sp *graph.StepPlan) error {
	n := sp.Node
	rs, ok := a.Runners[n.Kind.Name()].(steps.Restorer)
	if !ok {
		return nil
	}
	spec, err := a.expand(plan, n)
	if err != nil {
		return err
	}
	var log strings.Builder
	err = rs.Restore(ctx, &steps.Job{Step: n.Name, Key: sp.Key.String(), Workspace: a.root(), Spec: spec, Env: a.env(n), Log: &log}, sp.Cached.Values)
	if err != nil {
		return fmt.Errorf("recreating its %s: %w", n.Effect(), err)
	}
	return nil
}

func (a *Applier) root() string { return a.Planner.Graph.Root }

func (a *Applier) abs(p string) string { return filepath.Join(a.root(), filepath.FromSlash(p)) }

// restore copies a cached result into the workspace, verifying every blob.
func (a *Applier) restore(sp *graph.StepPlan) error {
	// Read the result again: it may have been pruned since planning, and
	// reading marks it used.
	res, err := a.Store.GetResult(sp.Key)
	if err != nil {
		return err
	}
	sp.Cached = res
	if err := a.removeOutputs(sp.Node); err != nil {
		return err
	}
	fs := append([]cache.File(nil), sp.Cached.Files...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	for _, f := range fs {
		dst := a.abs(f.Path)
		switch {
		case f.Mode.IsDir():
			if err := os.MkdirAll(dst, f.Mode.Perm()|0o700); err != nil {
				return err
			}
		case f.Mode&os.ModeSymlink != 0:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(f.Link, dst); err != nil {
				return err
			}
		default:
			if err := a.Store.RestoreFile(f.Digest, dst, f.Mode.Perm()); err != nil {
				a.removeOutputs(sp.Node) // never leave a partial restore behind
				return err
			}
		}
	}
	return nil
}

func (a *Applier) removeOutputs(n *graph.Node) error {
	for _, o := range n.Outputs {
		if err := os.RemoveAll(a.abs(o)); err != nil {
			return fmt.Errorf("removing old output %s: %w", o, err)
		}
	}
	return nil
}

// env is the command's environment (SPEC §4).
func (a *Applier) env(n *graph.Node) []string {
	host := a.Environ
	if host == nil {
		host = os.Environ()
	}
	get := func(name string) (string, bool) {
		for i := len(host) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(host[i], name+"="); ok {
				return v, true
			}
		}
		return "", false
	}
	var env []string
	for _, name := range []string{"PATH", "HOME", "USER", "TMPDIR", "LANG", "TERM"} {
		if v, ok := get(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for _, name := range n.EnvNames {
		if v, ok := get(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return append(env, "BOTTLE_STEP="+n.Name, "BOTTLE_WORKSPACE="+a.root())
}

func (a *Applier) run(ctx context.Context, plan *graph.Plan, sp *graph.StepPlan) *outcome {
	n := sp.Node
	fail := func(err error) *outcome { return &outcome{sp: sp, status: "failed", err: err} }
	if err := a.removeOutputs(n); err != nil {
		return fail(err)
	}
	logPath := a.abs(workspace.LogRel(n.Name))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fail(err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return fail(fmt.Errorf("creating log: %w", err))
	}
	defer logf.Close()
	spec, err := a.expand(plan, n)
	if err != nil {
		return fail(err)
	}
	runner := a.Runners[n.Kind.Name()]
	if runner == nil {
		return fail(fmt.Errorf("no runner for kind %s", n.Kind.Name()))
	}
	started := time.Now()
	out, err := runner.Run(ctx, &steps.Job{
		Step:      n.Name,
		Key:       sp.Key.String(),
		Workspace: a.root(),
		Spec:      spec,
		Env:       a.env(n),
		Timeout:   n.Step.Timeout,
		Log:       logf,
	})
	if err != nil {
		if ctx.Err() != nil {
			return &outcome{sp: sp, status: "stopped", err: err}
		}
		return fail(err)
	}
	res := &cache.Result{
		Key:      sp.Key,
		Step:     n.Name,
		Kind:     n.Kind.Name(),
		Values:   map[string]string{},
		Created:  time.Now().UTC(),
		KeyLines: sp.KeyLines(),
	}
	for k, v := range out.Values {
		res.Values[k] = v
	}
	if n.Kind.Name() == "exec" {
		res.Values["outputs"] = cache.OutputList(n.Outputs)
	}
	for _, o := range n.Outputs {
		fs, err := a.capture(o)
		if err != nil {
			return fail(err)
		}
		res.Files = append(res.Files, fs...)
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	if err := logf.Sync(); err == nil {
		if fi, err := logf.Stat(); err == nil && fi.Size() > 0 {
			d, size, err := a.Store.PutFile(logPath)
			if err != nil {
				return fail(fmt.Errorf("storing log: %w", err))
			}
			res.Log, res.LogSize = d, size
		}
	}
	res.Duration = time.Since(started)
	o := &outcome{sp: sp, status: "ran", res: res}
	if why := a.inputsChanged(sp); why != "" {
		o.unstored = why + " while the step ran; result not stored"
		return o
	}
	if err := a.Store.PutResult(res); err != nil {
		return fail(fmt.Errorf("storing result: %w", err))
	}
	return o
}

// capture stores one declared output (a file, link or folder) in the cache.
func (a *Applier) capture(out string) ([]cache.File, error) {
	root := a.abs(out)
	fi, err := os.Lstat(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("declared output %s was not created", out)
		}
		return nil, err
	}
	var res []cache.File
	add := func(rel string, fi fs.FileInfo) error {
		p := filepath.Join(a.root(), filepath.FromSlash(rel))
		switch {
		case fi.IsDir():
			res = append(res, cache.File{Path: rel, Mode: fs.ModeDir | fi.Mode().Perm()})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			res = append(res, cache.File{Path: rel, Mode: fs.ModeSymlink | 0o777, Link: target})
		case fi.Mode().IsRegular():
			d, size, err := a.Store.PutFile(p)
			if err != nil {
				return fmt.Errorf("storing %s: %w", rel, err)
			}
			res = append(res, cache.File{Path: rel, Digest: d, Size: size, Mode: fi.Mode().Perm()})
		default:
			return fmt.Errorf("output %s is neither a file, a folder nor a link", rel)
		}
		return nil
	}
	if !fi.IsDir() {
		return res, add(out, fi)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.root(), p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		return add(filepath.ToSlash(rel), info)
	})
	return res, err
}

// inputsChanged re-hashes the step's own inputs after it ran; an input
// edited meanwhile means the result may not match its key.
func (a *Applier) inputsChanged(sp *graph.StepPlan) string {
	if len(sp.Sources) == 0 {
		return ""
	}
	paths := make([]string, len(sp.Sources))
	for i, e := range sp.Sources {
		paths[i] = e.Path
	}
	now, err := a.Planner.Index.Hash(a.root(), paths) // the index is safe for concurrent use
	if err != nil {
		return "an input went missing"
	}
	for i := range now {
		if !sameEntry(now[i], sp.Sources[i]) {
			return now[i].Path + " changed"
		}
	}
	return ""
}

func sameEntry(a, b files.Entry) bool {
	return a.Digest == b.Digest && a.Link == b.Link && a.Executable() == b.Executable()
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const max = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := fi.Size() - max
	if off < 0 {
		off = 0
	}
	b, err := io.ReadAll(io.NewSectionReader(f, off, max))
	if err != nil {
		return nil
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first may be cut
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// expand fills in a step's references for running it.
func (a *Applier) expand(plan *graph.Plan, n *graph.Node) (any, error) {
	return config.ExpandSpec(n.Step.Spec, a.Planner.Graph.StaticRefs(a.Planner.LookupEnv, func(r config.Ref) (string, error) {
		dp := plan.Step(r.Name)
		if dp == nil {
			return "", fmt.Errorf("step %s is not part of this run", r.Name)
		}
		return dp.Values[r.Field], nil
	}))
}
