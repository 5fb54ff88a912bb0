package graph

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
)

// Status is what apply will do with a step.
type Status string

const (
	UpToDate Status = "up-to-date"
	Restore  Status = "restore"
	Run      Status = "run"
	Replace  Status = "replace"
	Pending  Status = "pending"
)

// Decided reports whether the step's key is known.
func (s Status) Decided() bool { return s != Pending }

// WillRun reports whether the step's command will (or may) run.
func (s Status) WillRun() bool { return s == Run || s == Replace }

// ResultSource looks results up without changing anything: planning must not
// even refresh a cache entry's use time.
type ResultSource interface {
	PeekResult(k cache.Key) (*cache.Result, error)
}

// Outside is what planning may ask of the world beyond the workspace, the
// host's environment and the local cache. Every such read goes through it,
// so each is visible here (SPEC §7 lists them); cmd/bottle builds it from
// code that package graph never imports. Each method only reads.
type Outside interface {
	// EffectExists reports whether the effect that a step of kind left
	// with key, described by the values it recorded, still exists: the
	// image in the engine, the manifest in the registry, the machine
	// (plan and apply --refresh).
	EffectExists(kind, key string, values map[string]string) (bool, error)
	// Platform reports the OS and architecture ("linux/arm64") of the
	// engine that runs a step of kind with spec, for a kind whose results
	// depend on it (steps.PlatformKeyed): for image.build, the Docker
	// engine's or settings.buildkit's builder's, as the spec's builder
	// says. It is asked for each such step, so it keeps each engine's
	// answer for the run; it only reads.
	Platform(kind string, spec any) (string, error)
}

// The platform line of a key when the engine could not say (an error of
// Outside.Platform, or no Outside). The step then never takes a result
// from the cache: it runs, and apply reports the engine's own error.
const (
	PlatformUnreachable = "engine-unreachable"
	PlatformNotAsked    = "engine-not-asked"
)

// Planner computes plans. It holds no runner and no writable cache.
type Planner struct {
	Graph  *Graph
	Index  *files.Index
	State  *workspace.State
	Cache  ResultSource
	Getenv func(string) (string, bool)
	// Replace names steps to run even if up to date (--replace).
	Replace map[string]bool
	// Debug, when set, receives every key line hashed (BOTTLE_DEBUG=hash).
	Debug io.Writer
	// Outside is asked what planning cannot see for itself; nil (the
	// default) asks nothing, and planning then contacts nothing. Planning
	// asks it the engine's platform for a step that takes it from there
	// (steps.PlatformKeyed), and whether effects exist only with Refresh.
	Outside Outside
	// Lookups, above 1, decides up to that many independent steps at once,
	// for a Cache whose look-ups are round trips (a remote cache). Cache,
	// Outside and Debug must then be safe for concurrent use.
	Lookups int
	// Refresh asks Outside whether each applied effect still exists
	// (--refresh).
	Refresh bool
	// SkipSources lets Plan decide a step from the file watcher's memo of
	// its key (files.Watch.Memo, graph's keyMemo) when the watcher vouches
	// that none of its input files changed: if the step comes out up to
	// date, its files are not looked up, its StepPlan.Sources is nil and
	// KeyLines returns nil. Only for a plan that is printed, not for one
	// saved, shown as JSON, explained or applied.
	SkipSources bool
}

// StepPlan is the decision for one step.
type StepPlan struct {
	Node    *Node
	Status  Status
	Reason  string
	Changes []Change
	After   string // for pending: the upstream step that will run first
	Key     cache.Key
	keyIn   *KeyInput     // what Key was made of, for KeyLines
	Sources []files.Entry // the step's own input files as hashed; nil when decided from a memo (Planner.SkipSources)
	memo    bool          // decided from the watcher's memo of its key
	// Known when the status is up-to-date or restore, and after apply ran
	// the step: what downstream keys use.
	ResultDigest cache.Digest
	Values       map[string]string
	Cached       *cache.Result // the result to restore
	// Intact is false when the step's key is applied but its outputs in the
	// workspace are not what the result recorded.
	Intact bool
}

