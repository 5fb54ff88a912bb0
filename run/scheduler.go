// Package run executes a plan: it restores cached results, runs steps in
// dependency order up to -j at once (and each pool of settings.pools up
// to its size), stores each result the moment it succeeds and records it
// in the workspace state. Results are stored in groups behind one sync of
// the cache (commit.go): a step's result is announced, recorded, uploaded
// and given to its dependents only once it is durable. It is the only caller of
// the kinds' Run, Restore and Probe, and the only writer of the cache;
// planning (package graph) never receives either.
//
// The plan it is given is a value: run keeps what happens to each step in
// records of its own and never writes into the plan. What it does is told
// to a Reporter as it happens; run formats no text for people.
//
// scheduler.go orders the work; step.go does one step (restore, run,
// capture); commit.go stores finished steps' results; report.go is what
// run tells its Reporter.
package run

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/internal/mask"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// Store is the writable cache run needs.
type Store interface {
	graph.ResultSource
	// GetResult is PeekResult that also marks the result used (prune
	// drops the least recently used first).
	GetResult(k cache.Key) (*cache.Result, error)
	// StageFile stores a file's content as a blob without waiting for the
	// disk; only CommitResults makes it durable.
	StageFile(path string) (cache.Digest, int64, error)
	// CommitResults makes the blobs of rs durable with one sync, then
	// makes each result visible; one error per result.
	CommitResults(rs []*cache.Result) []error
	// Sync makes the results committed so far durable, names included.
	Sync() error
	RestoreFile(d cache.Digest, dst, tmpDir string, perm fs.FileMode) error
	// Quarantine moves a result that cannot be restored safely aside, so
	// that no lookup finds it again, and says where it went.
	Quarantine(k cache.Key) string
}

// Options tune a run.
type Options struct {
	Jobs      int  // steps at once; <= 0 means 1
	KeepGoing bool // run every step whose needs succeeded, despite failures
	Upload    bool // upload the results of steps that ran to Remote
}

// Applier runs plans.
type Applier struct {
	Planner *graph.Planner
	Store   Store
	State   *workspace.State
	// Runtime is what the kinds' runners share (kill grace, Docker).
	Runtime *kinds.Runtime
	// Kind finds a step's kind by name; default kinds.Get.
	Kind     func(name string) kinds.Kind
	Reporter Reporter                             // may be nil
	Hold     interface{ Add(...cache.Key) error } // may be nil
	Options

	// Remote, when set, is the remote cache: results planned as remote
	// restores are fetched through it into Store first, and with
	// Options.Upload every result a step makes is uploaded as soon as it
	// is stored, while later steps run; Apply waits for the uploads.
	Remote Remote

	// secrets are the values of every secret the pipeline names, masked
	// in step logs and in every error a step returns.
	secrets *mask.Set

	uploadCtx context.Context // the apply's own: fail-fast does not stop uploads, an interrupt does
	uploads   sync.WaitGroup
	uploadSem chan struct{}
	remoteMu  sync.Mutex
	remote    remoteCounts
}

// Remote is the remote cache as the executor uses it. Both methods are
// safe for concurrent use.
type Remote interface {
	// Fetch downloads the result for k into the local store, verified,
	// and says how many bytes it downloaded.
	Fetch(ctx context.Context, k cache.Key) (int64, error)
	// Upload sends res (its blobs from the local store) to the remote
	// unless the remote has it, and says whether it sent it and how many
	// bytes of blobs the remote lacked.
	Upload(ctx context.Context, res *cache.Result) (sent bool, n int64, err error)
}

type remoteCounts struct {
	hits, uploads, failures int
	downloaded, uploaded    int64
}

// ErrFailed is returned when at least one step failed.
var ErrFailed = errors.New("apply failed")

// errFailFast is why the steps still running are stopped when one fails
// (without KeepGoing).
var errFailFast = errors.New("another step failed")

// done is what apply knows of a step that finished well: what its
// dependents' keys and references use.
type done struct {
	digest cache.Digest
	values map[string]string
}

