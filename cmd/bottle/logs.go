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

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) logsCmd() *ffcli.Command {
	flags := a.flagSet("logs")
	return &ffcli.Command{
		Name:       "logs",
		ShortUsage: "bottle logs [flags] STEP",
		ShortHelp:  "print the step's last log",
		LongHelp: strings.TrimSpace(`
Logs prints everything STEP printed the last time it ran here: from
.bottle/logs/STEP.log for a run in this workspace (a failed one too), or
from the cache for a result that was restored.

EXAMPLES
  bottle logs bin
  bottle logs test | less`),
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
