package main

// The views of a run: what a person sees while apply works. Two
// run.Reporters, chosen once by newProgress (SPEC §9 --progress):
//
//   - liveView, on a terminal: each step that ran or failed scrolls up as
//     one line, while a live region at the bottom (a header with counts and
//     bytes fetched, then a line per running step with its elapsed time and
//     the last line of its log) is redrawn by a ticker, at most ten times a
//     second. A redraw erases exactly the lines it drew (cursor up, erase
//     line), never anything above them, and cuts every line to the
//     terminal's width so that none wraps.
//   - plainView, without a terminal, with TERM=dumb, in CI or with
//     --progress plain: timestamped lines, a "started" line and an ending
//     line per step that runs; on GitHub Actions and GitLab CI the log of
//     a failed step follows in a collapsible group.
//
// Both fold restores (and skipped steps) into a count after the first few,
// as the plan does, unless -v; steps found up to date after all (cut off)
// are only counted. Step output reaches the terminal only this way: it goes
// to the step's log.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/run"
	"golang.org/x/sys/unix"
)

// foldAfter is how many restored (or skipped) steps get a line of their
// own before the rest are folded into a count (unless -v).
const foldAfter = 10

// How often the live view redraws (at most), and how many running steps
// it shows at once.
const (
	redrawEvery = 100 * time.Millisecond
	maxRunning  = 10
)

// progressView is a run's view: a run.Reporter the applier tells, a writer
// for messages printed during the run (a warning must not land inside the
// live region), and Close, which leaves only finished lines on screen.
type progressView interface {
	run.Reporter
	Messages() io.Writer
	Close()
}

var (
	_ progressView    = (*plainView)(nil)
	_ progressView    = (*liveView)(nil)
	_ run.LogReporter = (*liveView)(nil)
)

type progressOpts struct {
	live    bool // a terminal: the live view
	color   bool
	verbose bool // list every step, and starts of restores
	ci      ciSystem
	root    string // the workspace, for the logs of failed steps (plain, in CI)
	now     func() time.Time
	size    func() (cols, rows int) // the terminal's, read at each redraw
	// uploaded, when set, says how many bytes the run has uploaded to the
	// remote cache so far (uploads go on in the background, reported by
	// no step): the live header shows it beside the bytes fetched.
	uploaded func() int64
}

// progressOpts is how apply shows progress on the app's standard error.
func (a *app) progressOpts(root string) progressOpts {
	return progressOpts{
		live: a.useTTYProgress(), color: a.useColor(), verbose: a.verbose,
		ci: ciFromEnv(os.Getenv), root: root, now: time.Now,
		size: func() (int, int) { return termSize(a.stderr) },
	}
}

// newProgress returns the view of a run of plan on w; a live view is
// redrawing until Close.
func newProgress(w io.Writer, o progressOpts, plan *graph.Plan) progressView {
	if !o.live {
		return &plainView{base: newBase(w, o, plan)}
	}
	v := newLiveView(w, o, plan)
	v.startTicker()
	return v
}

func newBase(w io.Writer, o progressOpts, plan *graph.Plan) *base {
	if o.now == nil {
		o.now = time.Now
	}
	if o.size == nil {
		o.size = func() (int, int) { return 80, 24 }
	}
	b := &base{w: w, o: o, nameW: 20, shown: map[run.Event]int{}, folded: map[run.Event]int{}}
	for _, sp := range plan.Steps {
		if sp.Status != graph.UpToDate {
			b.total++
			b.nameW = max(b.nameW, len(sp.Node.Name))
		}
	}
	return b
}

// newLiveView is a live view that redraws only when told (draw); the
// ticker is started apart.
func newLiveView(w io.Writer, o progressOpts, plan *graph.Plan) *liveView {
	b := newBase(w, o, plan)
	return &liveView{base: b, start: b.o.now(), byName: map[string]*runningStep{}}
}

// base is what both views keep: counts for the header and the folds.
type base struct {
	w     io.Writer
	o     progressOpts
	nameW int // the name column: the longest name, at least 20

	mu                                                  sync.Mutex
	total, done                                         int
	ran, restored, remote, cutOff, failed, stopped, skp int
	fetched                                             int64
	shown, folded                                       map[run.Event]int
}