// KeyLines are the readable lines hashed into Key (nil while pending). They
// are made when asked for (a no-op plan never needs them), each time: a
// plan is a value, shared by goroutines, and reading it changes nothing.
func (sp *StepPlan) KeyLines() []string {
	if sp.keyIn == nil || sp.memo {
		return nil
	}
	lines, _ := sp.Node.KeyLines(sp.keyIn)
	return lines
}

// Plan is the decision for every selected step, in dependency order.
type Plan struct {
	Targets []string
	Steps   []*StepPlan
	// Computed are the values of the computed vars the planned steps use,
	// by name.
	Computed map[string]string
	byName   map[string]*StepPlan
	tools    map[string]cache.Digest
}

// Step returns the named step's plan, or nil.
func (p *Plan) Step(name string) *StepPlan { return p.byName[name] }

// Counts tallies the plan's statuses.
func (p *Plan) Counts() map[Status]int {
	m := map[Status]int{}
	for _, s := range p.Steps {
		m[s.Status]++
	}
	return m
}

// HasChanges reports whether apply would do anything.
func (p *Plan) HasChanges() bool {
	for _, s := range p.Steps {
		if s.Status != UpToDate {
			return true
		}
	}
	return false
}

// Plan decides every step needed by targets (all steps when empty). The
// plan is a value: nothing that uses it later, apply included, changes it.
func (pl *Planner) Plan(targets []string) (*Plan, error) {
	// The index's early looks (files.Index.Prestat) serve this plan only.
	defer pl.Index.EndPrestat()
	// Literal inputs the index knows are taken as files without a look:
	// hashing them looks anyway. If one turns out missing or a folder,
	// resolve once more, looking at everything, so the error (or the
	// folder's files) come out as they should. Each attempt resolves its
	// own copy of the steps; the graph is never changed.
	// The file watcher's walks (Index.Watch) are trusted only on the first
	// attempt: any doubt looks at everything.
	// On a first plan (an index that holds nothing) every literal input
	// is taken as a file: each one that is will be looked at by hashing,
	// so a look now would be a second one (100,000 lstats for 20,000
	// steps of five inputs); a folder or a missing path fails the hash
	// and takes the second attempt. With records, a literal the index
	// lacks is more likely a folder, and is looked at now.
	known := pl.Index.Has
	if pl.Index.Empty() {
		known = func(string) bool { return true }
	}
	p, err := pl.plan(targets, known, pl.Index.Watch())
	var he *hashError
	if errors.As(err, &he) {
		return pl.plan(targets, nil, nil)
	}
	return p, err
}

// hashError is a failure to hash the inputs.
type hashError struct{ err error }

func (e *hashError) Error() string { return "hashing inputs: " + e.err.Error() }
func (e *hashError) Unwrap() error { return e.err }