// Apply runs plan. It returns ErrFailed (wrapped) when a step failed, the
// context's error when interrupted, and the error of the cache's last sync
// if that alone failed; the summary is filled either way.
func (a *Applier) Apply(ctx context.Context, plan *graph.Plan) (*Summary, error) {
	jobs := max(a.Jobs, 1)
	sum := &Summary{}
	rep := a.Reporter
	if rep == nil {
		rep = nopReporter{}
	}
	// Fail-fast stops the running steps with errFailFast as the cause, so
	// that a stopped step's log can say why it was stopped.
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	a.secrets = a.secretValues()
	a.uploadCtx = ctx

	// results holds every step known to be done: up to date in the plan,
	// or finished in this run (a restore counts once restored). The plan
	// itself is never written.
	results := map[string]*done{}
	for _, sp := range plan.Steps {
		if sp.Status == graph.UpToDate {
			results[sp.Node.Name] = &done{sp.ResultDigest, sp.Values}
		}
	}
	needResult := func(name string) (cache.Digest, bool) {
		if d := results[name]; d != nil {
			return d.digest, true
		}
		return cache.Digest{}, false
	}

	// Dependents and counts of unfinished needs, within the plan.
	waiting := map[string]int{}
	dependents := map[string][]*graph.StepPlan{}
	for _, sp := range plan.Steps {
		for _, d := range sp.Node.Needs {
			if plan.Step(d.Name) != nil {
				waiting[sp.Node.Name]++
				dependents[d.Name] = append(dependents[d.Name], sp)
			}
		}
	}
	var ready []*graph.StepPlan
	for _, sp := range plan.Steps {
		if waiting[sp.Node.Name] == 0 {
			ready = append(ready, sp)
		}
	}
	failed := map[string]bool{}
	finished := make(chan *outcome)
	running := 0
	// Pools cap their steps at once below jobs: a step whose pool is full
	// waits in held, in its place in the queue, while the steps behind it
	// may start. decided keeps what Decide said of a held step, so that it
	// is not decided twice.
	var pools map[string]int
	if c := a.Planner.Graph.Config; c != nil {
		pools = c.Settings.Pools
	}
	inPool := map[string]int{}
	decided := map[string]*graph.StepPlan{}
	poolFull := func(sp *graph.StepPlan) bool {
		size, ok := pools[sp.Node.Step.Pool]
		return ok && inPool[sp.Node.Step.Pool] >= max(size, 1)
	}
	stopping := false

	finish := func(name string, ok bool) {
		for _, dep := range dependents[name] {
			if !ok {
				failed[dep.Node.Name] = true
			}
			waiting[dep.Node.Name]--
			if waiting[dep.Node.Name] == 0 {
				ready = append(ready, dep)
			}
		}
	}
	accounted := 0
	fail := func(name string) {
		failed[name] = true
		finish(name, false)
		if !a.KeepGoing && !stopping {
			stopping = true
			stop(errFailFast)
		}
	}
	// Results of steps that ran wait in toCommit while the committer
	// stores the previous group: a step's slot is free as soon as its
	// process ends, and a group costs one sync however many it holds.
	var toCommit []*outcome
	commits, committed := a.committer()
	defer close(commits)
	committing := false
	for (len(ready) > 0 && !stopping) || running > 0 || committing || len(toCommit) > 0 {
		if runCtx.Err() != nil {
			stopping = true
		}
		// Start what can start.
		var held []*graph.StepPlan
		for len(ready) > 0 && !stopping {
			sp := ready[0]
			name := sp.Node.Name
			if failed[name] {
				ready = ready[1:]
				accounted++
				sum.Skipped++
				rep.Finished(sp, Report{Event: Skipped, Detail: "a step it needs did not succeed"})
				finish(name, false)
				continue
			}
			cur := sp
			if d := decided[name]; d != nil {
				cur = d
			} else if sp.Status == graph.Pending {
				var err error
				if cur, err = a.Planner.Decide(plan, sp, needResult); err != nil {
					ready = ready[1:]
					accounted++
					sum.Failed++
					sum.Failures = append(sum.Failures, &Failure{Step: name, Err: err})
					rep.Finished(sp, Report{Event: Failed, Detail: err.Error()})
					fail(name)
					continue
				}
			}
			if cur.Status == graph.UpToDate {
				ready = ready[1:]
				accounted++
				results[name] = &done{cur.ResultDigest, cur.Values}
				if sp.Status == graph.Pending {
					sum.CutOff++
					rep.Finished(cur, Report{Event: CutOff, Detail: "upstream result unchanged"})
				} else {
					sum.UpToDate++
				}
				finish(name, true)
				continue
			}
			if running >= jobs {
				break
			}
			ready = ready[1:]
			if poolFull(cur) {
				decided[name] = cur
				held = append(held, sp)
				continue
			}
			delete(decided, name)
			inPool[cur.Node.Step.Pool]++
			running++
			rep.Started(cur)
			// The step's references are filled in from results now, on
			// this goroutine: every need is done, and results is not
			// touched by the step's own goroutine.
			spec, specErr := a.expand(cur.Node, results)
			go func() { finished <- a.do(runCtx, cur, spec, specErr) }()
		}
		ready = append(held, ready...)
		if running == 0 && !committing && len(toCommit) == 0 {
			continue
		}
		var send chan<- []*outcome
		if !committing && len(toCommit) > 0 {
			send = commits
		}
		var settle []*outcome
		select {
		case o := <-finished:
			// The step's -j slot is free once its process has ended;
			// its pool's slot only once it is settled, so that a
			// pool's steps never overlap, even in what is reported.
			running--
			if o.store {
				toCommit = append(toCommit, o)
				continue
			}
			settle = []*outcome{o}
		case send <- toCommit:
			toCommit, committing = nil, true
			continue
		case settle = <-committed:
			committing = false
		}
		for _, o := range settle {
			inPool[o.sp.Node.Step.Pool]--
			a.settle(o, sum, rep, results, finish, fail)
			accounted++
		}
	}
	// Whatever never started (fail-fast, or an interrupt) is skipped.
	sum.Skipped += len(plan.Steps) - accounted
	// Uploads started as steps finished; the run is not over until they
	// are (an interrupt ends them through ctx).
	a.uploads.Wait()
	a.remoteMu.Lock()
	sum.RemoteHits, sum.Uploads, sum.RemoteFailures = a.remote.hits, a.remote.uploads, a.remote.failures
	sum.Downloaded, sum.Uploaded = a.remote.downloaded, a.remote.uploaded
	a.remoteMu.Unlock()
	// The last group's manifests were renamed after their sync: one more
	// makes their names durable too before apply says it is done.
	syncErr := a.Store.Sync()
	if ctx.Err() != nil {
		sum.Interrupted = true
		return sum, ctx.Err()
	}
	if sum.Failed > 0 {
		return sum, ErrFailed
	}
	return sum, syncErr
}