// count adds r to the counts and says whether r gets a line of its own.
func (b *base) count(r run.Report) bool {
	b.done++
	switch r.Event {
	case run.Ran:
		b.ran++
	case run.Restored:
		b.restored++
		if r.Source == "remote" {
			b.remote++
		}
	case run.CutOff:
		b.cutOff++
	case run.Failed:
		b.failed++
	case run.Stopped:
		b.stopped++
	case run.Skipped:
		b.skp++
	}
	b.fetched += r.Fetched
	switch {
	case b.o.verbose:
		return true
	case r.Event == run.CutOff:
		return false
	case r.Event == run.Restored || r.Event == run.Skipped:
		if b.shown[r.Event] >= foldAfter {
			b.folded[r.Event]++
			return false
		}
		b.shown[r.Event]++
	}
	return true
}

// foldLines are the counts of the steps folded away, for the end.
func (b *base) foldLines() []string {
	var out []string
	for _, e := range []run.Event{run.Restored, run.Skipped} {
		if n := b.folded[e]; n > 0 {
			out = append(out, fmt.Sprintf("  %s %d more %s (-v lists them)", paint(b.o.color, marks[string(e)].color, marks[string(e)].sym), n, e))
		}
	}
	return out
}

// stepLine is one step's line: mark, name, what happened, how long, why.
func (b *base) stepLine(what, name, detail string, d time.Duration) string {
	m := marks[what]
	var s strings.Builder
	fmt.Fprintf(&s, "  %s %-*s %-9s", paint(b.o.color, m.color, m.sym), b.nameW, name, what)
	if d >= time.Millisecond {
		fmt.Fprintf(&s, " %6s", round(d))
	}
	if detail = firstLine(detail); detail != "" {
		s.WriteString("  " + detail)
	}
	return strings.TrimRight(s.String(), " ")
}

// finishedLine is the line of a step that ended.
func (b *base) finishedLine(sp *graph.StepPlan, r run.Report) string {
	detail := r.Detail
	if r.Source == "remote" {
		from := "from the remote cache"
		if r.Fetched > 0 {
			from += ", " + humanBytes(r.Fetched)
		}
		detail = strings.TrimPrefix(detail+"; "+from, "; ")
	}
	return b.stepLine(string(r.Event), sp.Node.Name, detail, r.Duration)
}

func startedDetail(sp *graph.StepPlan) string {
	return strings.TrimSuffix(string(sp.Status)+": "+sp.Reason, ": ")
}

// firstLine is s up to its first line break, with what follows marked as
// left out (an error can quote a whole command's output).
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// plainView prints lines only, each stamped with the time of day.
type plainView struct {
	*base
	groups int // CI groups opened, to name GitLab's sections uniquely
}

func (v *plainView) stamp() string { return v.o.now().Format("15:04:05") + " " }

// Started prints a line for a step that runs (a restore too with -v).
func (v *plainView) Started(sp *graph.StepPlan) {
	if sp.Status == graph.Restore && !v.o.verbose {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintln(v.w, v.stamp()+v.stepLine("started", sp.Node.Name, startedDetail(sp), 0))
}

// Finished prints how a step ended, unless folded; in CI the log of a
// failed step follows in a group.
func (v *plainView) Finished(sp *graph.StepPlan, r run.Report) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.count(r) {
		fmt.Fprintln(v.w, v.stamp()+v.finishedLine(sp, r))
	}
	if r.Event == run.Failed && r.LogPath != "" && v.o.ci != noCI {
		v.groups++
		writeLogGroup(v.w, v.o.ci, v.groups, sp.Node.Name, v.o.root, r.LogPath, v.o.now())
	}
}

// Messages are printed as they come.
func (v *plainView) Messages() io.Writer { return lockedWriter{&v.mu, v.w} }

