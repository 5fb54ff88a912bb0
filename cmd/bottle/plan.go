package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) planCmd() *ffcli.Command {
	fs := a.flagSet("plan")
	asJSON := fs.Bool("json", false, "print the plan as JSON (schema: README, 'Plan JSON')")
	out := fs.String("o", "", "save the plan to `FILE` for 'bottle apply FILE'")
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when anything would run or be restored, 0 when all is up to date")
	all := allFlag(fs)
	refresh := fs.Bool("refresh", false, "check that effects still exist (images in the engine, ...) and plan to restore or redo the missing ones")
	return &ffcli.Command{
		Name:       "plan",
		ShortUsage: "bottle plan [flags] [STEP...]",
		ShortHelp:  "print what apply would do, and why; changes nothing",
		LongHelp: strings.TrimSpace(`
Plan decides every step's status without running anything or writing
outside .bottle/ (where it keeps the file-hash index). It contacts nothing,
but for one read-only question: the Docker engine's platform, asked once
when an image.build that names no platform is planned (its key holds it).
The one thing it runs is a computed var's command ([vars] v = { sh = ... }),
once, when a planned step uses the var; -v prints the values. With
settings.fsmonitor = "watchman" (or --fsmonitor watchman) it asks a
watchman that already runs which files changed, and looks only at those
('bottle help watch'); -v says when it looks at every file, and why.

Each step's status:

  up-to-date  its key is applied and its outputs are intact
  restore     its result is in the cache; outputs are copied back, nothing runs
  run         its key has no result: the reason says what changed
  replace     as run, but an existing effect is removed first
  pending     a step it needs will run; decided when that one finishes

Named steps limit the plan to them and what they need (a group means its
steps); with none named, plan takes settings.default, or every step when it
is unset or with --all.

EXAMPLES
  bottle plan
  bottle plan -v bin               also list up-to-date steps
  bottle plan --json | jq '.steps[] | select(.status=="run") | .name'
  bottle plan -o plan.json         then: bottle apply plan.json
  bottle plan --detailed-exitcode  in CI: 2 means something is out of date
  bottle plan --refresh            also check that images, ... still exist`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			ws, err := a.openWorkspace()
			if err != nil {
				return err
			}
			pl := ws.planner(ctx, nil, nil)
			pl.Refresh = *refresh
			// A plan only printed need not look up the files of a step the
			// file watcher vouches for and that is up to date.
			pl.SkipSources = !*asJSON && *out == ""
			rc, err := a.useRemote(ctx, ws, pl, false)
			if err != nil {
				return err
			}
			plan, err := planTargets(pl, args, *all)
			if err != nil {
				return err
			}
			if err := rc.Err(); err != nil {
				return err
			}
			if err := ws.saveIndex(); err != nil {
				return err
			}
			if *out != "" {
				if err := writePlan(*out, plan.JSON(ws.g, true)); err != nil {
					return err
				}
			}
			if *asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(plan.JSON(ws.g, false)); err != nil {
					return err
				}
			} else {
				a.printPlan(a.stdout, plan)
				if *out != "" {
					fmt.Fprintf(a.stdout, "\nSaved this plan to %s. Apply exactly it with: bottle apply %s\n", *out, *out)
				}
			}
			if *detailed && plan.HasChanges() {
				return exitError(2)
			}
			return nil
		},
	}
}