// settle ends a step that finished (its result committed, if it made
// one): the state records it, the Reporter hears of it, and its
// dependents may start.
func (a *Applier) settle(o *outcome, sum *Summary, rep Reporter, results map[string]*done, finish func(string, bool), fail func(string)) {
	// What a step's error quotes (a command's output, a daemon's
	// message) is masked like its log.
	o.err = a.secrets.Error(o.err)
	o.fellBack = a.secrets.String(o.fellBack)
	sp := o.sp
	name := sp.Node.Name
	if o.event == Ran || o.event == Restored {
		if err := a.record(sp, o); err != nil {
			o.event, o.err = Failed, fmt.Errorf("recording state: %w", err)
		}
	}
	switch o.event {
	case Ran, Restored:
		if o.event == Ran {
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
		results[name] = &done{o.res.Digest(), o.res.Values}
		r := Report{Event: o.event, Detail: detail, Duration: o.dur, Source: o.source, Fetched: o.fetched, Result: o.res.Digest().String()}
		if o.event == Ran {
			r.LogPath = workspace.LogRel(name)
		}
		rep.Finished(sp, r)
		if o.stored && sp.Node.FromCache() {
			a.upload(o.res)
		}
		finish(name, true)
	case Stopped:
		sum.Stopped++
		rep.Finished(sp, Report{Event: Stopped, Detail: o.stopped, Duration: o.dur, LogPath: workspace.LogRel(name)})
		fail(name)
	default:
		sum.Failed++
		f := &Failure{Step: name, Err: o.err, LogPath: workspace.LogRel(name)}
		f.Tail = tail(workspace.LogPath(a.root(), name), logTail)
		sum.Failures = append(sum.Failures, f)
		rep.Finished(sp, Report{Event: Failed, Detail: o.err.Error(), Duration: o.dur, LogPath: f.LogPath})
		fail(name)
	}
}

// logTail is how many lines of a failed step's log a Failure carries.
const logTail = 20

// record makes a finished step's result durable in the state.
func (a *Applier) record(sp *graph.StepPlan, o *outcome) error {
	res := o.res
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
		Result:  res.Digest(),
		Files:   res.Files,
		Values:  res.Values,
		Log:     res.Log,
		Applied: time.Now().UTC(),
	})
}

func (a *Applier) root() string { return a.Planner.Graph.Root }

func (a *Applier) abs(p string) string { return filepath.Join(a.root(), filepath.FromSlash(p)) }

func (a *Applier) kind(name string) kinds.Kind {
	if a.Kind != nil {
		return a.Kind(name)
	}
	return kinds.Get(name)
}

// expand fills in a step's references from the results of its needs.
func (a *Applier) expand(n *graph.Node, results map[string]*done) (any, error) {
	return a.Planner.ExpandSpec(n, func(step, field string) (string, error) {
		d := results[step]
		if d == nil {
			return "", fmt.Errorf("step %s is not part of this run", step)
		}
		return d.values[field], nil
	})
}

