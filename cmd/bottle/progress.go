package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/run"
)

// progress is the terminal's view of a run: a line per step that ends (and
// per start with -v) and, on a terminal, a live status line at the bottom.
// Step output never comes here: it goes to the step's log.
type progress struct {
	w       io.Writer
	color   bool
	tty     bool // keep a live status line at the bottom
	verbose bool // also report starts, and steps cut off early
	nameW   int  // width of the name column: the longest name, at least 20

	mu      sync.Mutex
	running map[string]time.Time
	total   int
	done    int
	status  bool // a status line is on screen
}

var _ run.Reporter = (*progress)(nil)

func newProgress(w io.Writer, color, tty, verbose bool, total int) *progress {
	return &progress{w: w, color: color, tty: tty, verbose: verbose, total: total, nameW: 20, running: map[string]time.Time{}}
}

// fit widens the name column to the longest step name of plan, so that a
// matrix instance's status lines up with the others'.
func (p *progress) fit(plan *graph.Plan) {
	for _, sp := range plan.Steps {
		p.nameW = max(p.nameW, len(sp.Node.Name))
	}
}

// Started notes that a step began.
func (p *progress) Started(sp *graph.StepPlan) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[sp.Node.Name] = time.Now()
	if p.verbose {
		p.line("started", sp, string(sp.Status)+": "+sp.Reason, 0)
	}
	p.redraw()
}

// Finished reports how a step ended.
func (p *progress) Finished(sp *graph.StepPlan, r run.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, sp.Node.Name)
	p.done++
	if r.Event != run.CutOff || p.verbose {
		p.line(string(r.Event), sp, r.Detail, r.Duration)
	}
	p.redraw()
}

func (p *progress) line(what string, sp *graph.StepPlan, detail string, d time.Duration) {
	p.clear()
	m := marks[what]
	var b strings.Builder
	fmt.Fprintf(&b, "  %s %-*s %-9s", paint(p.color, m.color, m.sym), p.nameW, sp.Node.Name, what)
	if d > 0 {
		fmt.Fprintf(&b, " %6s", round(d))
	}
	if detail != "" {
		b.WriteString("  " + detail)
	}
	fmt.Fprintln(p.w, strings.TrimRight(b.String(), " "))
}

func (p *progress) clear() {
	if p.status {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.status = false
	}
}

func (p *progress) redraw() {
	if !p.tty {
		return
	}
	p.clear()
	if len(p.running) == 0 {
		return
	}
	s := strings.Join(slices.Sorted(maps.Keys(p.running)), ", ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	fmt.Fprint(p.w, paint(p.color, "2", fmt.Sprintf("  [%d/%d] running %s", p.done, p.total, s)))
	p.status = true
}

// Close removes the status line.
func (p *progress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}
