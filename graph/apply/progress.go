package apply

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bottle-build/bottle/graph"
)

// Progress reports steps as they start and finish. Step output never goes
// here: it goes to the step's log.
type Progress struct {
	W       io.Writer
	Color   bool
	TTY     bool // keep a live status line at the bottom
	Verbose bool // also report starts, and steps cut off early

	mu      sync.Mutex
	running map[string]time.Time
	total   int
	done    int
	status  bool // a status line is on screen
}

// NewProgress reports to w.
func NewProgress(w io.Writer, color, tty, verbose bool, total int) *Progress {
	return &Progress{W: w, Color: color, TTY: tty, Verbose: verbose, total: total, running: map[string]time.Time{}}
}

var marks = map[string]struct{ sym, color string }{
	"ran":      {"✓", "32"},
	"restored": {"↓", "36"},
	"cut off":  {"=", "2"},
	"failed":   {"✗", "31"},
	"stopped":  {"■", "33"},
	"skipped":  {"-", "2"},
	"started":  {"▸", "2"},
}

func (p *Progress) paint(code, s string) string {
	if !p.Color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Start notes that a step began.
func (p *Progress) Start(sp *graph.StepPlan) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[sp.Node.Name] = time.Now()
	if p.Verbose {
		p.line("started", sp, string(sp.Status)+": "+sp.Reason, 0)
	}
	p.redraw()
}

// Step reports how a step ended.
func (p *Progress) Step(sp *graph.StepPlan, what, detail string, d time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, sp.Node.Name)
	p.done++
	if what != "cut off" || p.Verbose {
		p.line(what, sp, detail, d)
	}
	p.redraw()
}

func (p *Progress) line(what string, sp *graph.StepPlan, detail string, d time.Duration) {
	p.clear()
	m := marks[what]
	var b strings.Builder
	fmt.Fprintf(&b, "  %s %-20s %-9s", p.paint(m.color, m.sym), sp.Node.Name, what)
	if d > 0 {
		fmt.Fprintf(&b, " %6s", round(d))
	}
	if detail != "" {
		b.WriteString("  " + detail)
	}
	fmt.Fprintln(p.W, strings.TrimRight(b.String(), " "))
}

func (p *Progress) clear() {
	if p.status {
		fmt.Fprint(p.W, "\r\x1b[K")
		p.status = false
	}
}

func (p *Progress) redraw() {
	if !p.TTY {
		return
	}
	p.clear()
	if len(p.running) == 0 {
		return
	}
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	s := strings.Join(names, ", ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	fmt.Fprintf(p.W, "%s", p.paint("2", fmt.Sprintf("  [%d/%d] running %s", p.done, p.total, s)))
	p.status = true
}

// Close removes the status line.
func (p *Progress) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func round(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