// env is the command's environment (SPEC §4), in this order: a few host
// variables every program expects, the step's env (and ${env.X} names),
// pass_env, environment, secrets, then BOTTLE_STEP and BOTTLE_WORKSPACE.
// A name comes once per step (config checks), so only environment may
// override a fixed variable (PATH, HOME, …): os/exec keeps the last value.
// A secret that is unset, or too short to be masked, fails the step, by
// name.
func (a *Applier) env(n *graph.Node) ([]string, error) {
	var env []string
	for _, name := range []string{"PATH", "HOME", "USER", "TMPDIR", "LANG", "TERM"} {
		if v, ok := a.Planner.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for _, name := range n.EnvNames {
		if v, ok := a.Planner.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	// pass_env: the host's value when it has one; unset is simply not
	// passed (a proxy that is not configured is not an error).
	for _, name := range n.Step.PassEnv {
		if v, ok := a.Planner.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	environ, err := n.Environment(a.Planner.Graph.Vars)
	if err != nil {
		return nil, err
	}
	env = append(env, environ...)
	var unset, short []string
	for _, name := range n.Step.Secrets {
		v, ok := a.Planner.LookupEnv(name)
		switch {
		case !ok:
			unset = append(unset, name)
		case len(v) < mask.MinLen:
			short = append(short, name)
		default:
			env = append(env, name+"="+v)
		}
	}
	var errs []error
	if len(unset) > 0 {
		errs = append(errs, fmt.Errorf("%s not set: export %s in the environment of bottle apply",
			plural(unset, "secret %s is", "secrets %s are"), plural(unset, "it", "them")))
	}
	if len(short) > 0 {
		errs = append(errs, fmt.Errorf("%s shorter than %d bytes: too short to mask in logs, so bottle does not pass %s on",
			plural(short, "secret %s is", "secrets %s are"), mask.MinLen, plural(short, "it", "them")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return append(env, "BOTTLE_STEP="+n.Name, "BOTTLE_WORKSPACE="+a.root()), nil
}

// plural formats one (with %s for the name) or many (with %s for the
// names joined by commas).
func plural(names []string, one, many string) string {
	f := one
	if len(names) > 1 {
		f = many
	}
	if !strings.Contains(f, "%s") {
		return f
	}
	return fmt.Sprintf(f, strings.Join(names, ", "))
}

// secretValues are the values of every secret the pipeline names that is
// long enough to be one: masked in whatever any step prints, not only in
// the steps that name it.
func (a *Applier) secretValues() *mask.Set {
	var vals []string
	for _, n := range a.Planner.Graph.Nodes {
		for _, name := range n.Step.Secrets {
			if v, ok := a.Planner.LookupEnv(name); ok && len(v) >= mask.MinLen {
				vals = append(vals, v)
			}
		}
	}
	return mask.NewSet(vals...)
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const maxRead = 64 << 10
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	off := max(fi.Size()-maxRead, 0)
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil {
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

// upload sends a stored result to the remote cache in the background,
// a few at a time; Apply waits for every upload before it returns. A
// failure is counted and reported, never a failed step.
func (a *Applier) upload(res *cache.Result) {
	if a.Remote == nil || !a.Upload {
		return
	}
	a.remoteMu.Lock()
	if a.uploadSem == nil {
		a.uploadSem = make(chan struct{}, uploadJobs)
	}
	a.remoteMu.Unlock()
	a.uploads.Add(1)
	go func() {
		defer a.uploads.Done()
		a.uploadSem <- struct{}{}
		defer func() { <-a.uploadSem }()
		sent, n, err := a.Remote.Upload(a.uploadCtx, res)
		a.remoteMu.Lock()
		defer a.remoteMu.Unlock()
		if err != nil {
			a.remote.failures++
			return
		}
		if sent {
			a.remote.uploads++
			a.remote.uploaded += n
		}
	}()
}

// Uploaded is how many bytes the run has uploaded to the remote cache so
// far (for a live view; the Summary has the total). Safe to call while the
// run goes on.
func (a *Applier) Uploaded() int64 {
	a.remoteMu.Lock()
	defer a.remoteMu.Unlock()
	return a.remote.uploaded
}

// uploadJobs is how many results upload at once (each uploads its blobs
// with bounded concurrency of its own).
const uploadJobs = 4

// fetch brings a result the plan found in the remote cache into the local
// store.
func (a *Applier) fetch(ctx context.Context, k cache.Key) (int64, error) {
	n, err := a.Remote.Fetch(ctx, k)
	a.remoteMu.Lock()
	defer a.remoteMu.Unlock()
	if err != nil {
		a.remote.failures++
		return 0, fmt.Errorf("fetching from the remote cache: %w", err)
	}
	a.remote.hits++
	a.remote.downloaded += n
	return n, nil
}
