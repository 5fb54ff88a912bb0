package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bottle-build/bottle/graph"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) explainCmd() *ffcli.Command {
	fs := a.flagSet("explain")
	against := fs.String("against", "", "compare with another result: a `KEY` (hex, or a unique prefix) in the cache, or a FILE (a saved plan, a result entry, key lines)")
	return &ffcli.Command{
		Name:       "explain",
		ShortUsage: "bottle explain [flags] STEP",
		ShortHelp:  "why a step has its status: what changed since it last ran",
		LongHelp: strings.TrimSpace(`
Explain compares the parts of STEP's key now with those of its last applied
run: input files added, removed and modified, fields, env variables (names
only, never values), vars, secrets (names), tools, the engine's platform and
the results of the steps it needs. A pending step (one whose need runs
first) has no key yet: every part but that need's result is compared, and
explain names the need.

--against compares with another result instead of the last applied run,
e.g. CI's, to answer why its key differs from yours:
  KEY      a result in the local cache, by its key or a unique prefix of it
           (at least 4 hex digits); a whole key is also looked up in the
           remote cache when one is configured
  FILE     a plan saved with 'bottle plan -o' (its key for STEP is looked up
           as a KEY; when no cache has it, the input files the plan records
           are compared), a result entry (JSON, as stored in the cache), or
           key lines, one per line, as BOTTLE_DEBUG=hash prints them
"added" is a part only here, "removed" a part only in the other result.

EXAMPLES
  bottle explain bin
  bottle explain --against 3f9a2c bin
  bottle explain --against ci-plan.json bin
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
			now, unknown, err := pl.KnownKeyLines(plan, sp)
			if err != nil {
				return err
			}
			if !sp.Key.IsZero() {
				fmt.Fprintf(w, "  key now:       %s\n", sp.Key)
			} else if sp.Status == graph.Pending {
				fmt.Fprintf(w, "  key now:       not known until %s has run\n", sp.After)
			}
			if *against != "" {
				return a.explainAgainst(ctx, ws, plan, sp, now, unknown, *against)
			}
			prev := ws.state.Steps[sp.Node.Name]
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
			if len(old.KeyLines) == 0 {
				fmt.Fprintln(w, "  the last run's result was stored without its key lines (by an older bottle): there is nothing to compare with")
				return nil
			}
			changes := graph.DiffKeyLines(graph.WithoutDeps(old.KeyLines, unknown), now)
			if len(changes) == 0 {
				switch {
				case len(unknown) > 0:
					fmt.Fprintln(w, "  no key part known yet changed")
				case sp.Status == graph.UpToDate:
					fmt.Fprintln(w, "  nothing changed")
				default:
					fmt.Fprintln(w, "  no key part changed")
				}
				if sp.Status == graph.Restore || sp.Status == graph.Run {
					if !sp.Intact && sp.Reason != "" {
						fmt.Fprintf(w, "  outputs: %s\n", sp.Reason)
					}
				}
			}
			printChanges(w, changes)
			printUnknown(w, plan, unknown)
			return nil
		},
	}
}

// changeGroups are the parts of a key as explain titles them, in key order.
var changeGroups = []struct{ part, title string }{
	{"schema", "key schema"}, {"kind", "kind"}, {"file", "input files"}, {"field", "fields"},
	{"env", "env"}, {"environment", "environment"}, {"var", "vars (computed)"},
	{"secret", "secrets (names only)"}, {"tool", "tools"}, {"platform", "engine platform"},
	{"dep", "upstream results"},
}

// printChanges lists changes under their part's title.
func printChanges(w io.Writer, changes []graph.Change) {
	for _, gr := range changeGroups {
		var lines []string
		for _, c := range changes {
			if c.Part != gr.part {
				continue
			}
			name := c.Name
			if c.Part == "platform" || c.Part == "schema" || c.Part == "kind" && c.How == "modified" {
				name = ""
			}
			lines = append(lines, strings.TrimSpace(fmt.Sprintf("%-9s %s", c.How, name)))
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s:\n", gr.title)
		for _, l := range lines {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

// printUnknown names the needs whose result a pending step's key waits for.
func printUnknown(w io.Writer, plan *graph.Plan, unknown []string) {
	if len(unknown) == 0 {
		return
	}
	fmt.Fprintln(w, "  not known yet:")
	for _, u := range unknown {
		why := "runs first"
		if dp := plan.Step(u); dp != nil && dp.Status == graph.Pending {
			why = "is pending, after " + dp.After
		}
		fmt.Fprintf(w, "    the result of %s (it %s): known when it has run\n", u, why)
	}
}

// fileLines are the input-file lines among key lines.
func fileLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "file ") || strings.HasPrefix(l, "link ") {
			out = append(out, l)
		}
	}
	return out
}
