package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/bottle-build/bottle/graph"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) explainCmd() *ffcli.Command {
	fs := a.flagSet("explain")
	return &ffcli.Command{
		Name:       "explain",
		ShortUsage: "bottle explain [flags] STEP",
		ShortHelp:  "why a step has its status: what changed since it last ran",
		LongHelp: strings.TrimSpace(`
Explain compares the parts of STEP's key now with those of its last applied
run: input files added, removed and modified, fields, env variables (names
only, never values), tools and the results of the steps it needs.

EXAMPLES
  bottle explain bin
  BOTTLE_DEBUG=hash bottle plan bin    every line that enters the key`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usageErr("explain takes one step name: bottle explain STEP")
			}
			ws, err := a.openWorkspace()
			if err != nil {
				return err
			}
			if err := oneStep(ws.g, "explain", args[0]); err != nil {
				return err
			}
			pl := ws.planner(ctx, nil, nil)
			plan, err := pl.Plan(args)
			if err != nil {
				return err
			}
			if err := ws.saveIndex(); err != nil {
				return err
			}
			sp := plan.Step(args[0])
			w := a.stdout
			fmt.Fprintf(w, "step %s (%s): %s", sp.Node.Name, sp.Node.Kind.Name(), sp.Status)
			if sp.Reason != "" {
				fmt.Fprintf(w, ", %s", sp.Reason)
			}
			fmt.Fprintln(w)
			prev := ws.state.Steps[sp.Node.Name]
			if !sp.Key.IsZero() {
				fmt.Fprintf(w, "  key now:       %s\n", sp.Key)
			}
			if prev == nil {
				fmt.Fprintln(w, "  last applied:  never (in this workspace)")
				return nil
			}
			fmt.Fprintf(w, "  last applied:  %s at %s\n", prev.Key, prev.Applied.Local().Format("2006-01-02 15:04:05"))
			old, err := pl.Cache.PeekResult(prev.Key)
			if err != nil {
				fmt.Fprintf(w, "  the last run's key parts are no longer in the cache (%v)\n", err)
				return nil
			}
			var changes []graph.Change
			if sp.Status == graph.Pending {
				// Its key waits for its upstream; its own files can be compared now.
				changes = graph.DiffKeyLines(fileLines(old.KeyLines), fileLines(sp.Node.SourceLines(sp.Sources)))
				fmt.Fprintf(w, "  its key is decided when %s finishes; its own inputs:\n", sp.After)
			} else {
				changes = graph.DiffKeyLines(old.KeyLines, sp.KeyLines())
			}
			if len(changes) == 0 {
				if sp.Status == graph.UpToDate {
					fmt.Fprintln(w, "  nothing changed")
				} else {
					fmt.Fprintln(w, "  no key part changed")
				}
				if sp.Status == graph.Restore || sp.Status == graph.Run {
					if !sp.Intact && sp.Reason != "" {
						fmt.Fprintf(w, "  outputs: %s\n", sp.Reason)
					}
				}
				return nil
			}
			groups := []struct{ part, title string }{
				{"schema", "key schema"}, {"kind", "kind"}, {"file", "input files"}, {"field", "fields"},
				{"env", "env"}, {"environment", "environment"}, {"secret", "secrets (names only)"}, {"tool", "tools"}, {"dep", "upstream results"},
			}
			for _, gr := range groups {
				var lines []string
				for _, c := range changes {
					if c.Part == gr.part {
						lines = append(lines, fmt.Sprintf("%-9s %s", c.How, c.Name))
					}
				}
				if len(lines) == 0 {
					continue
				}
				fmt.Fprintf(w, "  %s:\n", gr.title)
				for _, l := range lines {
					fmt.Fprintf(w, "    %s\n", l)
				}
			}
			return nil
		},
	}
}

func fileLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "file ") || strings.HasPrefix(l, "link ") {
			out = append(out, l)
		}
	}
	return out
}
