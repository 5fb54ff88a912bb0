package run

// Doing one step: restore its cached result (and recreate its effect), or
// run it under its timeout and capture what it declared.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/internal/mask"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
	"golang.org/x/sync/errgroup"
)

// outcome is how one step ended, as its goroutine reports it.
type outcome struct {
	sp       *graph.StepPlan
	event    Event // Ran, Restored, Failed or Stopped
	res      *cache.Result
	err      error
	unstored string // why the result was not stored
	fellBack string // restore fell back to running: why
	dur      time.Duration
	source   string // for a restore: "local", or "remote" when it was fetched
	fetched  int64  // bytes downloaded from the remote cache for it
	stopped  string // for Stopped: why ("interrupted", "another step failed")
	// store: res is to be committed to the cache before the step counts
	// as done (commit.go); stored: it was.
	store, stored bool
}

// do restores or runs one step. It runs on its own goroutine and touches no
// shared bookkeeping. spec is the step's spec with its references filled
// in (or specErr).
func (a *Applier) do(ctx context.Context, sp *graph.StepPlan, spec any, specErr error) *outcome {
	start := time.Now()
	if specErr != nil {
		return &outcome{sp: sp, event: Failed, err: specErr}
	}
	if sp.Status == graph.Restore && sp.Cached != nil {
		fetched := int64(-1) // unless it comes from the remote cache
		res, err := a.restore(ctx, sp, &fetched)
		if err == nil {
			err = a.recreate(ctx, sp, spec, res)
		}
		if err == nil {
			os.Remove(workspace.LogPath(a.root(), sp.Node.Name))
			o := &outcome{sp: sp, event: Restored, res: res, dur: time.Since(start), source: "local"}
			if fetched >= 0 {
				o.source, o.fetched = "remote", fetched
			}
			return o
		}
		if ctx.Err() != nil {
			return &outcome{sp: sp, event: Stopped, err: ctx.Err(), stopped: stopReason(ctx)}
		}
		o := a.run(ctx, sp, spec)
		o.fellBack = fmt.Sprintf("ran instead of restoring: %v", err)
		o.dur = time.Since(start)
		return o
	}
	o := a.run(ctx, sp, spec)
	o.dur = time.Since(start)
	return o
}

// job describes the step to its kind. It fails when a secret the step
// names cannot be given to it.
func (a *Applier) job(sp *graph.StepPlan, spec any, log io.Writer) (*kinds.Job, error) {
	env, err := a.env(sp.Node)
	if err != nil {
		return nil, err
	}
	return &kinds.Job{
		Step:      sp.Node.Name,
		Key:       sp.Key.String(),
		Workspace: a.root(),
		Spec:      spec,
		Env:       env,
		Secrets:   sp.Node.Step.Secrets,
		Log:       log,
		Runtime:   a.Runtime,
	}, nil
}

// recreate asks the kind to bring back the effect of a restored result
// (image.build loads its archive into the engine).
func (a *Applier) recreate(ctx context.Context, sp *graph.StepPlan, spec any, res *cache.Result) error {
	rs, ok := a.kind(sp.Node.Kind.Name()).(kinds.Restorer)
	if !ok {
		return nil
	}
	var log strings.Builder
	job, err := a.job(sp, spec, &log)
	if err != nil {
		return err
	}
	if err := rs.Restore(ctx, job, res.Values); err != nil {
		return fmt.Errorf("recreating its %s: %w", sp.Node.Effect(), err)
	}
	return nil
}