// Close prints the folded counts.
func (v *plainView) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, l := range v.foldLines() {
		fmt.Fprintln(v.w, v.stamp()+l)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// liveView is the terminal's view: lines scroll above a live region that
// the ticker redraws.
type liveView struct {
	*base
	start   time.Time
	running []*runningStep // in the order they started
	byName  map[string]*runningStep
	above   []string // lines to print above the region at the next redraw
	drawn   int      // lines of the region on screen
	last    string   // the region as last drawn
	closed  bool     // messages go straight to w

	quit, quitted chan struct{}
}

type runningStep struct {
	name, status string
	since        time.Time
	last         string // the last line of its log, cleaned
}

func (v *liveView) startTicker() {
	v.quit, v.quitted = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(v.quitted)
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		for {
			select {
			case <-v.quit:
				return
			case <-t.C:
				v.mu.Lock()
				v.draw()
				v.mu.Unlock()
			}
		}
	}()
}

// Started adds the step to the live region.
func (v *liveView) Started(sp *graph.StepPlan) {
	v.mu.Lock()
	defer v.mu.Unlock()
	rs := &runningStep{name: sp.Node.Name, status: string(sp.Status), since: v.o.now()}
	v.running = append(v.running, rs)
	v.byName[rs.name] = rs
}

// Finished takes the step out of the live region and, unless folded,
// scrolls its line above.
func (v *liveView) Finished(sp *graph.StepPlan, r run.Report) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if rs := v.byName[sp.Node.Name]; rs != nil {
		delete(v.byName, rs.name)
		for i, x := range v.running {
			if x == rs {
				v.running = append(v.running[:i], v.running[i+1:]...)
				break
			}
		}
	}
	if v.count(r) {
		v.above = append(v.above, v.finishedLine(sp, r))
	}
}

// Log keeps the last line with something in it of a running step's log.
func (v *liveView) Log(sp *graph.StepPlan, line string) {
	line = cleanLine(line)
	if strings.TrimSpace(line) == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if rs := v.byName[sp.Node.Name]; rs != nil {
		rs.last = line
	}
}

// Messages are lines printed above the live region at the next redraw.
func (v *liveView) Messages() io.Writer { return messageWriter{v} }

type messageWriter struct{ v *liveView }

func (m messageWriter) Write(p []byte) (int, error) {
	m.v.mu.Lock()
	defer m.v.mu.Unlock()
	if m.v.closed {
		return m.v.w.Write(p)
	}
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		m.v.above = append(m.v.above, l)
	}
	return len(p), nil
}