func (pl *Planner) plan(targets []string, known func(string) bool, watch *files.Watch) (*Plan, error) {
	order, err := pl.Graph.resolve(targets, known, watch)
	if err != nil {
		return nil, err
	}
	p := &Plan{Targets: targets, byName: make(map[string]*StepPlan, len(order))}
	computed := pl.Graph.Computed()
	for _, n := range order {
		for _, k := range n.computedDeps {
			if p.Computed == nil {
				p.Computed = map[string]string{}
			}
			p.Computed[k] = computed[k]
		}
	}

	// Steps whose input files the file watcher vouches for since the run
	// that kept the memo of their key: decided from it when they come out
	// up to date, without looking their files up (Planner.SkipSources).
	var memos map[*Node][]byte
	if pl.SkipSources && watch != nil && pl.Debug == nil && !pl.Refresh {
		for _, n := range order {
			if len(n.Sources) == 0 || n.Step.Always || pl.Replace[n.Name] {
				continue
			}
			if m, ok := watch.Memo(pl.Graph.Root, n.Name, n.Sources); ok {
				if memos == nil {
					memos = map[*Node][]byte{}
				}
				memos[n] = m
			}
		}
	}

	// Hash every step's own inputs in one batch, so the index spreads the
	// work over all cores.
	var all []string
	single, total := 0, 0
	for _, n := range order {
		if len(n.Sources) > 0 && memos[n] == nil {
			single++
			total += len(n.Sources)
			all = n.Sources // read only, as Hash reads it
		}
	}
	if single > 1 {
		// One allocation: appending made 8.5 MB for 100,000 paths.
		all = make([]string, 0, total)
		for _, n := range order {
			if len(n.Sources) > 0 && memos[n] == nil {
				all = append(all, n.Sources...)
			}
		}
	}
	if single > 1 {
		sort.Strings(all)
		all = dedupe(all)
	}
	entries, err := pl.Index.Hash(pl.Graph.Root, all)
	if err != nil {
		return nil, &hashError{err}
	}
	// all is sorted, and a step's sources mostly are: a source is found at
	// the position after the last one, or by binary search after it, or
	// else in all of it. Cheaper than a map of 100,000 paths.
	entryOf := func(p string, next *int) files.Entry {
		i := *next
		if i >= len(all) || all[i] != p {
			i += sort.SearchStrings(all[i:], p)
			if i >= len(all) || all[i] != p {
				i = sort.SearchStrings(all, p)
			}
		}
		*next = i + 1
		return entries[i]
	}
	p.tools, err = pl.hashTools(order)
	if err != nil {
		return nil, err
	}
	// The outputs' batch is a snapshot for this plan only: a step decided
	// later, during apply, looks at its outputs afresh.
	outputs, err := pl.statOutputs(order)
	if err != nil {
		return nil, err
	}
	decided := func(name string) (cache.Digest, bool) {
		dp := p.byName[name]
		if dp == nil || !dp.Status.Decided() || dp.Status.WillRun() {
			return cache.Digest{}, false
		}
		return dp.ResultDigest, true
	}
	decideOne := func(n *Node) (*StepPlan, error) {
		var sources []files.Entry
		if m := memos[n]; m != nil {
			sp, err := pl.decide(n, nil, m, p.tools, outputs, decided)
			if err != errNotFromMemo {
				return sp, err
			}
			// Not up to date: its files are needed after all.
			if sources, err = pl.Index.Hash(pl.Graph.Root, n.Sources); err != nil {
				return nil, &hashError{err}
			}
		} else if i, ok := span(all, n.Sources); ok {
			sources = entries[i : i+len(n.Sources) : i+len(n.Sources)] // read only
		} else {
			sources = make([]files.Entry, len(n.Sources))
			next := 0
			for i, s := range n.Sources {
				sources[i] = entryOf(s, &next)
			}
		}
		for i := range sources {
			if sources[i].Link != "" {
				if err := pl.checkLinkInput(n, sources[i]); err != nil {
					return nil, err
				}
			}
		}
		return pl.decide(n, sources, nil, p.tools, outputs, decided)
	}
	// Keys of many steps are made on all cores, a level at a time; with
	// BOTTLE_DEBUG=hash one at a time, so that each step's lines stay
	// together and in order.
	workers := pl.Lookups
	if workers <= 1 && pl.Debug == nil && len(order) >= parallelDecide {
		workers = runtime.NumCPU()
	}
	if workers > 1 {
		return p, pl.decideByLevel(p, order, workers, decideOne)
	}
	for _, n := range order {
		sp, err := decideOne(n)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, sp)
		p.byName[n.Name] = sp
	}
	return p, nil
}

// parallelDecide is how many steps a plan must decide before it makes their
// keys on all cores.
const parallelDecide = 256

// span reports where part lies in all as one contiguous run: a step whose
// inputs are one folder's files, or the only step with inputs.
func span(all, part []string) (int, bool) {
	if len(part) == 0 {
		return 0, true
	}
	i := sort.SearchStrings(all, part[0])
	if i+len(part) > len(all) {
		return 0, false
	}
	for k, p := range part {
		if all[i+k] != p {
			return 0, false
		}
	}
	return i, true
}