// restore copies a cached result into the workspace, verifying every blob,
// and returns the result as read now. When it fetches the result from the
// remote cache, it sets *fetched to the bytes downloaded.
func (a *Applier) restore(ctx context.Context, sp *graph.StepPlan, fetched *int64) (*cache.Result, error) {
	// Read the result again: it may have been pruned since planning, and
	// reading marks it used. One the plan found in the remote cache is
	// fetched into the local cache first (unless it got there meanwhile);
	// from then on it is restored like any local result, through the same
	// checks.
	res, err := a.Store.GetResult(sp.Key)
	if err != nil && sp.Cached.Remote != nil && a.Remote != nil && errors.Is(err, cache.ErrMiss) {
		if *fetched, err = a.fetch(ctx, sp.Key); err == nil {
			res, err = a.Store.GetResult(sp.Key)
		}
	}
	if err != nil {
		return nil, err
	}
	// The result is data from a cache someone else may write: nothing is
	// written until every entry is known to land inside the step's declared
	// outputs, and none below a link.
	if err := res.CheckFiles(sp.Node.Outputs); err != nil {
		if moved := a.Store.Quarantine(sp.Key); moved != "" {
			err = fmt.Errorf("%w (the result was moved to %s)", err, moved)
		}
		return nil, err
	}
	if err := a.noLinkAbove(sp.Node); err != nil {
		return nil, err
	}
	if err := a.removeOutputs(sp.Node); err != nil {
		return nil, err
	}
	tmpDir := workspace.TmpDir(a.root())
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return nil, err
	}
	fs := append([]cache.File(nil), res.Files...)
	sort.Slice(fs, func(i, j int) bool { return fs[i].Path < fs[j].Path })
	// Folders and links first, in order; then the files, several at once:
	// a result of thousands of small files costs a few syscalls each, and
	// they overlap.
	var regular []cache.File
	for _, f := range fs {
		dst := a.abs(f.Path)
		switch {
		case f.Mode.IsDir():
			if err := os.MkdirAll(dst, f.Mode.Perm()|0o700); err != nil {
				return nil, err
			}
		case f.Mode&os.ModeSymlink != 0:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return nil, err
			}
			if err := os.Symlink(f.Link, dst); err != nil {
				return nil, err
			}
		default:
			regular = append(regular, f)
		}
	}
	if err := a.restoreFiles(regular, tmpDir); err != nil {
		a.removeOutputs(sp.Node) // never leave a partial restore behind
		return nil, err
	}
	return res, nil
}

// restoreJobs is how many files one restore copies at once.
const restoreJobs = 8

// restoreFiles copies files from the cache into the workspace, up to
// restoreJobs at once, and returns the first error (no file starts after
// it).
func (a *Applier) restoreFiles(files []cache.File, tmpDir string) error {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(restoreJobs)
	for _, f := range files {
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil
			}
			return a.Store.RestoreFile(f.Digest, a.abs(f.Path), tmpDir, f.Mode.Perm())
		})
	}
	return g.Wait()
}

// noLinkAbove refuses to restore into an output whose folder, or any
// folder above it in the workspace, is a link: the restore would write
// wherever the link points.
func (a *Applier) noLinkAbove(n *graph.Node) error {
	for _, o := range n.Outputs {
		for dir := path.Dir(o); dir != "."; dir = path.Dir(dir) {
			fi, err := os.Lstat(a.abs(dir))
			if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s is a link: restore writes nothing below a link (the step runs instead)", dir)
			}
		}
	}
	return nil
}

func (a *Applier) removeOutputs(n *graph.Node) error {
	for _, o := range n.Outputs {
		// A file where a folder above the output should be: there is no
		// output to remove (makeOutputFolders then says what is wrong).
		if err := os.RemoveAll(a.abs(o)); err != nil && !errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("removing old output %s: %w", o, err)
		}
	}
	return nil
}

// makeOutputFolders makes the folder each declared output goes in, as
// ninja does, so that a command need not start with mkdir -p: in a VM
// where starting a process costs 10 ms, that one more process made a
// 1,000-step build 27% slower. The output itself is the command's to make.
func (a *Applier) makeOutputFolders(n *graph.Node) error {
	made := ""
	for _, o := range n.Outputs {
		dir := path.Dir(o)
		if dir == "." || dir == made {
			continue
		}
		if err := os.MkdirAll(a.abs(dir), 0o755); err != nil {
			return fmt.Errorf("making the folder of output %s: %w", o, err)
		}
		made = dir
	}
	return nil
}

