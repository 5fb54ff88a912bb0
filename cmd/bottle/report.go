package main

// apply --report FILE.html: one self-contained page about a run (a
// timeline of its steps, the critical path, cache hits and bytes moved,
// links to the logs), made from a run.Reporter of its own and the
// run.Summary. Nothing in it loads from anywhere: CSS, script and the
// timeline's SVG are inline, and the logs are relative links.

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/run"
)

//go:embed report.html.tmpl
var reportHTML string

// reportTemplate is parsed on first use: not in every process that never
// writes a report.
var reportTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(reportHTML))
})

// htmlReport records when each step started and how it ended. Its methods
// are called one at a time by the scheduler (run.Reporter); the lock is
// for the write at the end.
type htmlReport struct {
	mu    sync.Mutex
	now   func() time.Time
	start time.Time
	names []string // the plan's steps, in dependency order
	steps map[string]*reportStep
	order []*reportStep // in the order they started (or ended, if they never started)
}

type reportStep struct {
	name, kind string
	needs      []string
	started    time.Time
	ended      time.Time
	rep        run.Report
	done       bool
}

func newHTMLReport(plan *graph.Plan, now func() time.Time) *htmlReport {
	if now == nil {
		now = time.Now
	}
	h := &htmlReport{now: now, start: now(), steps: map[string]*reportStep{}}
	for _, sp := range plan.Steps {
		h.names = append(h.names, sp.Node.Name)
	}
	return h
}

func (h *htmlReport) step(sp *graph.StepPlan) *reportStep {
	s := h.steps[sp.Node.Name]
	if s == nil {
		s = &reportStep{name: sp.Node.Name, kind: sp.Node.Kind.Name()}
		for _, d := range sp.Node.Needs {
			s.needs = append(s.needs, d.Name)
		}
		h.steps[s.name] = s
		h.order = append(h.order, s)
	}
	return s
}

// Started implements run.Reporter.
func (h *htmlReport) Started(sp *graph.StepPlan) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.step(sp).started = h.now()
}

// Finished implements run.Reporter.
func (h *htmlReport) Finished(sp *graph.StepPlan, r run.Report) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.step(sp)
	s.ended, s.rep, s.done = h.now(), r, true
	if s.started.IsZero() {
		s.started = s.ended
	}
}

// reportPage is what the template shows.
type reportPage struct {
	Title    string
	Outcome  string // "complete", "failed", "interrupted"
	Started  string
	Wall     string
	Counts   []reportCount
	Cache    string
	Remote   string // "" without a remote cache
	Critical reportCritical
	Rows     []reportRow
	Data     reportData // for the script that draws the timeline
}

type reportCount struct {
	Label string
	N     int
}

type reportCritical struct {
	Steps []string
	Total string
}

type reportRow struct {
	Name, Kind, Status, Detail, Source string
	Start, Duration                    string
	Fetched                            string
	Result                             string
	Log, LogHref                       string
	Tail                               []string
	Critical                           bool
}

// reportData is the timeline as the page's script reads it.
type reportData struct {
	WallMS int64        `json:"wall_ms"`
	Steps  []reportSpan `json:"steps"`
}

type reportSpan struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	StartMS  int64  `json:"start_ms"`
	DurMS    int64  `json:"dur_ms"`
	Critical bool   `json:"critical"`
}

// criticalPath is the chain of needs, among the steps that ended in this
// run, whose durations add up to the most (each step's wall time from
// start to end), and that sum. Up-to-date steps took no time and are left
// out. Ties go to the step that comes first in order (the
// plan's: a dependency order).
func criticalPath(order []string, steps map[string]*reportStep) ([]string, time.Duration) {
	type best struct {
		total time.Duration
		prev  string
	}
	b := map[string]best{}
	var end string
	var max time.Duration = -1
	for _, name := range order {
		s := steps[name]
		if s == nil || !s.done {
			continue
		}
		cur := best{total: s.ended.Sub(s.started)}
		var up time.Duration = -1
		for _, n := range s.needs {
			if nb, ok := b[n]; ok && nb.total > up {
				up, cur.prev = nb.total, n
			}
		}
		if up > 0 {
			cur.total += up
		}
		b[s.name] = cur
		if cur.total > max {
			max, end = cur.total, s.name
		}
	}
	if end == "" {
		return nil, 0
	}
	var path []string
	for n := end; n != ""; n = b[n].prev {
		path = append([]string{n}, path...)
	}
	return path, b[end].total
}

