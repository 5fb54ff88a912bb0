package main

// The file watcher (settings.fsmonitor, --fsmonitor, BOTTLE_FSMONITOR):
// cmd/bottle asks a running watchman what changed since the clock stored
// beside the index (internal/watchman) and hands planning the answer, a
// files.Changes, through files.Watch. Planning never talks to watchman.
// A plan asks only a watchman that already runs and already watches the
// workspace; apply and 'bottle watch start' make it watch.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/internal/watchman"
	"github.com/bottle-build/bottle/workspace"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// watchmanTimeout bounds each question a plan asks watchman: one that does
// not answer in time is as good as none, and the plan looks at every file.
const watchmanTimeout = time.Second

// watchAnswer is what watchman said for one run.
type watchAnswer struct {
	watch   *files.Watch // nil: no watcher for this run
	changes files.Changes
	watcher string // the watched root and the workspace's place in it
	why     string // why the run looks at every file, when it must
}

// fsmonitorMode returns the file watcher to use: --fsmonitor (or
// BOTTLE_FSMONITOR) when given, else settings.fsmonitor; "" for none.
func (a *app) fsmonitorMode(setting string) (string, error) {
	if a.fsmonitor == "" {
		return setting, nil
	}
	m, err := config.CheckFsmonitor(a.fsmonitor)
	if err != nil {
		return "", usageErr("--fsmonitor: %v", err)
	}
	return m, nil
}

// askWatchman asks watchman, in the background, what changed in the
// workspace at root since the stored clock. register (apply) makes
// watchman watch the workspace first; otherwise an unwatched workspace is
// a full scan.
func askWatchman(ctx context.Context, root string, register bool) <-chan watchAnswer {
	ch := make(chan watchAnswer, 1)
	go func() { ch <- queryWatchman(ctx, root, register) }()
	return ch
}

func queryWatchman(ctx context.Context, root string, register bool) watchAnswer {
	// The stored file (2 MB for 100,000 paths) loads while watchman is
	// reached and asked where the workspace is: neither waits for the
	// other.
	stored := make(chan *files.Watch, 1)
	go func() { stored <- files.LoadWatch(workspace.WatchPath(root)) }()
	timeout := watchmanTimeout
	if register {
		// A new watch crawls the tree before it can give a clock: apply
		// can wait for that.
		timeout = 30 * time.Second
	}
	c, err := watchman.Connect(ctx, timeout)
	if err != nil {
		switch {
		case errors.Is(err, watchman.ErrNotRunning):
			return watchAnswer{why: "watchman is not running"}
		case errors.Is(err, watchman.ErrNotInstalled):
			return watchAnswer{why: "watchman is not installed"}
		}
		return watchAnswer{why: err.Error()}
	}
	defer c.Close()
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return watchAnswer{why: err.Error()}
	}
	var wroot, rel string
	if register {
		if wroot, rel, err = c.WatchProject(real); err != nil {
			return watchAnswer{why: err.Error()}
		}
	} else {
		ok := false
		if wroot, rel, ok, err = c.Find(real); err != nil {
			return watchAnswer{why: err.Error()}
		}
		if !ok {
			return watchAnswer{why: "watchman does not watch this workspace ('bottle watch start' or an apply makes it)"}
		}
	}
	ans := watchAnswer{watcher: wroot + " " + rel}
	// Folders watchman ignores change unseen.
	if cfg, err := c.Config(wroot); err != nil {
		return watchAnswer{why: err.Error()}
	} else if ig, ok := cfg["ignore_dirs"]; ok {
		var dirs []string
		if json.Unmarshal(ig, &dirs) != nil || len(dirs) > 0 {
			return watchAnswer{why: "the .watchmanconfig of " + wroot + " ignores folders (ignore_dirs)"}
		}
	}
	w := <-stored
	ans.watch = w
	if w.Clock() != "" && w.Watcher() == ans.watcher {
		got, err := c.Since(wroot, rel, w.Clock())
		switch {
		case err != nil:
			return watchAnswer{why: err.Error()}
		case got.Fresh:
			ans.why = "watchman cannot say what changed since the stored clock (it restarted, or forgot)"
		case strings.Contains(strings.ToLower(got.Warning), "recrawl"):
			ans.why = "watchman recrawled the tree: " + firstLine(strings.TrimSpace(got.Warning))
		default:
			ans.changes = files.Changes{Since: w.Clock(), Clock: got.Clock, Paths: make([]files.Changed, len(got.Files))}
			for i, f := range got.Files {
				kind := byte('?')
				if len(f.Type) == 1 {
					kind = f.Type[0]
				}
				ans.changes.Paths[i] = files.Changed{Path: f.Name, Exists: f.Exists, New: f.New, Kind: kind}
			}
			return ans
		}
	}
	// No usable clock: take one now, before any file is looked at, so
	// the next run can ask since it.
	clock, err := c.Clock(wroot)
	if err != nil {
		return watchAnswer{why: err.Error()}
	}
	ans.changes = files.Changes{Clock: clock}
	return ans
}