// stopReason says why ctx, the run's context, ended: an interrupt, or
// fail-fast after another step failed.
func stopReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), errFailFast) {
		return errFailFast.Error()
	}
	return "interrupted"
}

// markStopped ends the log of a step that bottle stopped with a line that
// says so and why, on a line of its own: without it the log of a stopped
// step ends wherever the step was, as if it had finished.
func markStopped(logf *os.File, why string, d time.Duration) {
	line := fmt.Sprintf("bottle: stopped (%s) after %s\n", why, d.Round(100*time.Millisecond))
	if fi, err := logf.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := logf.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	logf.Write([]byte(line))
}

// run runs the step under its timeout, then stores what it declared.
func (a *Applier) run(ctx context.Context, sp *graph.StepPlan, spec any) *outcome {
	n := sp.Node
	fail := func(err error) *outcome { return &outcome{sp: sp, event: Failed, err: err} }
	// The log comes first (empty), so that a failure below never shows the
	// tail of an earlier run's log as its own.
	// The log stays locked while the step runs: bottle logs -f follows it
	// until the lock goes.
	logPath := workspace.LogPath(a.root(), n.Name)
	logf, err := workspace.CreateLog(a.root(), n.Name)
	if err != nil {
		return fail(fmt.Errorf("creating log: %w", err))
	}
	defer logf.Close()
	// Everything the step prints is masked before it reaches the file: the
	// file is what the terminal, bottle logs and the cache get.
	var logw io.Writer = logf
	if lr, ok := a.Reporter.(LogReporter); ok {
		lines := &lineWriter{emit: func(l string) { lr.Log(sp, l) }}
		defer lines.flush()
		logw = io.MultiWriter(logf, lines)
	}
	log := mask.NewWriter(logw, a.secrets)
	job, err := a.job(sp, spec, log)
	if err != nil {
		return fail(err)
	}
	if err := a.removeOutputs(n); err != nil {
		return fail(err)
	}
	if err := a.makeOutputFolders(n); err != nil {
		return fail(err)
	}
	k := a.kind(n.Kind.Name())
	if k == nil {
		return fail(fmt.Errorf("no runner for kind %s", n.Kind.Name()))
	}
	// The timeout applies to every kind the same way: the kind sees its
	// context end and stops what it started.
	stepCtx := ctx
	if t := n.Step.Timeout; t > 0 {
		var cancel context.CancelFunc
		stepCtx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	started := time.Now()
	out, err := k.Run(stepCtx, job)
	if cerr := log.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("writing log: %w", cerr)
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			why := stopReason(ctx)
			markStopped(logf, why, time.Since(started))
			return &outcome{sp: sp, event: Stopped, err: err, stopped: why}
		case errors.Is(stepCtx.Err(), context.DeadlineExceeded):
			markStopped(logf, fmt.Sprintf("timeout %s", n.Step.Timeout), time.Since(started))
			return fail(fmt.Errorf("timed out after %s", n.Step.Timeout))
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
	if out != nil {
		for k, v := range out.Values {
			res.Values[k] = v
		}
	}
	if l, ok := n.Kind.(steps.Locator); ok {
		res.Location = l.LocationValues()
	}
	for _, o := range n.Outputs {
		fs, err := a.capture(o)
		if err != nil {
			return fail(err)
		}
		res.Files = append(res.Files, fs...)
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	if fi, err := logf.Stat(); err == nil && fi.Size() > 0 {
		d, size, err := a.Store.StageFile(logPath)
		if err != nil {
			return fail(fmt.Errorf("storing log: %w", err))
		}
		res.Log, res.LogSize = d, size
	}
	res.Duration = time.Since(started)
	o := &outcome{sp: sp, event: Ran, res: res}
	if why := a.inputsChanged(sp); why != "" {
		o.unstored = why + " while the step ran; result not stored"
		return o
	}
	// The scheduler commits the result (commit.go), and only then counts
	// the step done.
	o.store = true
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
		p := a.abs(rel)
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
			d, size, err := a.Store.StageFile(p)
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