// decideByLevel decides the steps of order a level at a time, up to
// workers at once within a level: the steps of one level need only steps
// of earlier levels, so their look-ups (a remote cache's round trips)
// overlap, and their keys are made on all cores. p.Steps keeps the order
// of order.
func (pl *Planner) decideByLevel(p *Plan, order []*Node, workers int, decideOne func(*Node) (*StepPlan, error)) error {
	depth := make(map[string]int, len(order))
	var levels [][]*Node
	for _, n := range order {
		d := 0
		for _, need := range n.Needs {
			if dd, ok := depth[need.Name]; ok && dd+1 > d {
				d = dd + 1
			}
		}
		depth[n.Name] = d
		for len(levels) <= d {
			levels = append(levels, nil)
		}
		levels[d] = append(levels[d], n)
	}
	for _, level := range levels {
		sps := make([]*StepPlan, len(level))
		errs := make([]error, len(level))
		// workers goroutines take the level's steps in turn (not one
		// goroutine a step: 20,000 of them).
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(workers, len(level)) {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < len(level); i = int(next.Add(1) - 1) {
					sps[i], errs[i] = decideOne(level[i])
				}
			})
		}
		wg.Wait()
		if pl.Lookups <= 1 {
			// Only for speed: fail as deciding one at a time would, with
			// the first error in order.
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		// Written only between levels: the next level reads byName.
		for i, n := range level {
			p.byName[n.Name] = sps[i]
		}
	}
	for _, n := range order {
		p.Steps = append(p.Steps, p.byName[n.Name])
	}
	return nil
}

// NeedResult answers, for a step's need, the digest of the need's result,
// or false while the need has still to run.
type NeedResult func(need string) (cache.Digest, bool)

// Decide decides a step of p anew once its needs are done: apply calls it
// for a pending step, with the results its needs came out with. It returns
// a new StepPlan and changes nothing, p and sp included.
func (pl *Planner) Decide(p *Plan, sp *StepPlan, needs NeedResult) (*StepPlan, error) {
	pl.Index.EndPrestat() // Plan did; files change from here on
	return pl.decide(sp.Node, sp.Sources, nil, p.tools, nil, needs)
}

// errNotFromMemo says that a step cannot be decided from the memo of its
// key: its sources must be hashed.
var errNotFromMemo = errors.New("not decided from the memo")

