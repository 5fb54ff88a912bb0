package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/run"
	"github.com/peterbourgon/ff/v3/ffcli"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (a *app) applyCmd() *ffcli.Command {
	fs := a.flagSet("apply")
	yes := fs.Bool("yes", false, "apply without asking")
	jobs := fs.Int("j", 0, "run up to `N` steps at once (default: settings.jobs, else the number of CPUs)")
	keepGoing := fs.Bool("keep-going", false, "after a failure, still run every step whose needs succeeded")
	refresh := fs.Bool("refresh", false, "check that effects still exist and restore or redo the missing ones")
	all := allFlag(fs)
	asJSON := fs.Bool("json", false, "newline-delimited JSON events on stdout instead of text (README, 'Event stream'); needs --yes or a saved plan")
	jsonLogs := fs.Bool("json-logs", false, "with --json, also a log event for each line a step prints")
	var replace stringList
	fs.Var(&replace, "replace", "run `STEP` even if it is up to date (repeatable)")
	report := fs.String("report", "", "write a self-contained HTML page about the run to `FILE.html` (timeline, critical path, cache, logs)")
	return &ffcli.Command{
		Name:       "apply",
		ShortUsage: "bottle apply [flags] [STEP... | PLANFILE]",
		ShortHelp:  "show the plan, ask, then do only what changed",
		LongHelp: strings.TrimSpace(`
Apply takes the workspace lock, plans (or loads a plan saved with
'bottle plan -o FILE' and checks it is not stale), prints the plan and asks
for confirmation on the terminal. Then it restores cached results and runs
steps in dependency order, storing each result the moment it succeeds.
Step output goes to the step's log (bottle logs STEP), never over the prompt.

A failure stops the run (running steps are stopped, nothing new starts)
unless --keep-going. Ctrl-C stops running steps and exits 130.

EXAMPLES
  bottle apply                 plan, ask, apply (settings.default, else every step)
  bottle apply --all           every step, whatever settings.default says
  bottle apply --yes           no question (for scripts and CI)
  bottle apply -j 8 test       test and what it needs, 8 at a time
  bottle plan -o p.json && bottle apply p.json
  bottle apply --json --yes    events for a dashboard (README, 'Event stream')`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			jobsSet := false
			fs.Visit(func(f *flag.Flag) { jobsSet = jobsSet || f.Name == "j" })
			if jobsSet && *jobs < 1 {
				return usageErr("-j %d: give the number of steps to run at once, at least 1 (leave -j out for the default)", *jobs)
			}
			o := applyOpts{yes: *yes, jobs: *jobs, keepGoing: *keepGoing, refresh: *refresh, replace: replace, all: *all, report: *report}
			if *jsonLogs && !*asJSON {
				return usageErr("--json-logs adds log events to --json: give both")
			}
			if *asJSON {
				return a.applyJSON(ctx, args, o, *jsonLogs)
			}
			return a.apply(ctx, args, o)
		},
	}
}

// applyOpts are apply's flags; warm is 'bottle cache warm'.
type applyOpts struct {
	yes, keepGoing, refresh, warm bool
	all                           bool // --all: every step, not settings.default
	jobs                          int
	replace                       []string
	report                        string // --report FILE.html
}

