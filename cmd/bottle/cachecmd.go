package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// cacheDirForCommand finds the cache without needing a valid pipeline: the
// flag or variable, else the workspace's settings.cache_dir if it has one,
// else the default.
func (a *app) cacheDirForCommand() (string, error) {
	root, err := a.workspaceDir()
	if err != nil {
		return "", err
	}
	setting := ""
	cfg := workspace.ConfigPath(root, a.file)
	if data, err := os.ReadFile(cfg); err == nil {
		if f, err := config.Parse(filepath.Base(cfg), data, kinds.Infos()); err == nil {
			setting = f.Settings.CacheDir
		}
	}
	return a.resolveCacheDir(root, setting)
}

func (a *app) cacheCmd() *ffcli.Command {
	statsFS := a.flagSet("cache stats")
	pruneFS := a.flagSet("cache prune")
	maxSize := pruneFS.String("max-size", "", "shrink the cache to at most `SIZE` (e.g. 500MB, 2GiB)")
	verifyFS := a.flagSet("cache verify")
	open := func() (*cache.Disk, error) {
		dir, err := a.cacheDirForCommand()
		if err != nil {
			return nil, err
		}
		return cache.Open(dir)
	}
	return &ffcli.Command{
		Name:       "cache",
		ShortUsage: "bottle cache <stats|prune|verify|push|pull|warm> [flags]",
		ShortHelp:  "inspect, shrink or check the cache",
		LongHelp: strings.TrimSpace(`
The cache keeps blobs by digest and step results by key. One cache may serve
many workspaces and processes at once.

EXAMPLES
  bottle cache stats
  bottle cache prune --max-size 2GiB
  bottle cache verify                 exit 1 if any blob was corrupt`),
		FlagSet: a.flagSet("cache"),
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown cache command %q: use stats, prune, verify, push, pull or warm", args[0])
			}
			return usageErr("bottle cache needs a command: stats, prune, verify, push, pull or warm")
		},
		Subcommands: []*ffcli.Command{
			{
				Name:       "stats",
				ShortUsage: "bottle cache stats",
				ShortHelp:  "where the cache is, its size and entries",
				LongHelp: strings.TrimSpace(`
Stats prints the cache's folder, how many results and blobs it holds, their
size, and how many damaged files verify or a restore moved aside.

EXAMPLES
  bottle cache stats
  bottle --cache-dir /var/cache/bottle cache stats`),
				FlagSet: statsFS,
				Options: ffOptions,
				Exec: func(ctx context.Context, args []string) error {
					c, err := open()
					if err != nil {
						return err
					}
					st, err := c.Stats()
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "cache:       %s\n", c.Dir())
					fmt.Fprintf(a.stdout, "results:     %d\n", st.Results)
					fmt.Fprintf(a.stdout, "blobs:       %d\n", st.Blobs)
					fmt.Fprintf(a.stdout, "size:        %s\n", humanBytes(st.Bytes))
					if st.Quarantined > 0 {
						fmt.Fprintf(a.stdout, "quarantined: %d, %s (in %s; safe to delete)\n", st.Quarantined, humanBytes(st.QuarantinedBytes), filepath.Join(c.Dir(), "corrupt"))
					}
					return nil
				},
			},
			{
				Name:       "prune",
				ShortUsage: "bottle cache prune --max-size SIZE",
				ShortHelp:  "drop least recently used results down to a size",
				LongHelp: strings.TrimSpace(`
Prune drops the least recently used results until the cache is at most
SIZE, then the blobs no remaining result needs. A result that a running
apply holds is never dropped.

EXAMPLES
  bottle cache prune --max-size 500MB
  bottle cache prune --max-size 0      empty it (except what is in use)`),
				FlagSet: pruneFS,
				Options: ffOptions,
				Exec: func(ctx context.Context, args []string) error {
					if *maxSize == "" {
						return usageErr("cache prune needs --max-size SIZE, e.g. --max-size 2GiB")
					}
					n, err := cache.ParseSize(*maxSize)
					if err != nil {
						return usageErr("--max-size: %v", err)
					}
					c, err := open()
					if err != nil {
						return err
					}
					r, err := c.Prune(n, time.Now())
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "pruned %d results and %d blobs, freed %s: %s -> %s",
						r.Results, r.Blobs, humanBytes(r.Freed), humanBytes(r.Before), humanBytes(r.After))
					if r.Held > 0 {
						fmt.Fprintf(a.stdout, " (%d results kept: in use by a running apply)", r.Held)
					}
					if r.Temp > 0 {
						fmt.Fprintf(a.stdout, "; removed %d leftover temporary files", r.Temp)
					}
					fmt.Fprintln(a.stdout)
					return nil
				},
			},
			{
				Name:       "verify",
				ShortUsage: "bottle cache verify",
				ShortHelp:  "re-hash every blob; move corrupt ones aside; exit 1 if any",
				LongHelp: strings.TrimSpace(`
Verify re-reads every blob on all cores and compares it with its digest. A
corrupt blob is moved to corrupt/ and the results that named it are listed:
the steps that produced them run again next time. Exit status 1 means
something was found.

EXAMPLES
  bottle cache verify
  bottle cache verify || echo "the cache had damage; it has been set aside"`),
				FlagSet: verifyFS,
				Options: ffOptions,
				Exec: func(ctx context.Context, args []string) error {
					c, err := open()
					if err != nil {
						return err
					}
					r, err := c.Verify()
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "checked %d blobs (%s) and %d results\n", r.Blobs, humanBytes(r.Bytes), r.Manifests)
					if r.Sound() {
						fmt.Fprintln(a.stdout, "all sound")
						return nil
					}
					for _, cb := range r.Corrupt {
						fmt.Fprintf(a.stdout, "corrupt: %s\n", cb)
					}
					for _, bm := range r.BadManifests {
						fmt.Fprintf(a.stdout, "bad result: %s\n", bm)
					}
					fmt.Fprintf(a.stdout, "%d corrupt blobs and %d bad results moved to %s; the steps that used them will run again\n",
						len(r.Corrupt), len(r.BadManifests), filepath.Join(c.Dir(), "corrupt"))
					return exitError(1)
				},
			},
			a.cachePushCmd(),
			a.cachePullCmd(),
			a.cacheWarmCmd(),
		},
	}
}