// decide decides step n from its needs' results, its sources, the state
// and the cache. outputs is the plan's batch of output files (nil: look).
// With memo (Planner.SkipSources), sources is nil and the key's source
// lines come from the memo; a step that does not come out up to date is
// then errNotFromMemo, with nothing asked beyond the state and outputs.
func (pl *Planner) decide(n *Node, sources []files.Entry, memo []byte, tools map[string]cache.Digest, outputs map[string]files.Entry, needs NeedResult) (*StepPlan, error) {
	sp := &StepPlan{Node: n, Sources: sources, memo: memo != nil}
	var deps []cache.Digest
	if len(n.Needs) > 0 {
		deps = make([]cache.Digest, len(n.Needs))
	}
	for i, d := range n.Needs {
		digest, ok := needs(d.Name)
		if !ok {
			if memo != nil {
				return nil, errNotFromMemo
			}
			sp.Status = Pending
			sp.After = d.Name
			sp.Reason = "after " + d.Name
			return sp, nil
		}
		deps[i] = digest
	}
	sp.keyIn = &KeyInput{
		Vars:     pl.Graph.Vars,
		Sources:  sp.Sources,
		Env:      pl.getenv,
		Tools:    tools,
		Deps:     deps,
		Platform: pl.platform(n),
	}
	var key cache.Key
	var err error
	switch w := pl.Index.Watch(); {
	case memo != nil:
		var ok bool
		key, ok, err = n.keyFromMemo(sp.keyIn, memo)
		if err == nil && !ok {
			return nil, errNotFromMemo
		}
	case w != nil && len(sources) > 0 && !slices.ContainsFunc(sources, files.Entry.IsLink):
		// Kept for the next plan's memo (Watch.KeepMemo keeps it only
		// while this plan trusts the watcher). Not with a link among the
		// sources: checkLinkInput looks where it points, out of the
		// watcher's sight.
		var m []byte
		key, m, err = n.keyAndMemo(sp.keyIn)
		if err == nil && m != nil {
			w.KeepMemo(pl.Graph.Root, n.Name, n.Sources, m)
		}
	default:
		key, err = n.Key(sp.keyIn)
	}
	if err != nil {
		return nil, err
	}
	sp.Key = key
	if pl.Debug != nil {
		fmt.Fprintf(pl.Debug, "HASH step %s key %s\n", n.Name, sp.Key)
		for _, l := range sp.KeyLines() {
			fmt.Fprintf(pl.Debug, "HASH %s: %s\n", n.Name, l)
		}
	}
	prev := pl.State.Steps[n.Name]
	if memo != nil && (prev == nil || prev.Key != sp.Key || n.Step.Always || pl.Replace[n.Name] || pl.Refresh) {
		return nil, errNotFromMemo
	}
	if n.Step.Always {
		sp.Status, sp.Reason = Run, "always"
		return sp, nil
	}
	if pl.Replace[n.Name] {
		sp.Status, sp.Reason = Run, "replace requested"
		if n.Effect() != "" {
			sp.Status = Replace
		}
		return sp, nil
	}
	if prev != nil && prev.Key == sp.Key {
		why, ok := pl.intact(prev, outputs)
		if ok && n.Effect() != "" && pl.Refresh && pl.Outside != nil {
			exists, err := pl.Outside.EffectExists(n.Kind.Name(), prev.Key.String(), prev.Values)
			if err != nil {
				return nil, fmt.Errorf("step %s: checking its %s: %w", n.Name, n.Effect(), err)
			}
			if !exists {
				// The effect went away behind bottle's back. A kind that
				// recreates it from its cached result (an image, from its
				// archive) restores; any other runs again.
				if res := pl.peekUnlessEffect(sp); res != nil {
					sp.Status, sp.Reason, sp.Cached = Restore, recreates(n, res.Values), res
					sp.ResultDigest, sp.Values = res.Digest(), res.Values
					return sp, nil
				}
				sp.Status, sp.Reason = Run, n.Effect()+" missing"
				if _, ok := n.Kind.(steps.Shareable); ok {
					sp.Reason += "; result no longer in cache"
				}
				return sp, nil
			}
		}
		sp.Intact = ok
		if ok {
			sp.Status = UpToDate
			sp.ResultDigest, sp.Values = prev.Result, prev.Values
			return sp, nil
		}
		if memo != nil {
			return nil, errNotFromMemo
		}
		if res := pl.peekUnlessEffect(sp); res != nil {
			sp.Status, sp.Reason, sp.Cached = Restore, why, res
			sp.ResultDigest, sp.Values = res.Digest(), res.Values
			return sp, nil
		}
		sp.Status, sp.Reason = Run, why+"; result no longer in cache"
		return sp, nil
	}
	if prev != nil {
		if old := pl.peek(prev.Key); old != nil {
			sp.Changes = DiffKeyLines(old.KeyLines, sp.KeyLines())
		}
	}
	// An effect (an image in the engine, a manifest in a registry, a machine)
	// is never taken from the cache: a result recorded elsewhere says
	// nothing about this host.
	if res := pl.peekUnlessEffect(sp); res != nil {
		sp.Status, sp.Cached = Restore, res
		sp.ResultDigest, sp.Values = res.Digest(), res.Values
		switch {
		case len(sp.Changes) > 0:
			sp.Reason = Summarize(sp.Changes) + "; result cached"
		default:
			sp.Reason = "result cached"
		}
		return sp, nil
	}
	sp.Status = Run
	if r, ok := n.Kind.(steps.Replacer); ok && r.Replaces() && prev != nil {
		// The effect made with the old key is removed first.
		sp.Status = Replace
	}
	switch {
	case prev == nil:
		sp.Reason = "new"
	case len(sp.Changes) > 0:
		sp.Reason = Summarize(sp.Changes)
	default:
		sp.Reason = "key changed (the last run's details are no longer in the cache)"
	}
	return sp, nil
}

// LookupEnv reads a host variable the way planning does (Getenv, else the
// process environment).
func (pl *Planner) LookupEnv(name string) (string, bool) { return pl.getenv(name) }

func (pl *Planner) getenv(name string) (string, bool) {
	if pl.Getenv != nil {
		return pl.Getenv(name)
	}
	return os.LookupEnv(name)
}

// recreates is the reason a step whose effect is missing restores.
func recreates(n *Node, values map[string]string) string {
	if r, ok := n.Kind.(steps.Recreator); ok {
		return r.Recreates(values)
	}
	return n.Effect() + " missing; recreated from the cached result"
}