// page builds what the template shows. root is the workspace, dir the
// folder the page is written to (log links are relative to it).
func (h *htmlReport) page(sum *run.Summary, root, dir string, end time.Time) *reportPage {
	h.mu.Lock()
	defer h.mu.Unlock()
	outcome := sum.Outcome()
	wall := end.Sub(h.start)
	p := &reportPage{
		Title:   "bottle apply " + outcome,
		Outcome: outcome,
		Started: h.start.Local().Format("2006-01-02 15:04:05 MST"),
		Wall:    round(wall),
		Counts: []reportCount{
			{"ran", sum.Ran}, {"restored", sum.Restored}, {"cut off", sum.CutOff}, {"failed", sum.Failed},
			{"stopped", sum.Stopped}, {"skipped", sum.Skipped}, {"up to date", sum.UpToDate},
		},
		Cache: fmt.Sprintf("%d %s, %d %s", sum.Hits, plural(sum.Hits, "hit", "hits"), sum.Misses, plural(sum.Misses, "miss", "misses")),
		Data:  reportData{WallMS: wall.Milliseconds(), Steps: []reportSpan{}},
	}
	if sum.RemoteHits > 0 || sum.Uploads > 0 || sum.RemoteFailures > 0 || sum.Downloaded > 0 {
		p.Remote = fmt.Sprintf("%d %s (%s downloaded), %d %s (%s uploaded)",
			sum.RemoteHits, plural(sum.RemoteHits, "hit", "hits"), humanBytes(sum.Downloaded),
			sum.Uploads, plural(sum.Uploads, "upload", "uploads"), humanBytes(sum.Uploaded))
		if sum.RemoteFailures > 0 {
			p.Remote += fmt.Sprintf(", %d %s", sum.RemoteFailures, plural(sum.RemoteFailures, "failure", "failures"))
		}
	}
	path, total := criticalPath(h.names, h.steps)
	p.Critical = reportCritical{Steps: path, Total: round(total)}
	onPath := map[string]bool{}
	for _, n := range path {
		onPath[n] = true
	}
	tails := map[string][]string{}
	for _, f := range sum.Failures {
		tails[f.Step] = f.Tail
	}
	for _, s := range h.order {
		if !s.done {
			continue
		}
		r := reportRow{
			Name: s.name, Kind: s.kind, Status: string(s.rep.Event), Detail: s.rep.Detail, Source: s.rep.Source,
			Start:    "+" + round(s.started.Sub(h.start)),
			Duration: round(s.ended.Sub(s.started)),
			Tail:     tails[s.name],
			Critical: onPath[s.name],
		}
		if s.rep.Fetched > 0 {
			r.Fetched = humanBytes(s.rep.Fetched)
		}
		if len(s.rep.Result) >= 12 {
			r.Result = s.rep.Result[:12]
		}
		if s.rep.LogPath != "" {
			r.Log = s.rep.LogPath
			if rel, err := filepath.Rel(dir, filepath.Join(root, filepath.FromSlash(s.rep.LogPath))); err == nil {
				r.LogHref = filepath.ToSlash(rel)
			}
		}
		p.Rows = append(p.Rows, r)
		p.Data.Steps = append(p.Data.Steps, reportSpan{
			Name: s.name, Status: r.Status, Critical: r.Critical,
			StartMS: s.started.Sub(h.start).Milliseconds(), DurMS: s.ended.Sub(s.started).Milliseconds(),
		})
	}
	return p
}

// write renders the page to path, whole or not at all.
func (h *htmlReport) write(path string, sum *run.Summary, root string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := reportTemplate().Execute(&b, h.page(sum, root, filepath.Dir(abs), h.now())); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if err := atomicfile.Write(abs, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

var _ run.Reporter = (*htmlReport)(nil)

// reportPath checks --report's FILE before the run: its folder must exist.
func reportPath(p string) error {
	if p == "" {
		return nil
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil || !fi.IsDir() {
		return usageErr("--report %s: no folder %s to write it in", p, filepath.Dir(p))
	}
	return nil
}

// writeReport writes the page, or warns: a report that cannot be written
// does not change how the run went.
func (a *app) writeReport(h *htmlReport, path string, sum *run.Summary, root string) {
	if err := h.write(path, sum, root); err != nil {
		fmt.Fprintf(a.stderr, "bottle: warning: %v\n", err)
		return
	}
	fmt.Fprintf(a.stderr, "Report: %s\n", path)
}