// Close stops the ticker and erases the live region, leaving the finished
// lines and the folded counts.
func (v *liveView) Close() {
	if v.quit != nil {
		close(v.quit)
		<-v.quitted
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.above = append(v.above, v.foldLines()...)
	v.erase()
	v.closed = true
}

// draw brings the screen up to date: the lines to scroll, then the live
// region, erasing the region drawn before. It writes nothing when nothing
// changed.
func (v *liveView) draw() {
	cols, rows := v.o.size()
	region := v.region(cols, rows)
	text := strings.Join(region, "\n")
	if len(v.above) == 0 && text == v.last {
		return
	}
	v.redraw(region, cols)
	v.last = text
}

// erase scrolls what is left to scroll and removes the live region.
func (v *liveView) erase() {
	cols, _ := v.o.size()
	v.redraw(nil, cols)
	v.last = ""
}

func (v *liveView) redraw(region []string, cols int) {
	var b strings.Builder
	for range v.drawn {
		b.WriteString("\x1b[1A\x1b[2K")
	}
	for _, l := range v.above {
		b.WriteString(cut(l, lineWidth(cols), v.o.color) + "\n")
	}
	v.above = v.above[:0]
	for _, l := range region {
		b.WriteString(l + "\n")
	}
	v.drawn = len(region)
	if b.Len() > 0 {
		io.WriteString(v.w, b.String())
	}
}

// lineWidth leaves the last column empty: some terminals wrap a line that
// fills it.
func lineWidth(cols int) int { return max(cols-1, 20) }

// region is the live region: the header, then a line per running step (the
// longest-running first), each cut to the width, and never taller than
// half the screen.
func (v *liveView) region(cols, rows int) []string {
	w := lineWidth(cols)
	now := v.o.now()
	lines := []string{cut(v.header(now), w, v.o.color)}
	show := min(len(v.running), maxRunning, max(rows/2-1, 1))
	if show < len(v.running) {
		show = max(show-1, 0) // room for the "more" line
	}
	nameW := min(v.nameW, max(w/3, 8))
	for _, rs := range v.running[:show] {
		text := rs.last
		if text == "" && rs.status == string(graph.Restore) {
			text = "restoring"
		}
		l := fmt.Sprintf("  %s %-*s %6s  %s", paint(v.o.color, marks["started"].color, marks["started"].sym),
			nameW, cut(rs.name, nameW, false), elapsed(now.Sub(rs.since)), paint(v.o.color, "2", text))
		lines = append(lines, cut(strings.TrimRight(l, " "), w, v.o.color))
	}
	if n := len(v.running) - show; n > 0 {
		lines = append(lines, fmt.Sprintf("  … and %d more running", n))
	}
	return lines
}

// header: how far the run is, its time, and what it did so far.
func (v *liveView) header(now time.Time) string {
	parts := []string{fmt.Sprintf("[%d/%d] %s", v.done, v.total, elapsed(now.Sub(v.start))), fmt.Sprintf("%d running", len(v.running))}
	add := func(n int, s string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	add(v.ran, "ran")
	if v.remote > 0 {
		add(v.restored, fmt.Sprintf("restored (%d remote)", v.remote))
	} else {
		add(v.restored, "restored")
	}
	add(v.cutOff, "up to date")
	add(v.failed, "failed")
	add(v.stopped, "stopped")
	add(v.skp, "skipped")
	if hits, misses := v.restored, v.ran; hits+misses > 0 {
		parts = append(parts, fmt.Sprintf("cache %d/%d hits", hits, hits+misses))
	}
	if v.fetched > 0 {
		parts = append(parts, "↓ "+humanBytes(v.fetched))
	}
	if v.o.uploaded != nil {
		if up := v.o.uploaded(); up > 0 {
			parts = append(parts, "↑ "+humanBytes(up))
		}
	}
	return strings.Join(parts, " · ")
}

// elapsed is a running time that ticks visibly: tenths of a second under
// a minute, then minutes and seconds.
func elapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// cut cuts s to width columns, ending it with "…" when something was cut.
// Escape sequences (colours) take no room and are never cut in two; with
// color, a cut line resets the colour.
func cut(s string, width int, color bool) string {
	if textWidth(s) <= width {
		return s
	}
	var b strings.Builder
	w := 0
	for i := 0; i < len(s); {
		if n := escapeLen(s[i:]); n > 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		rw := runeWidth(r)
		if w+rw > width-1 {
			break
		}
		b.WriteRune(r)
		w += rw
		i += size
	}
	b.WriteString("…")
	if color {
		b.WriteString("\x1b[0m")
	}
	return b.String()
}

// textWidth is the columns s takes on a terminal.
func textWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		if n := escapeLen(s[i:]); n > 0 {
			i += n
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		w += runeWidth(r)
		i += size
	}
	return w
}

// escapeLen is the length of the CSI escape sequence s starts with, else 0.
func escapeLen(s string) int {
	if len(s) < 2 || s[0] != '\x1b' || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s); i++ {
		if s[i] >= 0x40 && s[i] <= 0x7e {
			return i + 1
		}
	}
	return len(s)
}

// runeWidth is the columns r takes: 0 for combining and invisible
// characters, 2 for East Asian wide ones and emoji, else 1. (A table of the
// main ranges: enough that a log line never wraps, without a dependency.)
func runeWidth(r rune) int {
	switch {
	case r == 0x200b || r == 0x200c || r == 0x200d || r == 0xfeff,
		unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf):
		return 0
	case r >= 0x1100 && r <= 0x115f, r >= 0x2e80 && r <= 0xa4cf && r != 0x303f,
		r >= 0xac00 && r <= 0xd7a3, r >= 0xf900 && r <= 0xfaff, r >= 0xfe30 && r <= 0xfe4f,
		r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6,
		r >= 0x1f300 && r <= 0x1f64f, r >= 0x1f900 && r <= 0x1f9ff, r >= 0x20000 && r <= 0x3fffd:
		return 2
	}
	return 1
}