// remoteWorkspace opens the workspace and the remote cache for push and
// pull, which need both.
func (a *app) remoteWorkspace(ctx context.Context, what string) (*pipeline, *graph.Planner, *remoteCache, error) {
	ws, err := a.openWorkspace()
	if err != nil {
		return nil, nil, nil, err
	}
	pl := ws.planner(ctx, nil, nil)
	if a.remoteURL(ws.g.Config.Settings.RemoteCache) == "" {
		ws.state.Close()
		return nil, nil, nil, usageErr("cache %s needs a remote cache: give --remote-cache oci://HOST/REPO or settings.remote_cache", what)
	}
	local := pl.Cache
	rc, err := a.openRemote(ctx, a.remoteURL(ws.g.Config.Settings.RemoteCache), local, what == "push")
	if err != nil {
		ws.state.Close()
		return nil, nil, nil, err
	}
	return ws, pl, rc, nil
}

func (a *app) cachePushCmd() *ffcli.Command {
	fs := a.flagSet("cache push")
	all := allFlag(fs)
	return &ffcli.Command{
		Name:       "push",
		ShortUsage: "bottle cache push [flags] [STEP...]",
		ShortHelp:  "upload this workspace's results that the remote cache lacks",
		LongHelp: strings.TrimSpace(`
Push uploads the applied result of each step (all steps, or the STEPs named
and what they need) to the remote cache, unless the remote has it: one
manifest look-up per result, and only the blobs the registry lacks. Steps
whose effect no cache carries (a pushed manifest, a machine) are left out.
Runs nothing; a step that is not up to date here is named and skipped.

EXAMPLES
  bottle --remote-cache oci://registry.example.com/team/bottle cache push
  BOTTLE_CACHE_SIGNING_KEY=... bottle cache push image`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			ws, pl, rc, err := a.remoteWorkspace(ctx, "push")
			if err != nil {
				return err
			}
			defer ws.state.Close()
			plan, err := planTargets(pl, args, *all)
			if err != nil {
				return err
			}
			return a.pushResults(ctx, ws, rc, plan, false)
		},
	}
}

func (a *app) cachePullCmd() *ffcli.Command {
	fs := a.flagSet("cache pull")
	all := allFlag(fs)
	return &ffcli.Command{
		Name:       "pull",
		ShortUsage: "bottle cache pull [flags] [STEP...]",
		ShortHelp:  "fetch the results the local cache lacks from the remote cache",
		LongHelp: strings.TrimSpace(`
Pull plans (all steps, or the STEPs named and what they need), and fetches
into the local cache every result the plan finds only in the remote cache,
verifying every blob. The workspace is not touched: the next apply
restores from the local cache, also offline.

EXAMPLES
  bottle --remote-cache oci://registry.example.com/team/bottle cache pull
  bottle cache pull pack && bottle --offline apply`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			ws, pl, rc, err := a.remoteWorkspace(ctx, "pull")
			if err != nil {
				return err
			}
			defer ws.state.Close()
			pl.Cache, pl.Lookups = rc, remoteLookups
			plan, err := planTargets(pl, args, *all)
			if err != nil {
				return err
			}
			if err := rc.Err(); err != nil {
				return err
			}
			return a.pullResults(ctx, ws, rc, plan)
		},
	}
}

func (a *app) cacheWarmCmd() *ffcli.Command {
	fs := a.flagSet("cache warm")
	jobs := fs.Int("j", 0, "run up to `N` steps at once (default: settings.jobs, else the number of CPUs)")
	keepGoing := fs.Bool("keep-going", false, "after a failure, still run every step whose needs succeeded")
	all := allFlag(fs)
	return &ffcli.Command{
		Name:       "warm",
		ShortUsage: "bottle cache warm [flags] [STEP...]",
		ShortHelp:  "what CI runs: apply without asking and fill the remote cache",
		LongHelp: strings.TrimSpace(`
Warm applies (all steps, or the STEPs named and what they need) without
asking, restoring what the remote cache has and uploading the result of
every step that ran; then it uploads every other result the remote lacks.
Steps whose effect lives only on the host that applies them
(machine.create), and the steps after them, are skipped and named.
A warm rerun that finds everything in the remote uploads no blob.

EXAMPLES
  bottle --remote-cache oci://ghcr.io/acme/bottle-cache cache warm
  BOTTLE_REMOTE_CACHE=oci://registry.example.com/team/bottle bottle cache warm image`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if *jobs < 0 {
				return usageErr("-j %d: give the number of steps to run at once, at least 1", *jobs)
			}
			return a.apply(ctx, args, applyOpts{yes: true, jobs: *jobs, keepGoing: *keepGoing, warm: true, all: *all})
		},
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
