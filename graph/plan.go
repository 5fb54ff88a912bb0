package graph

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

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
	// Probe, set only for --refresh, reports whether the effect a step of
	// kind left (described by its recorded values) still exists. It reads
	// the outside world and changes nothing.
	Probe func(kind, key string, values map[string]string) (bool, error)

	outputs map[string]files.Entry // output files as planning found them
}

// StepPlan is the decision for one step.
type StepPlan struct {
	Node     *Node
	Status   Status
	Reason   string
	Changes  []Change
	After    string // for pending: the upstream step that will run first
	Key      cache.Key
	keyIn    *KeyInput // what Key was made of, for KeyLines
	keyLines []string
	Sources  []files.Entry // the step's own input files as hashed
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
// are made on first use: a no-op plan never needs them.
func (sp *StepPlan) KeyLines() []string {
	if sp.keyLines == nil && sp.keyIn != nil {
		sp.keyLines, _ = sp.Node.KeyLines(sp.keyIn)
	}
	return sp.keyLines
}

// Plan is the decision for every selected step, in dependency order.
type Plan struct {
	Targets []string
	Steps   []*StepPlan
	byName  map[string]*StepPlan
	tools   map[string]cache.Digest
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

// Plan decides every step needed by targets (all steps when empty).
func (pl *Planner) Plan(targets []string) (*Plan, error) {
	// Literal inputs the index knows are taken as files without a look:
	// hashing them looks anyway. If one turns out missing or a folder, plan
	// again, looking at everything, so the error (or the folder's files)
	// come out as they should.
	pl.Graph.known = pl.Index.Has
	p, err := pl.plan(targets)
	pl.Graph.known = nil
	var he *hashError
	if errors.As(err, &he) {
		return pl.plan(targets)
	}
	return p, err
}

// hashError is a failure to hash the inputs.
type hashError struct{ err error }

func (e *hashError) Error() string { return "hashing inputs: " + e.err.Error() }
func (e *hashError) Unwrap() error { return e.err }

func (pl *Planner) plan(targets []string) (*Plan, error) {
	order, err := pl.Graph.Resolve(targets)
	if err != nil {
		return nil, err
	}
	p := &Plan{Targets: targets, byName: make(map[string]*StepPlan, len(order))}

	// Hash every step's own inputs in one batch, so the index spreads the
	// work over all cores.
	var all []string
	single := 0
	for _, n := range order {
		if len(n.Sources) > 0 {
			single++
			all = append(all, n.Sources...)
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
	// all is sorted (a step's sources are), so a source is found by binary
	// search: cheaper than a map of 100,000 paths.
	entryOf := func(p string) files.Entry {
		i := sort.SearchStrings(all, p)
		return entries[i]
	}
	p.tools, err = pl.hashTools(order)
	if err != nil {
		return nil, err
	}
	if err := pl.statOutputs(order); err != nil {
		return nil, err
	}
	// The batch is a snapshot for this plan only: a step decided later,
	// during apply, looks at its outputs afresh.
	defer func() { pl.outputs = nil }()
	for _, n := range order {
		sp := &StepPlan{Node: n, Sources: make([]files.Entry, len(n.Sources))}
		for i, s := range n.Sources {
			sp.Sources[i] = entryOf(s)
		}
		p.Steps = append(p.Steps, sp)
		p.byName[n.Name] = sp
		if err := pl.Decide(p, sp); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Decide sets sp's status from its needs' plans, its sources, the state and
// the cache. Apply calls it again for a pending step once its needs are done.
func (pl *Planner) Decide(p *Plan, sp *StepPlan) error {
	n := sp.Node
	sp.Status, sp.Reason, sp.After, sp.Changes, sp.Cached = "", "", "", nil, nil
	deps := map[string]cache.Digest{}
	for _, d := range n.Needs {
		dp := p.byName[d.Name]
		if dp == nil || !dp.Status.Decided() || dp.Status.WillRun() {
			sp.Status = Pending
			sp.After = d.Name
			sp.Reason = "after " + d.Name
			sp.Key = cache.Key{}
			sp.keyIn, sp.keyLines = nil, nil
			return nil
		}
		deps[d.Name] = dp.ResultDigest
	}
	sp.keyIn = &KeyInput{
		Vars:    pl.Graph.Config.Vars,
		Sources: sp.Sources,
		Env:     pl.getenv,
		Tools:   p.tools,
		Deps:    deps,
	}
	sp.keyLines = nil
	key, err := n.Key(sp.keyIn)
	if err != nil {
		return err
	}
	sp.Key = key
	if pl.Debug != nil {
		fmt.Fprintf(pl.Debug, "HASH step %s key %s\n", n.Name, sp.Key)
		for _, l := range sp.KeyLines() {
			fmt.Fprintf(pl.Debug, "HASH %s: %s\n", n.Name, l)
		}
	}
	prev := pl.State.Steps[n.Name]
	if n.Step.Always {
		sp.Status, sp.Reason = Run, "always"
		return nil
	}
	if pl.Replace[n.Name] {
		sp.Status, sp.Reason = Run, "replace requested"
		if n.Effect() != "" {
			sp.Status = Replace
		}
		return nil
	}
	if prev != nil && prev.Key == sp.Key {
		why, ok := pl.intact(prev)
		if ok && n.Effect() != "" && pl.Probe != nil {
			exists, err := pl.Probe(n.Kind.Name(), prev.Key.String(), prev.Values)
			if err != nil {
				return fmt.Errorf("step %s: checking its %s: %w", n.Name, n.Effect(), err)
			}
			if !exists {
				// The effect went away behind bottle's back: run again.
				sp.Status, sp.Reason = Run, n.Effect()+" missing"
				return nil
			}
		}
		sp.Intact = ok
		if ok {
			sp.Status = UpToDate
			sp.ResultDigest, sp.Values = prev.Result, prev.Values
			return nil
		}
		if res := pl.peekUnlessEffect(n, sp.Key); res != nil {
			sp.Status, sp.Reason, sp.Cached = Restore, why, res
			sp.ResultDigest, sp.Values = res.Digest(), res.Values
			return nil
		}
		sp.Status, sp.Reason = Run, why+"; result no longer in cache"
		return nil
	}
	if prev != nil {
		if old := pl.peek(prev.Key); old != nil {
			sp.Changes = DiffKeyLines(old.KeyLines, sp.KeyLines())
		}
	}
	// An effect (an image in the engine, a manifest in a registry, a machine)
	// is never taken from the cache: a result recorded elsewhere says
	// nothing about this host.
	if res := pl.peekUnlessEffect(n, sp.Key); res != nil {
		sp.Status, sp.Cached = Restore, res
		sp.ResultDigest, sp.Values = res.Digest(), res.Values
		switch {
		case len(sp.Changes) > 0:
			sp.Reason = Summarize(sp.Changes) + "; result cached"
		default:
			sp.Reason = "result cached"
		}
		return nil
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
	return nil
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

func (pl *Planner) peekUnlessEffect(n *Node, k cache.Key) *cache.Result {
	if sh, ok := n.Kind.(steps.Shareable); n.Effect() != "" && !(ok && sh.Shareable()) {
		return nil
	}
	return pl.peek(k)
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
func (pl *Planner) statOutputs(order []*Node) error {
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
		return fmt.Errorf("checking outputs: %w", err)
	}
	pl.outputs = make(map[string]files.Entry, len(paths))
	for i, p := range paths {
		if found[i] {
			pl.outputs[p] = entries[i]
		}
	}
	return nil
}

// intact checks that every output file the state records is in the
// workspace with the recorded content, through the file-hash index.
func (pl *Planner) intact(prev *workspace.Step) (string, bool) {
	for _, f := range prev.Files {
		switch {
		case f.Mode.IsDir():
			fi, err := os.Lstat(filepath.Join(pl.Graph.Root, filepath.FromSlash(f.Path)))
			if err != nil || !fi.IsDir() {
				return f.Path + " missing", false
			}
		default:
			e, ok := pl.outputs[f.Path]
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

// hashTools finds each tool on PATH and hashes its binary. Looking a program
// up reads the file system; it runs nothing.
func (pl *Planner) hashTools(order []*Node) (map[string]cache.Digest, error) {
	out := map[string]cache.Digest{}
	for _, n := range order {
		for _, t := range n.Step.Tools {
			if _, ok := out[t]; ok {
				continue
			}
			p, err := findTool(t, pl.getenv)
			if err != nil {
				return nil, pl.Graph.errorf(n, "tools", "%v", err)
			}
			es, err := pl.Index.Hash("/", []string{strings.TrimPrefix(p, "/")})
			if err != nil {
				return nil, pl.Graph.errorf(n, "tools", "hashing %s: %v", p, err)
			}
			out[t] = es[0].Digest
		}
	}
	return out, nil
}

func findTool(name string, getenv func(string) (string, bool)) (string, error) {
	resolve := func(p string) (string, bool) {
		r, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", false
		}
		fi, err := os.Stat(r)
		return r, err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	}
	if strings.Contains(name, "/") {
		if !filepath.IsAbs(name) {
			return "", fmt.Errorf("tool %q: give a program name found on PATH, or an absolute path", name)
		}
		if r, ok := resolve(name); ok {
			return r, nil
		}
		return "", fmt.Errorf("tool %q not found or not executable", name)
	}
	path, _ := getenv("PATH")
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if r, ok := resolve(filepath.Join(dir, name)); ok {
			return r, nil
		}
	}
	return "", fmt.Errorf("tool %q not found on PATH: install it or remove it from tools", name)
}