// platform is the engine's platform for a step that takes its platform
// from there, or "" for any other step.
func (pl *Planner) platform(n *Node) string {
	pk, ok := n.Kind.(steps.PlatformKeyed)
	if !ok || !pk.EnginePlatform(n.StaticSpec) {
		return ""
	}
	if pl.Outside == nil {
		return PlatformNotAsked
	}
	p, err := pl.Outside.Platform(n.Kind.Name(), n.StaticSpec)
	if err != nil || p == "" {
		// Not a plan error: planning works without an engine, and apply
		// says clearly that it cannot reach one.
		return PlatformUnreachable
	}
	return p
}

// peekUnlessEffect looks the step's key up in the cache, unless the step
// has an effect no cached result recreates, or its key holds a platform the
// engine did not tell: a result stored under such a key was built for
// whichever engine answered at apply.
func (pl *Planner) peekUnlessEffect(sp *StepPlan) *cache.Result {
	n := sp.Node
	if !n.FromCache() {
		return nil
	}
	if p := sp.keyIn.Platform; p == PlatformUnreachable || p == PlatformNotAsked {
		return nil
	}
	res := pl.peek(sp.Key)
	if res != nil && !locationsDeclared(n, res) {
		return nil
	}
	return res
}

// locationsDeclared reports whether the values res leaves out of its digest
// as locations are exactly those n's kind declares (steps.Locator). A cache
// entry is data from outside: one that hid another value from the keys
// after it is not restored.
func locationsDeclared(n *Node, res *cache.Result) bool {
	var want []string
	if l, ok := n.Kind.(steps.Locator); ok {
		want = l.LocationValues()
	}
	if len(res.Location) != len(want) {
		return false
	}
	for _, v := range res.Location {
		if !slices.Contains(want, v) {
			return false
		}
	}
	return true
}

func (pl *Planner) peek(k cache.Key) *cache.Result {
	if pl.Cache == nil {
		return nil
	}
	res, err := pl.Cache.PeekResult(k)
	if err != nil {
		return nil
	}
	return res
}

// statOutputs looks at every output file the state records for the steps
// in one parallel batch, for intact.
func (pl *Planner) statOutputs(order []*Node) (map[string]files.Entry, error) {
	var paths []string
	for _, n := range order {
		if prev := pl.State.Steps[n.Name]; prev != nil {
			for _, f := range prev.Files {
				if !f.Mode.IsDir() {
					paths = append(paths, f.Path)
				}
			}
		}
	}
	entries, found, err := pl.Index.StatAll(pl.Graph.Root, paths)
	if err != nil {
		return nil, fmt.Errorf("checking outputs: %w", err)
	}
	outputs := make(map[string]files.Entry, len(paths))
	for i, p := range paths {
		if found[i] {
			outputs[p] = entries[i]
		}
	}
	return outputs, nil
}

// intact checks that every output file the state records is in the
// workspace with the recorded content, through the file-hash index, and
// that each recorded folder holds nothing else: a stray file in an output
// folder would reach every step that reads the folder, and the cache with
// their results. outputs is the plan's batch of output files; one not in
// it is looked at now.
func (pl *Planner) intact(prev *workspace.Step, outputs map[string]files.Entry) (string, bool) {
	var recorded map[string]bool // made at the first folder
	for _, f := range prev.Files {
		switch {
		case f.Mode.IsDir():
			dir := filepath.Join(pl.Graph.Root, filepath.FromSlash(f.Path))
			fi, err := os.Lstat(dir)
			if err != nil || !fi.IsDir() {
				return f.Path + " missing", false
			}
			if recorded == nil {
				recorded = make(map[string]bool, len(prev.Files))
				for _, f := range prev.Files {
					recorded[f.Path] = true
				}
			}
			if stray, err := strayEntry(dir, f.Path, recorded); err != nil {
				return f.Path + " unreadable", false
			} else if stray != "" {
				return stray + " added", false
			}
		default:
			e, ok := outputs[f.Path]
			if !ok {
				// Not in the batch (apply deciding a step later): look now.
				var err error
				e, ok, err = pl.Index.Stat(pl.Graph.Root, f.Path)
				if err != nil || !ok {
					return f.Path + " missing", false
				}
			}
			if f.Mode&os.ModeSymlink != 0 {
				if e.Link != f.Link {
					return f.Path + " modified", false
				}
				continue
			}
			if e.Digest != f.Digest || e.Executable() != (f.Mode&0o111 != 0) {
				return f.Path + " modified", false
			}
		}
	}
	return "", true
}