func writePlan(path string, pj *graph.PlanJSON) error {
	b, err := json.MarshalIndent(pj, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

// How many lines of each kind the human plan shows before folding the rest
// into a count (unless -v). A restore runs nothing, so it gets as few lines
// as a pending step: 400 restores would otherwise fill the screen above the
// prompt.
const (
	maxActionLines  = 50
	maxPendingLines = 20
)

// printPlan prints one line per step that will do something, folds long
// runs into counts, and ends with the summary line.
func (a *app) printPlan(w io.Writer, plan *graph.Plan) {
	color := a.colorOn(w)
	if a.verbose && len(plan.Computed) > 0 {
		fmt.Fprintln(w, "Computed vars:")
		for _, k := range slices.Sorted(maps.Keys(plan.Computed)) {
			fmt.Fprintf(w, "  %s = %s\n", k, strconv.Quote(plan.Computed[k]))
		}
	}
	type row struct {
		sp   *graph.StepPlan
		mark string
	}
	var rows []row
	shown := map[graph.Status]int{}
	hidden := map[graph.Status]int{}
	for _, sp := range plan.Steps {
		limit := maxActionLines
		switch sp.Status {
		case graph.UpToDate:
			limit = 0
		case graph.Pending, graph.Restore:
			limit = maxPendingLines
		}
		if !a.verbose && shown[sp.Status] >= limit {
			hidden[sp.Status]++
			continue
		}
		shown[sp.Status]++
		m := marks[string(sp.Status)]
		if sp.Status == graph.Run && sp.Reason == "new" {
			m = marks["new"]
		}
		rows = append(rows, row{sp, paint(color, m.color, m.sym)})
	}
	nameW, kindW := 4, 4
	for _, r := range rows {
		nameW = max(nameW, len(r.sp.Node.Name))
		kindW = max(kindW, len(r.sp.Node.Kind.Name()))
	}
	for _, r := range rows {
		sp := r.sp
		reason := sp.Reason
		if sp.Status == graph.Restore && sp.Cached != nil && sp.Cached.Remote != nil {
			reason += fmt.Sprintf(" (remote, %s)", humanBytes(sp.Cached.Size()))
		}
		line := fmt.Sprintf("  %s %-*s  %-*s  %-10s  %s", r.mark, nameW, sp.Node.Name, kindW, sp.Node.Kind.Name(), sp.Status, reason)
		if e := sp.Node.Effect(); e != "" {
			line += paint(color, "35", "  effect: "+e)
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for _, s := range []graph.Status{graph.Run, graph.Replace, graph.Restore, graph.Pending, graph.UpToDate} {
		if n := hidden[s]; n > 0 {
			more := "more "
			if s == graph.UpToDate {
				more = ""
			}
			fmt.Fprintf(w, "  %s %d %s%s (-v lists them)\n", paint(color, marks[string(s)].color, marks[string(s)].sym), n, more, pluralStatus(s, n))
		}
	}
	c := plan.Counts()
	fmt.Fprintf(w, "Plan: %d to run, %d to restore, %d pending, %d up to date.",
		c[graph.Run]+c[graph.Replace], c[graph.Restore], c[graph.Pending], c[graph.UpToDate])
	if c[graph.Replace] > 0 {
		fmt.Fprintf(w, " (%d of those to run %s an effect)", c[graph.Replace], plural(c[graph.Replace], "replaces", "replace"))
	}
	if n, size := remoteRestores(plan); n > 0 {
		fmt.Fprintf(w, " (%d of the restores from the remote cache: %s to download)", n, humanBytes(size))
	}
	fmt.Fprintln(w)
	printSecretNotes(w, plan)
}

func pluralStatus(s graph.Status, n int) string {
	step := "steps"
	if n == 1 {
		step = "step"
	}
	switch s {
	case graph.Run:
		return step + " to run"
	case graph.Replace:
		return step + " to replace"
	case graph.Restore:
		return step + " to restore"
	case graph.UpToDate:
		return "up-to-date " + step
	}
	return string(s) + " " + step
}

// remoteRestores counts the restores that come from the remote cache and
// the bytes they download.
func remoteRestores(plan *graph.Plan) (n int, size int64) {
	for _, sp := range plan.Steps {
		if sp.Status == graph.Restore && sp.Cached != nil && sp.Cached.Remote != nil {
			n++
			size += sp.Cached.Size()
		}
	}
	return n, size
}