// cleanLine is a log line as the live view shows it: what a terminal would
// leave of it after its last carriage return (a progress bar), without
// escape sequences or control characters, tabs as spaces.
func cleanLine(s string) string {
	for {
		i := strings.LastIndexByte(s, '\r')
		if i < 0 {
			break
		}
		if strings.TrimSpace(s[i+1:]) != "" {
			s = s[i+1:]
			break
		}
		s = s[:i]
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\x1b' {
			i += max(escapeLen(s[i:]), oscLen(s[i:]), 1)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r == utf8.RuneError && size == 1, unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// oscLen is the length of the OSC sequence (a window title, a link) s
// starts with, else 0.
func oscLen(s string) int {
	if !strings.HasPrefix(s, "\x1b]") {
		return 0
	}
	if i := strings.IndexAny(s, "\a"); i >= 0 {
		if j := strings.Index(s, "\x1b\\"); j >= 0 && j < i {
			return j + 2
		}
		return i + 1
	}
	if j := strings.Index(s, "\x1b\\"); j >= 0 {
		return j + 2
	}
	return len(s)
}

// termSize is the size of the terminal f is, else $COLUMNS wide, else
// 80 by 24.
func termSize(f any) (cols, rows int) {
	cols, rows = 80, 24
	if c, err := fmt.Sscan(os.Getenv("COLUMNS"), &cols); c != 1 || err != nil || cols <= 0 {
		cols = 80
	}
	file, ok := f.(*os.File)
	if !ok {
		return cols, rows
	}
	ws, err := unix.IoctlGetWinsize(int(file.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return cols, rows
	}
	if ws.Col > 0 {
		cols = int(ws.Col)
	}
	if ws.Row > 0 {
		rows = int(ws.Row)
	}
	return cols, rows
}

// ciSystem is the CI service a run is in, for collapsible groups.
type ciSystem int

const (
	noCI ciSystem = iota
	githubCI
	gitlabCI
)

// inCI reports whether CI is set (CI=true, as GitHub, GitLab and most
// others set it): progress is plain there by default.
func inCI(getenv func(string) string) bool {
	switch strings.ToLower(getenv("CI")) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

func ciFromEnv(getenv func(string) string) ciSystem {
	switch {
	case !inCI(getenv):
		return noCI
	case getenv("GITHUB_ACTIONS") == "true":
		return githubCI
	case getenv("GITLAB_CI") == "true":
		return gitlabCI
	}
	return noCI
}

// maxGroupLog is how much of a failed step's log goes into its CI group:
// the end of it.
const maxGroupLog = 1 << 20

// writeLogGroup writes the log of a failed step inside a collapsible group:
// GitHub's ::group:: (with workflow commands stopped, so that a line of the
// log cannot act as one) or a GitLab section.
func writeLogGroup(w io.Writer, ci ciSystem, n int, step, root, logPath string, now time.Time) {
	title := fmt.Sprintf("log of %s (failed): %s", step, logPath)
	section := fmt.Sprintf("bottle_log_%d_%s", n, sectionName(step))
	switch ci {
	case githubCI:
		fmt.Fprintf(w, "::group::%s\n", title)
		// The token must be one the step cannot print by design.
		var r [16]byte
		rand.Read(r[:])
		token := "bottle-" + hex.EncodeToString(r[:])
		fmt.Fprintf(w, "::stop-commands::%s\n", token)
		defer fmt.Fprintf(w, "::%s::\n::endgroup::\n", token)
	case gitlabCI:
		fmt.Fprintf(w, "\x1b[0Ksection_start:%d:%s[collapsed=true]\r\x1b[0K%s\n", now.Unix(), section, title)
		defer fmt.Fprintf(w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", now.Unix(), section)
	}
	copyLogTail(w, filepath.Join(root, logPath), step)
}

// copyLogTail copies the end of the log at path (all of it when small)
// to w, each line ended.
func copyLogTail(w io.Writer, path, step string) {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(w, "(no log: %v)\n", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxGroupLog)
	if fi, err := f.Stat(); err == nil && fi.Size() > maxGroupLog {
		f.Seek(fi.Size()-maxGroupLog, io.SeekStart)
		sc.Scan() // the rest of a line cut in two
		fmt.Fprintf(w, "(the start of the log is left out: bottle logs %s shows all of it)\n", step)
	}
	for sc.Scan() {
		fmt.Fprintln(w, sc.Text())
	}
}

// sectionName is s with only the characters a GitLab section name may have.
func sectionName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-') {
			return r
		}
		return '_'
	}, s)
}
