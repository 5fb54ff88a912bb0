package main

// The remote cache as the CLI wires it: the flags, one warning when it
// fails, planning's look-ups (local first, then the remote) and the
// executor's fetches and uploads (run.Remote).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/cache/remote"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/run"
	"github.com/bottle-build/bottle/steps"
	"golang.org/x/sync/errgroup"
)

// remoteLookups is how many look-ups planning makes at once.
const remoteLookups = 32

// remoteJobs is how many results cache push and pull move at once (each
// moves its blobs with bounded concurrency of its own).
const remoteJobs = 4

// remoteURL is the remote cache this run uses: --remote-cache (or
// BOTTLE_REMOTE_CACHE), else settings.remote_cache; none with --offline.
func (a *app) remoteURL(setting string) string {
	if a.offline {
		return ""
	}
	if a.remoteCache != "" {
		return a.remoteCache
	}
	return setting
}

// remoteCache is a remote cache in use. Planning reads through it
// (graph.ResultSource), apply fetches and uploads through it (run.Remote).
// The first time the registry cannot be reached it warns once and from
// then on behaves as a miss (local-only run), unless strict.
type remoteCache struct {
	c      *remote.Cache
	local  graph.ResultSource // the local cache, asked first
	disk   *cache.Disk        // the writable local cache (apply); nil when planning only
	ctx    context.Context
	notify func(sev, step, msg, line string) // app.notify: stderr, or a diagnostic event
	strict bool

	down     atomic.Bool
	warnOnce sync.Once
	mu       sync.Mutex
	failed   error           // the first failure, for --remote-cache-strict
	warned   map[string]bool // steps whose unsigned or badly signed result was ignored
}

// openRemote opens the remote cache at url, reading through local first.
func (a *app) openRemote(ctx context.Context, url string, local graph.ResultSource, write bool) (*remoteCache, error) {
	c, err := remote.Open(remote.Options{
		URL:        url,
		Write:      write,
		SigningKey: signingKey(),
	})
	if err != nil {
		return nil, usageErr("%v", err)
	}
	return &remoteCache{c: c, local: local, ctx: ctx, notify: a.notify, strict: a.remoteStrict, warned: map[string]bool{}}, nil
}

// signingKey is BOTTLE_CACHE_SIGNING_KEY: results written carry an HMAC
// made with it, and results read without a valid one are ignored.
func signingKey() []byte {
	if k := os.Getenv("BOTTLE_CACHE_SIGNING_KEY"); k != "" {
		return []byte(k)
	}
	return nil
}

// fail records a failure of the remote: one warning, then local-only.
func (r *remoteCache) fail(err error) {
	r.mu.Lock()
	if r.failed == nil {
		r.failed = err
	}
	r.mu.Unlock()
	if remote.IsUnavailable(err) {
		r.down.Store(true)
	}
	r.warnOnce.Do(func() {
		if r.strict {
			return
		}
		msg := fmt.Sprintf("%v; continuing with the local cache only", err)
		r.notify("warning", "", msg, "warning: "+msg)
	})
}

