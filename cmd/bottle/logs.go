package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) logsCmd() *ffcli.Command {
	flags := a.flagSet("logs")
	// -f after the word logs is --follow too (dispatch.go: followAlias);
	// before it, -f is the config file, as for every command.
	follow := flags.Bool("follow", false, "while STEP runs, print its log as it grows, until the step ends (also -f, after the word logs)")
	return &ffcli.Command{
		Name:       "logs",
		ShortUsage: "bottle logs [flags] STEP",
		ShortHelp:  "print the step's last log",
		LongHelp: strings.TrimSpace(`
Logs prints everything STEP printed the last time it ran here: from
.bottle/logs/STEP.log for a run in this workspace (a failed one too), or
from the cache for a result that was restored. The log of a step that bottle
stopped (Ctrl-C, another step failing, its timeout) ends with a line saying
so: "bottle: stopped (interrupted) after 3.2s".

With -f (--follow), while STEP runs, logs prints its log as it grows and
exits when the step ends, however it ends; a step that is not running gets
its last log, as without -f. After the word logs, -f means follow, as in
tail -f; to name a config file too, put -f FILE before it:
bottle -f sub/bottle.toml logs -f test.

Exit status: 0 when it printed the log (whatever the step's outcome: the
log's end says), 1 when there is none (the step has not run or been restored
here) or the name is not one step, 130 when Ctrl-C stops --follow.

EXAMPLES
  bottle logs bin
  bottle logs test | less
  bottle logs -f test          while an apply runs test`),
		FlagSet: flags,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usageErr("logs takes one step name: bottle logs STEP")
			}
			name := args[0]
			root, err := a.workspaceDir()
			if err != nil {
				return err
			}
			// Check the name against the config so a typo gets an answer.
			cfgPath := workspace.ConfigPath(root, a.file)
			if data, err := os.ReadFile(cfgPath); err == nil {
				if f, err := config.Parse(filepath.Base(cfgPath), data, kinds.Infos()); err == nil && f.Step(name) == nil {
					names, err := f.Select(name)
					if err != nil {
						return usageErr("%v in %s", err, filepath.Base(cfgPath))
					}
					return usageErr("logs takes one step, and %s stands for %d: name one of %s", name, len(names), strings.Join(quoteNames(names), ", "))
				}
			}
			// Logs can be large: copy them, never read them whole.
			f, err := os.Open(workspace.LogPath(root, name))
			if err == nil {
				defer f.Close()
				if *follow {
					return a.followLog(ctx, f)
				}
				_, err = io.Copy(a.stdout, f)
				return err
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			st, err := workspace.Load(root)
			if st == nil {
				return err
			}
			rec := st.Steps[name]
			if rec == nil {
				return fmt.Errorf("no log for step %s: it has not run or been restored in this workspace", name)
			}
			if rec.Log.IsZero() {
				fmt.Fprintf(a.stderr, "step %s printed nothing\n", name)
				return nil
			}
			cacheDir, err := a.cacheDirForCommand()
			if err != nil {
				return err
			}
			if _, err := cache.NewReader(cacheDir).CopyBlob(a.stdout, rec.Log); err != nil {
				return fmt.Errorf("reading the log of %s from the cache: %w", name, err)
			}
			return nil
		},
	}
}

// followPoll is how often logs --follow looks for more of a growing log.
const followPoll = 100 * time.Millisecond

// followLog copies f, a step's log, to stdout as it grows (logs --follow), until the step
// stops writing it (workspace.LogBusy) or ctx ends. The log is read to its
// end after the step let it go, so nothing written last is lost; a log
// emptied under it (the step started again) ends the follow too.
func (a *app) followLog(ctx context.Context, f *os.File) error {
	var off int64
	for {
		busy := workspace.LogBusy(f)
		n, err := io.Copy(a.stdout, f)
		off += n
		if err != nil {
			return err
		}
		if !busy {
			return nil
		}
		if fi, err := f.Stat(); err == nil && fi.Size() < off {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followPoll):
		}
	}
}