// useWatch hands planning what watchman said; -v says how the inputs will
// be looked at.
func (a *app) useWatch(ws *pipeline, ans watchAnswer, indexID files.FileID) {
	if ans.watch == nil {
		a.fsmonitorNote(ans.why + ": full scan")
		return
	}
	why := ans.watch.Use(ws.index, ws.g.Root, indexID, ans.watcher, ans.changes)
	ws.watch = ans.watch
	switch {
	case ans.why != "":
		a.fsmonitorNote(ans.why + ": full scan")
	case why != "":
		a.fsmonitorNote("watchman: " + why + ": full scan")
	default:
		// The watcher vouches for the files: the early looks are not
		// needed, and would only take the cores.
		ws.index.EndPrestat()
		n := ans.watch.Changed()
		a.fsmonitorNote(fmt.Sprintf("watchman: %d %s since the stored clock", n, plural(n, "path changed", "paths changed")))
	}
}

func (a *app) fsmonitorNote(msg string) {
	if a.verbose {
		a.notify("info", "", "fsmonitor: "+msg, "fsmonitor: "+msg)
	}
}

// watchCmd is 'bottle watch start|stop|status'.
func (a *app) watchCmd() *ffcli.Command {
	sub := func(name, short, long string, do func(ctx context.Context, c *watchman.Client, root string) error) *ffcli.Command {
		return &ffcli.Command{
			Name:       name,
			ShortUsage: "bottle watch " + name,
			ShortHelp:  short,
			LongHelp:   long,
			FlagSet:    a.flagSet("watch " + name),
			Options:    ffOptions,
			Exec: func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErr("watch %s takes no arguments", name)
				}
				root, err := a.workspaceDir()
				if err != nil {
					return err
				}
				if root, err = filepath.EvalSymlinks(root); err != nil {
					return err
				}
				c, err := watchman.Connect(ctx, 60*time.Second)
				if err != nil {
					if name == "status" {
						fmt.Fprintf(a.stdout, "Not watched: %v.\n", err)
						return nil
					}
					return fmt.Errorf("%w: start it first (watchman --foreground, or your system's service)", err)
				}
				defer c.Close()
				return do(ctx, c, root)
			},
		}
	}
	start := sub("start", "make watchman watch this workspace, so that plans need not look at every file",
		strings.TrimSpace(`
Start asks a running watchman to watch the workspace (watchman's
watch-project: it may watch the project folder above it, one holding a
.watchmanconfig or a .git) and waits until it has crawled it. With
settings.fsmonitor = "watchman" (or --fsmonitor watchman, or
BOTTLE_FSMONITOR=watchman), the next plan stores watchman's clock, and the
plans after it look only at what watchman says changed. Apply does the same
by itself. Start never starts watchman: run it as your system does (a
service, or 'watchman --foreground').`),
		func(ctx context.Context, c *watchman.Client, root string) error {
			wroot, rel, err := c.WatchProject(root)
			if err != nil {
				return err
			}
			if _, err := c.Clock(wroot); err != nil {
				return err
			}
			where := wroot
			if rel != "" {
				where += " (the workspace is " + rel + " in it)"
			}
			fmt.Fprintf(a.stdout, "Watching %s.\n", where)
			return nil
		})
	stop := sub("stop", "make watchman stop watching this workspace",
		strings.TrimSpace(`
Stop asks watchman to stop watching the root that holds the workspace
(watchman's watch-del): if that root is a project folder above the
workspace, others who rely on it lose the watch too. Plans then look at
every file again, until an apply or 'bottle watch start' watches it anew.`),
		func(ctx context.Context, c *watchman.Client, root string) error {
			wroot, _, ok, err := c.Find(root)
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(a.stdout, "Not watched.")
				return nil
			}
			if err := c.WatchDel(wroot); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Stopped watching %s.\n", wroot)
			return nil
		})
	status := sub("status", "say whether watchman watches this workspace",
		"Status says whether a running watchman watches the workspace, and which root.",
		func(ctx context.Context, c *watchman.Client, root string) error {
			wroot, rel, ok, err := c.Find(root)
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(a.stdout, "Not watched.")
				return nil
			}
			if rel != "" {
				wroot += " (the workspace is " + rel + " in it)"
			}
			fmt.Fprintf(a.stdout, "Watched: %s.\n", wroot)
			return nil
		})
	return &ffcli.Command{
		Name:       "watch",
		ShortUsage: "bottle watch start|stop|status",
		ShortHelp:  "make watchman watch this workspace, or stop it",
		LongHelp: strings.TrimSpace(`
With settings.fsmonitor = "watchman" (or --fsmonitor watchman, or
BOTTLE_FSMONITOR=watchman), plan asks watchman which files changed since
the clock it stored beside the file-hash index, and looks only at those:
in a large workspace a no-op plan then costs a fraction of a full look.
Plan only asks a watchman that already runs and already watches the
workspace; it never starts one. Apply, and 'bottle watch start', make
watchman watch the workspace; 'bottle watch stop' ends that.

Whenever there is doubt (watchman missing, not answering within a second,
restarted, recrawling, not watching, or the index saved without the
clock) plan looks at every file, as without watchman; plan -v says why.

  bottle watch start    watch this workspace (waits for the first crawl)
  bottle watch stop     stop watching it
  bottle watch status   say whether it is watched

Clients find watchman's socket as watchman does: WATCHMAN_SOCK, else
'watchman --no-spawn get-sockname'.`),
		FlagSet:     a.flagSet("watch"),
		Options:     ffOptions,
		Subcommands: []*ffcli.Command{start, stop, status},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown watch command %q: start, stop or status", args[0])
			}
			return usageErr("bottle watch needs a command: start, stop or status")
		},
	}
}