// Err is the first failure, which --remote-cache-strict makes fatal.
func (r *remoteCache) Err() error {
	if r == nil || !r.strict {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed != nil {
		return fmt.Errorf("%w (and --remote-cache-strict makes that an error)", r.failed)
	}
	return nil
}

// PeekResult looks k up in the local cache, then in the remote: a remote
// hit is a summary of the result (its digest, values and size, from the
// manifest), which apply fetches before restoring.
func (r *remoteCache) PeekResult(k cache.Key) (*cache.Result, error) {
	if res, err := r.local.PeekResult(k); err == nil {
		return res, nil
	}
	if r.down.Load() {
		return nil, cache.ErrMiss
	}
	s, err := r.c.Lookup(r.ctx, k)
	switch {
	case errors.Is(err, remote.ErrUnsigned), errors.Is(err, remote.ErrBadSignature):
		r.mu.Lock()
		first := !r.warned[err.Error()]
		r.warned[err.Error()] = true
		r.mu.Unlock()
		if first {
			msg := fmt.Sprintf("ignoring a result in the remote cache: %v", err)
			r.notify("warning", "", msg, "warning: "+msg)
		}
		return nil, cache.ErrMiss
	case err != nil:
		r.fail(err)
		return nil, cache.ErrMiss
	case s == nil:
		return nil, cache.ErrMiss
	}
	return &cache.Result{Key: k, Step: s.Step, Kind: s.Kind, Values: s.Values,
		Remote: &cache.RemoteInfo{Digest: s.Digest, Size: s.Size, Files: s.Files}}, nil
}

var _ run.Remote = (*remoteCache)(nil)

// Fetch implements run.Remote.
func (r *remoteCache) Fetch(ctx context.Context, k cache.Key) (int64, error) {
	if r.down.Load() {
		return 0, errors.New("unreachable")
	}
	_, n, err := r.c.Fetch(ctx, k, r.disk)
	if err != nil {
		r.fail(err)
	}
	return n, err
}

// Upload implements run.Remote.
func (r *remoteCache) Upload(ctx context.Context, res *cache.Result) (bool, int64, error) {
	if r.down.Load() {
		return false, 0, errors.New("unreachable")
	}
	st, err := r.c.Push(ctx, res, r.disk)
	if err != nil {
		r.fail(err)
		return false, 0, err
	}
	return !st.Skipped, st.Bytes, nil
}

// useRemote puts the remote cache, if this run has one, behind pl's
// look-ups, and returns it (nil when there is none).
func (a *app) useRemote(ctx context.Context, ws *pipeline, pl *graph.Planner, write bool) (*remoteCache, error) {
	url := a.remoteURL(ws.g.Config.Settings.RemoteCache)
	if url == "" {
		if a.remoteWrite && !a.offline {
			return nil, usageErr("--remote-cache-write: no remote cache to write; give --remote-cache oci://HOST/REPO or settings.remote_cache")
		}
		return nil, nil
	}
	rc, err := a.openRemote(ctx, url, pl.Cache, write)
	if err != nil {
		return nil, err
	}
	pl.Cache, pl.Lookups = rc, remoteLookups
	return rc, nil
}

// apply switches a remote cache that planning used to apply's writable
// local cache.
func (r *remoteCache) apply(pl *graph.Planner, disk *cache.Disk) {
	r.local, r.disk = disk, disk
	pl.Cache = r
}

// warmTargets are the steps 'bottle cache warm' applies: targets (every
// step when none is named) less each step whose effect lives only on the
// applying host (steps.HostOnly) and each step that needs one. It says
// what it skips.
func (a *app) warmTargets(g *graph.Graph, targets []string) ([]string, error) {
	skip := map[string]bool{}
	var visit func(n *graph.Node) bool
	seen := map[string]bool{}
	visit = func(n *graph.Node) bool {
		if seen[n.Name] {
			return skip[n.Name]
		}
		seen[n.Name] = true
		if h, ok := n.Kind.(steps.HostOnly); ok && h.HostOnly() {
			skip[n.Name] = true
		}
		for _, d := range n.Needs {
			if visit(d) {
				skip[n.Name] = true
			}
		}
		return skip[n.Name]
	}
	names := g.ExpandGroups(targets)
	if len(names) == 0 {
		for _, n := range g.Nodes {
			names = append(names, n.Name)
		}
	}
	var keep, skipped []string
	for _, name := range names {
		n := g.Node(name)
		if n == nil {
			return nil, usageErr("no step %q", name)
		}
		if visit(n) {
			skipped = append(skipped, name)
			continue
		}
		keep = append(keep, name)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(a.stdout, "Skipping %s: %s effect lives only on the host that applies it.\n", strings.Join(skipped, ", "), plural(len(skipped), "its", "their"))
	}
	if len(keep) == 0 {
		return nil, usageErr("nothing to warm: every step named is one whose effect lives only on this host")
	}
	return keep, nil
}

// pushResults uploads the current result of every step of plan that the
// remote lacks (cache push, and the end of cache warm). A result whose
// effect no cache carries (a pushed manifest) is left out. applied says
// the plan has just been applied: each step's result is then the one the
// state records; otherwise only up-to-date steps have one.
func (a *app) pushResults(ctx context.Context, ws *pipeline, rc *remoteCache, plan *graph.Plan, applied bool) error {
	disk, err := cache.Open(ws.cacheDir)
	if err != nil {
		return err
	}
	rc.disk = disk
	var (
		mu                 sync.Mutex
		sent, there, fails int
		bytes              int64
		notApplied         []string
		notLocal           []string
		g                  errgroup.Group
	)
	g.SetLimit(remoteJobs)
	for _, sp := range plan.Steps {
		n := sp.Node
		if !n.FromCache() {
			continue
		}
		st := ws.state.Steps[n.Name]
		if st == nil || (!applied && sp.Status != graph.UpToDate) {
			notApplied = append(notApplied, n.Name)
			continue
		}
		res, err := disk.PeekResult(st.Key)
		if err != nil {
			notLocal = append(notLocal, n.Name)
			continue
		}
		g.Go(func() error {
			ok, size, err := rc.Upload(ctx, res)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				fails++
				fmt.Fprintf(a.stderr, "bottle: uploading %s: %v\n", n.Name, err)
			case ok:
				sent++
				bytes += size
			default:
				there++
			}
			return nil
		})
	}
	g.Wait()
	fmt.Fprintf(a.stdout, "Remote cache %s: %d %s uploaded (%s), %d already there",
		rc.c.URL(), sent, plural(sent, "result", "results"), humanBytes(bytes), there)
	if fails > 0 {
		fmt.Fprintf(a.stdout, ", %d failed", fails)
	}
	fmt.Fprintln(a.stdout, ".")
	if len(notApplied) > 0 {
		fmt.Fprintf(a.stdout, "Not uploaded (not up to date here; run bottle apply first): %s\n", strings.Join(notApplied, ", "))
	}
	if len(notLocal) > 0 {
		fmt.Fprintf(a.stdout, "Not uploaded (the result is no longer in the local cache %s): %s\n", ws.cacheDir, strings.Join(notLocal, ", "))
	}
	if fails > 0 && a.remoteStrict {
		return exitError(1)
	}
	return rc.Err()
}

