package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// pipeline is a loaded pipeline with its bookkeeping.
type pipeline struct {
	root     string
	g        *graph.Graph
	index    *files.Index
	state    *workspace.State
	cacheDir string
	watch    *files.Watch // the file watcher's part of this run (fsmonitor.go), or nil
}

// openWorkspace loads the config, the state and the file-hash index, for
// a plan: it asks the file watcher what changed when fsmonitor says so, or
// starts the index's early stat pass. It writes nothing.
func (a *app) openWorkspace() (*pipeline, error) { return a.openWorkspaceFor(openPlan) }

// What a command opens the workspace for.
type openUse int

const (
	openPlan       openUse = iota // plan what to run
	openApply                     // plan, and make watchman watch the workspace when fsmonitor is on
	openNoPlanning                // read the graph and state only (clean): no watcher, no early looks
)

// openWorkspaceFor is openWorkspace for use.
func (a *app) openWorkspaceFor(use openUse) (*pipeline, error) {
	register := use == openApply
	root, err := a.workspaceDir()
	if err != nil {
		return nil, err
	}
	cfg := workspace.ConfigPath(root, a.file)
	ws := &pipeline{root: root}
	// --fsmonitor (or BOTTLE_FSMONITOR) is known now: watchman is asked
	// while the config loads. settings.fsmonitor is known only after.
	flagMode, err := a.fsmonitorMode("")
	if err != nil {
		return nil, err
	}
	var watched <-chan watchAnswer
	if flagMode != "" && use != openNoPlanning {
		watched = askWatchman(context.Background(), root, register)
	}
	// The state and the index load while the config does: each takes tens
	// of milliseconds for a large workspace. The index opens first, so
	// that the early stat pass, the longest of these, starts first.
	var stateErr, indexErr error
	var indexID files.FileID
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		ws.index, indexID, indexErr = files.OpenIndexID(workspace.IndexPath(root))
		if indexErr == nil && flagMode == "" && use != openNoPlanning {
			// Look at the files while the config loads; a watcher that
			// answers ends this (useWatch): it vouches for them instead.
			ws.index.Prestat(root)
		}
		ws.state, stateErr = workspace.Load(root)
	}()
	opts := graph.LoadOptions{Root: root, ConfigFile: cfg, Vars: a.vars, VarCommand: kinds.RunVarCommand, Kinds: kinds.Descriptions()}
	if flagMode == "" && use != openNoPlanning {
		// A first plan hashes the inputs it can guess while the config
		// is parsed (the index then has nothing for the early looks).
		opts.EarlyInputs = func(paths []string) {
			<-loaded
			if indexErr == nil {
				ws.index.Prehash(root, paths)
			}
		}
	}
	g, err := graph.Load(opts)
	<-loaded
	if err != nil {
		return nil, err
	}
	ws.g = g
	if a.fsmonitor == "" && g.Config.Settings.Fsmonitor != "" && use != openNoPlanning {
		watched = askWatchman(context.Background(), root, register)
	}
	if stateErr != nil {
		if ws.state == nil {
			return nil, stateErr
		}
		a.notify("warning", "", stateErr.Error(), "bottle: warning: "+stateErr.Error())
	}
	if indexErr != nil {
		return nil, indexErr
	}
	if watched != nil {
		a.useWatch(ws, <-watched, indexID)
	}
	ws.cacheDir, err = a.resolveCacheDir(root, g.Config.Settings.CacheDir)
	if err != nil {
		return nil, err
	}
	return ws, nil
}

// resolveCacheDir applies SPEC §2: --cache-dir / BOTTLE_CACHE_DIR, then
// settings.cache_dir, then $XDG_CACHE_HOME/bottle, then ~/.cache/bottle.
func (a *app) resolveCacheDir(root, setting string) (string, error) {
	expand := func(p string) string {
		if rest, ok := strings.CutPrefix(p, "~/"); ok {
			if home, err := os.UserHomeDir(); err == nil {
				return filepath.Join(home, rest)
			}
		}
		return p
	}
	switch {
	case a.cacheDir != "":
		return filepath.Abs(expand(a.cacheDir))
	case setting != "":
		p := expand(setting)
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		return filepath.Clean(p), nil
	case os.Getenv("XDG_CACHE_HOME") != "":
		return filepath.Join(os.Getenv("XDG_CACHE_HOME"), "bottle"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache folder: %w (set --cache-dir or BOTTLE_CACHE_DIR)", err)
	}
	return filepath.Join(home, ".cache", "bottle"), nil
}

// planner builds a planner over a read-only view of the cache, and the
// world beyond it through the kinds' read-only probes (outside). rt is the
// run's Runtime, so that plan and apply share one Docker connection; nil
// makes one for planning alone.
func (ws *pipeline) planner(ctx context.Context, rt *kinds.Runtime, replace []string) *graph.Planner {
	if rt == nil {
		rt = &kinds.Runtime{Buildkit: ws.g.Config.Settings.Buildkit}
	}
	pl := &graph.Planner{
		Graph:   ws.g,
		Index:   ws.index,
		State:   ws.state,
		Cache:   cache.NewReader(ws.cacheDir),
		Outside: &outside{ctx: ctx, rt: rt},
	}
	if os.Getenv("BOTTLE_DEBUG") == "hash" {
		pl.Debug = os.Stderr
	}
	if len(replace) > 0 {
		pl.Replace = map[string]bool{}
		for _, r := range replace {
			pl.Replace[r] = true
		}
	}
	return pl
}

// outside is what planning may ask beyond the workspace (graph.Outside),
// through the kinds' read-only probes: the engine's platform, for the key
// of a build that names none (asked once per run, and only when such a step
// is planned); whether effects still exist, only for --refresh
// (graph.Planner.Refresh).
type outside struct {
	ctx context.Context
	rt  *kinds.Runtime
}

var _ graph.Outside = (*outside)(nil)

func (o *outside) EffectExists(kind, key string, values map[string]string) (bool, error) {
	p, ok := kinds.Get(kind).(kinds.Prober)
	if !ok {
		return true, nil
	}
	return p.Exists(o.ctx, o.rt, key, values)
}

func (o *outside) Platform(kind string, spec any) (string, error) {
	p, ok := kinds.Get(kind).(kinds.PlatformProber)
	if !ok {
		return "", fmt.Errorf("kind %s cannot say its engine's platform", kind)
	}
	return p.Platform(o.ctx, o.rt, spec)
}

// saveIndex keeps the hashes computed while planning; it writes only under
// .bottle/.
func (ws *pipeline) saveIndex() error {
	if err := workspace.Init(ws.root); err != nil {
		return err
	}
	// The parsed config and the index are files of their own: each is
	// encoded and written on a core of its own (after a first plan of
	// 20,000 steps, 14 MB and 11 MB).
	cfgErr := make(chan error, 1)
	go func() { cfgErr <- ws.g.SaveConfigCache() }()
	var err error
	if ws.watch != nil {
		// The index first, then the clock that belongs to it.
		err = ws.watch.Save(ws.index)
	} else {
		err = ws.index.Save()
	}
	return errors.Join(<-cfgErr, err)
}

// lockWorkspace takes the workspace lock for who ("bottle apply"), saying
// so while another bottle holds it.
func (a *app) lockWorkspace(ctx context.Context, root, who string) (*workspace.Lock, error) {
	return workspace.Acquire(ctx, root, who, func(holder string) {
		a.notify("info", "", "waiting for the workspace lock, held by "+holder, fmt.Sprintf("Waiting for the workspace lock, held by %s...", holder))
	})
}