func (a *app) apply(ctx context.Context, args []string, o applyOpts) error {
	yes, jobs, keepGoing, refresh, replace := o.yes, o.jobs, o.keepGoing, o.refresh, o.replace
	root, err := a.workspaceDir()
	if err != nil {
		return err
	}
	if err := reportPath(o.report); err != nil {
		return err
	}
	// A single argument naming a file saved by 'bottle plan -o' is a saved
	// plan; anything else is a step name (a file that happens to share a
	// step's name is not mistaken for a plan).
	var saved *graph.PlanJSON
	if len(args) == 1 {
		if fi, err := os.Stat(args[0]); err == nil && fi.Mode().IsRegular() {
			if pj, err := readPlan(args[0]); err == nil {
				saved, args = pj, pj.Targets
			} else if strings.HasSuffix(args[0], ".json") {
				return err
			}
		}
	}
	if a.events != nil && saved == nil && !yes {
		return usageErr("apply --json cannot ask for confirmation: give --yes, or apply a saved plan (bottle plan -o plan.json, then bottle apply --json plan.json)")
	}
	lock, err := a.lockWorkspace(ctx, root, "bottle apply")
	if err != nil {
		return err
	}
	defer lock.Release()

	ws, err := a.openWorkspaceFor(openApply)
	if err != nil {
		return err
	}
	defer ws.state.Close()
	for _, r := range replace {
		if _, err := ws.g.Config.Select(r); err != nil {
			return usageErr("--replace %s: %v", r, err)
		}
	}
	// --replace of a group or a matrix step replaces each step it stands for.
	replace = ws.g.ExpandGroups(replace)
	rt := &kinds.Runtime{Hurry: a.hurry, Buildkit: ws.g.Config.Settings.Buildkit}
	pl := ws.planner(ctx, rt, replace)
	pl.Refresh = refresh
	if saved == nil {
		// A saved plan keeps the targets it was made for.
		if args, err = targets(ws.g, args, o.all); err != nil {
			return err
		}
	} else if o.all {
		return usageErr("--all means every step: a saved plan keeps the steps it was made for")
	}
	rc, err := a.useRemote(ctx, ws, pl, a.remoteWrite || o.warm)
	if err != nil {
		return err
	}
	if o.warm {
		if rc == nil {
			return usageErr("cache warm writes the remote cache: give --remote-cache oci://HOST/REPO or settings.remote_cache")
		}
		if args, err = a.warmTargets(ws.g, args); err != nil {
			return err
		}
	}
	plan, err := pl.Plan(args)
	if err != nil {
		return err
	}
	if err := rc.Err(); err != nil {
		return err
	}
	if err := ws.saveIndex(); err != nil {
		return err
	}
	if saved != nil {
		if err := graph.CheckSaved(saved, plan.JSON(ws.g, true)); err != nil {
			return err
		}
	}
	a.printPlan(a.stdout, plan)
	if a.events != nil {
		a.events.planned(plan, plan.JSON(ws.g, false))
		a.events.secretNotes(plan)
	}
	if !plan.HasChanges() {
		fmt.Fprintln(a.stdout, "Nothing to do.")
		if a.events != nil {
			a.events.ran(&run.Summary{UpToDate: len(plan.Steps)}, 0)
		}
		if o.report != "" {
			a.writeReport(newHTMLReport(plan, nil), o.report, &run.Summary{UpToDate: len(plan.Steps)}, root)
		}
		if o.warm {
			return a.pushResults(ctx, ws, rc, plan, true)
		}
		return nil
	}
	if saved == nil && !yes {
		if err := a.confirm(ctx); err != nil {
			return err
		}
	}

	store, err := cache.Open(ws.cacheDir)
	if err != nil {
		return err
	}
	if store.ReadOnly() {
		msg := fmt.Sprintf("the cache %s is read-only to this user: results are restored from it, nothing is stored in it", ws.cacheDir)
		a.notify("warning", "", msg, "warning: "+msg)
	}
	hold, err := store.Hold()
	if err != nil {
		return err
	}
	defer hold.Release()
	if jobs <= 0 {
		jobs = ws.g.Config.Settings.Jobs
	}
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	// Apply reads results through the writable cache, which also marks
	// them used for prune's LRU order.
	pl.Cache = store
	if rc != nil {
		rc.apply(pl, store)
	}
	// A stopped step gets a grace period between SIGTERM and SIGKILL;
	// BOTTLE_KILL_GRACE (e.g. "30s") changes it, a second Ctrl-C cuts it short.
	grace := 5 * time.Second
	if v := os.Getenv("BOTTLE_KILL_GRACE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return usageErr("BOTTLE_KILL_GRACE=%q: want a duration such as 10s", v)
		}
		grace = d
	}
	rt.KillGrace = grace
	ap := &run.Applier{
		Planner: pl,
		Store:   store,
		State:   ws.state,
		Runtime: rt,
		Hold:    hold,
		Options: run.Options{Jobs: jobs, KeepGoing: keepGoing, Upload: rc != nil && (a.remoteWrite || o.warm)},
	}
	if rc != nil {
		ap.Remote = rc
	}
	popts := a.progressOpts(root)
	popts.uploaded = ap.Uploaded
	progress := newProgress(a.stderr, popts, plan)
	// A warning during the run (the remote cache going down) goes above the
	// live view, not through it.
	a.messages = progress.Messages()
	defer func() { a.messages = nil }()
	var reporter run.Reporter = progress
	if a.events != nil {
		reporter = a.events.reporter()
	}
	// --report: a reporter of its own beside the terminal's (or the events').
	var report *htmlReport
	if o.report != "" {
		report = newHTMLReport(plan, nil)
		reporter = run.Tee(reporter, report)
	}
	ap.Reporter = reporter
	fmt.Fprintln(a.stderr)
	start := time.Now()
	sum, runErr := ap.Apply(ctx, plan)
	progress.Close()
	if a.events != nil {
		a.events.ran(sum, time.Since(start))
	}
	if err := ws.state.Compact(); err != nil {
		a.notify("warning", "", err.Error(), "bottle: warning: "+err.Error())
	}
	if err := ws.saveIndex(); err != nil {
		a.notify("warning", "", err.Error(), "bottle: warning: "+err.Error())
	}
	for _, f := range sum.Failures {
		a.printFailure(f)
	}
	fmt.Fprintf(a.stderr, "Apply %s in %s: %s\n", sum.Outcome(), round(time.Since(start)), summaryLine(sum))
	if report != nil {
		a.writeReport(report, o.report, sum, root)
	}
	if runErr != nil {
		if errors.Is(runErr, run.ErrFailed) {
			return exitError(1)
		}
		return runErr
	}
	if err := rc.Err(); err != nil {
		return err
	}
	if o.warm {
		return a.pushResults(ctx, ws, rc, plan, true)
	}
	return nil
}