// checkLinkInput refuses an input that is a link to a folder outside the
// workspace. A link is hashed by its target's name, which is right for a
// link into the workspace (the files behind it are inputs in their own
// right) but would hide every edit made behind a link that leaves it.
func (pl *Planner) checkLinkInput(n *Node, e files.Entry) error {
	target, err := filepath.EvalSymlinks(filepath.Join(pl.Graph.Root, filepath.FromSlash(e.Path)))
	if err != nil {
		return nil // a dangling link: hashed by its name, as before
	}
	if within(pl.Graph.Root, target) {
		return nil
	}
	// The workspace's own path may pass through a link: compare with where
	// it really is before calling the target outside.
	if root, err := filepath.EvalSymlinks(pl.Graph.Root); err != nil || within(root, target) {
		return nil
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
		return nil
	}
	return pl.Graph.errorf(n, "inputs", "input %s is a link to the folder %s, outside the workspace: edits there would go unseen (a link is hashed by its target's name); move or copy the folder into the workspace", e.Path, target)
}

// within reports whether the absolute path p is root or lies below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// strayEntry returns the first entry of the output folder dir (rel in the
// workspace) that the result does not record, or "".
func strayEntry(dir, rel string, recorded map[string]bool) (string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return "", err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, name := range names {
		if p := rel + "/" + name; !recorded[p] {
			return p, nil
		}
	}
	return "", nil
}

// hashTools finds each tool, and each program a kind runs, on PATH and
// hashes its binary (through any symlinks). Looking a program up reads the
// file system; it runs nothing. A missing one is a plan error, so the
// operator learns of it before confirming anything.
func (pl *Planner) hashTools(order []*Node) (map[string]cache.Digest, error) {
	out := map[string]cache.Digest{}
	path, _ := pl.getenv("PATH")
	for _, n := range order {
		for _, t := range n.Step.Tools {
			if _, ok := out[t]; ok {
				continue
			}
			d, err := pl.hashProgram(t, path)
			switch {
			case errors.Is(err, steps.ErrNotFound):
				return nil, pl.Graph.errorf(n, "tools", "tool %q not found on PATH: install it or remove it from tools", t)
			case err != nil:
				return nil, pl.Graph.errorf(n, "tools", "tool %v", err)
			}
			out[t] = d
		}
		for _, p := range n.Programs {
			if _, ok := out[p.Name]; ok {
				continue
			}
			name := p.Name
			if strings.Contains(name, "/") && !filepath.IsAbs(name) {
				// Run as the kind runs it: relative to the workspace.
				name = filepath.Join(pl.Graph.Root, filepath.FromSlash(name))
			}
			d, err := pl.hashProgram(name, path)
			switch {
			case errors.Is(err, steps.ErrNotFound):
				return nil, pl.Graph.errorf(n, p.Field, "a %s step runs %s, which is not on PATH: %s", n.Kind.Name(), p.Name, p.Help)
			case err != nil:
				return nil, pl.Graph.errorf(n, p.Field, "a %s step cannot run %v; %s", n.Kind.Name(), err, p.Help)
			}
			out[p.Name] = d
		}
	}
	return out, nil
}

// hashProgram finds program as steps.LookPath does and hashes its binary,
// through any symlinks.
func (pl *Planner) hashProgram(program, pathList string) (cache.Digest, error) {
	p, err := steps.LookPath(program, pathList)
	if err == nil {
		p, err = filepath.EvalSymlinks(p)
	}
	if err != nil {
		return cache.Digest{}, err
	}
	es, err := pl.Index.Hash("/", []string{strings.TrimPrefix(p, "/")})
	if err != nil {
		return cache.Digest{}, fmt.Errorf("hashing %s: %w", p, err)
	}
	return es[0].Digest, nil
}