// pullResults fetches into the local cache every result of plan that only
// the remote has (cache pull). The workspace is not touched: a later apply
// restores from the local cache.
func (a *app) pullResults(ctx context.Context, ws *pipeline, rc *remoteCache, plan *graph.Plan) error {
	disk, err := cache.Open(ws.cacheDir)
	if err != nil {
		return err
	}
	rc.disk = disk
	var (
		mu         sync.Mutex
		got, fails int
		bytes      int64
		g          errgroup.Group
	)
	g.SetLimit(remoteJobs)
	for _, sp := range plan.Steps {
		if sp.Status != graph.Restore || sp.Cached == nil || sp.Cached.Remote == nil {
			continue
		}
		g.Go(func() error {
			n, err := rc.Fetch(ctx, sp.Key)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails++
				fmt.Fprintf(a.stderr, "bottle: fetching %s: %v\n", sp.Node.Name, err)
				return nil
			}
			got++
			bytes += n
			return nil
		})
	}
	g.Wait()
	fmt.Fprintf(a.stdout, "Remote cache %s: %d %s fetched into the local cache (%s)", rc.c.URL(), got, plural(got, "result", "results"), humanBytes(bytes))
	if fails > 0 {
		fmt.Fprintf(a.stdout, ", %d failed", fails)
	}
	fmt.Fprintln(a.stdout, ".")
	if fails > 0 && a.remoteStrict {
		return exitError(1)
	}
	return rc.Err()
}