func (a *app) printFailure(f *run.Failure) {
	fmt.Fprintf(a.stderr, "\nstep %s failed: %v\n", f.Step, f.Err)
	if len(f.Tail) > 0 {
		fmt.Fprintf(a.stderr, "last %d lines of its log:\n", len(f.Tail))
		for _, l := range f.Tail {
			fmt.Fprintf(a.stderr, "  | %s\n", l)
		}
	}
	if f.LogPath != "" {
		fmt.Fprintf(a.stderr, "full log: %s (or: bottle logs %s)\n", f.LogPath, f.Step)
	}
}

func readPlan(path string) (*graph.PlanJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pj graph.PlanJSON
	if err := json.Unmarshal(b, &pj); err != nil || pj.FormatVersion == 0 {
		return nil, usageErr("%s is not a plan saved by 'bottle plan -o' (give step names or a plan file)", path)
	}
	return &pj, nil
}

// confirm asks on the terminal. Standard input must be a terminal: a
// script must say --yes.
func (a *app) confirm(ctx context.Context) error {
	if !isTerminal(a.stdin) {
		return usageErr("standard input is not a terminal, so bottle cannot ask for confirmation: pass --yes to apply without asking")
	}
	fmt.Fprint(a.stdout, "\nApply this plan? Only 'yes' or 'y' applies it: ")
	answer := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			line = ""
		}
		answer <- strings.TrimSpace(line)
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.stdout)
		return ctx.Err()
	case ans := <-answer:
		switch strings.ToLower(ans) {
		case "yes", "y":
			return nil
		}
		fmt.Fprintln(a.stdout, "Apply cancelled.")
		return exitError(1)
	}
}
