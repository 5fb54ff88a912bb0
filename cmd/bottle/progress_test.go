package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/internal/termscreen"
	"github.com/bottle-build/bottle/run"
)

func stepPlan(name string) *graph.StepPlan {
	return &graph.StepPlan{Node: graph.NewNode(name, nil, nil), Status: graph.Run, Reason: "new"}
}

func restorePlan(name string) *graph.StepPlan {
	return &graph.StepPlan{Node: graph.NewNode(name, nil, nil), Status: graph.Restore, Reason: "cached"}
}

// clock is a fake clock: it moves only when told.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)} }

// plainRun plays a run on a plain view: a ran, b failed, c cut off, and
// n restores, three of them from the remote cache.
func plainRun(o progressOpts, n int) string {
	var w strings.Builder
	c := newClock()
	o.now = c.now
	a, b := stepPlan("a"), stepPlan("b")
	plan := &graph.Plan{Steps: []*graph.StepPlan{a, b, stepPlan("c")}}
	var rs []*graph.StepPlan
	for i := range n {
		rs = append(rs, restorePlan(fmt.Sprintf("r%03d", i)))
	}
	plan.Steps = append(plan.Steps, rs...)
	p := newProgress(&w, o, plan)
	p.Started(a)
	c.advance(time.Second)
	p.Started(b)
	c.advance(500 * time.Millisecond)
	p.Finished(a, run.Report{Event: run.Ran, Duration: 1500 * time.Millisecond})
	p.Finished(stepPlan("c"), run.Report{Event: run.CutOff, Detail: "upstream result unchanged"})
	for i, r := range rs {
		p.Started(r)
		rep := run.Report{Event: run.Restored, Duration: time.Millisecond, Source: "local"}
		if i < 3 {
			rep.Source, rep.Fetched = "remote", 2048
		}
		p.Finished(r, rep)
	}
	c.advance(time.Minute)
	p.Finished(b, run.Report{Event: run.Failed, Detail: "exit status 3\nand more", Duration: 61 * time.Second, LogPath: ".bottle/logs/b.log"})
	p.Close()
	return w.String()
}

// TestPlainProgress: without a terminal, a timestamped line when a step
// starts and when it ends, with its duration; restores get a line each
// only up to foldAfter, then a count.
func TestPlainProgress(t *testing.T) {
	tests := []struct {
		name          string
		verbose       bool
		restores      int
		want, wantNot []string
		lines         int
	}{
		{"few restores", false, 3,
			[]string{
				"09:30:00   ▸ a                    started    run: new\n",
				"09:30:01   ▸ b                    started    run: new\n",
				"09:30:01   ✓ a                    ran         1.5s\n",
				"09:30:01   ↓ r000                 restored     1ms  from the remote cache, 2.0 KiB\n",
				"09:30:01   ↓ r002                 restored     1ms  from the remote cache, 2.0 KiB\n",
				"09:31:01   ✗ b                    failed      1m1s  exit status 3 …\n",
			},
			[]string{"\x1b", "cut off", "r000                 started", "more restored", "::group::"}, 7},
		{"many restores fold", false, 400,
			[]string{"r009                 restored", "09:31:01   ↓ 390 more restored (-v lists them)\n"},
			[]string{"r010", "r399"}, 2 + 1 + 10 + 1 + 1},
		{"verbose lists every step", true, 400,
			[]string{"r399                 started    restore: cached", "r399                 restored", "c                    cut off    upstream result unchanged"},
			[]string{"more restored"}, 2 + 1 + 1 + 800 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plainRun(progressOpts{verbose: tt.verbose}, tt.restores)
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("output lacks %q:\n%s", s, got)
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(got, s) {
					t.Errorf("output has %q:\n%s", s, got)
				}
			}
			if n := strings.Count(got, "\n"); n != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, got)
			}
			stamped := regexp.MustCompile(`^\d\d:\d\d:\d\d   `)
			for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !stamped.MatchString(l) {
					t.Errorf("line without a time: %q", l)
				}
			}
		})
	}
}

// TestPlainCIGroups: in GitHub Actions or GitLab CI, the log of a failed
// step follows its line in a collapsible group; elsewhere it does not.
func TestPlainCIGroups(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, ".bottle", "logs"), 0o755)
	os.WriteFile(filepath.Join(root, ".bottle", "logs", "b.log"), []byte("compiling\n::error::not a command of ours\nboom"), 0o644)
	tests := []struct {
		name          string
		env           map[string]string
		want, wantNot []string
	}{
		{"github", map[string]string{"CI": "true", "GITHUB_ACTIONS": "true"},
			[]string{
				"failed      1m1s  exit status 3 …\n::group::log of b (failed): .bottle/logs/b.log\n::stop-commands::",
				"\ncompiling\n::error::not a command of ours\nboom\n::bottle-",
				"::\n::endgroup::\n",
			},
			[]string{"section_"}},
		{"gitlab", map[string]string{"CI": "true", "GITLAB_CI": "true"},
			[]string{
				"\x1b[0Ksection_start:1740821461:bottle_log_1_b[collapsed=true]\r\x1b[0Klog of b (failed): .bottle/logs/b.log\ncompiling\n",
				"boom\n\x1b[0Ksection_end:1740821461:bottle_log_1_b\r\x1b[0K\n",
			},
			[]string{"::group::"}},
		{"github, but not CI", map[string]string{"GITHUB_ACTIONS": "true"}, nil, []string{"::group::", "compiling"}},
		{"CI elsewhere", map[string]string{"CI": "true"}, nil, []string{"::group::", "section_", "compiling"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ci := ciFromEnv(func(k string) string { return tt.env[k] })
			got := plainRun(progressOpts{ci: ci, root: root}, 0)
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("output lacks %q:\n%q", s, got)
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(got, s) {
					t.Errorf("output has %q:\n%q", s, got)
				}
			}
		})
	}
}

// live is a live view on a fake terminal, redrawn by hand (no ticker).
type live struct {
	*liveView
	clock  *clock
	screen *termscreen.Screen
}

func newLive(cols, rows int, plan *graph.Plan) *live {
	c := newClock()
	s := &termscreen.Screen{Width: cols}
	s.Write([]byte("$ bottle apply\n\n"))
	o := progressOpts{live: true, now: c.now, size: func() (int, int) { return cols, rows }}
	v := newLiveView(s, o, plan)
	return &live{v, c, s}
}

// draw redraws as the ticker would, and says what it wrote.
func (l *live) draw() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.liveView.draw()
}

const promptLines = 2 // what newLive leaves on the screen before the run

// TestLiveView: on a terminal, running steps are redrawn in place with
// their elapsed time and the last line of their log; finished ones scroll
// above; Close leaves no live line behind.
func TestLiveView(t *testing.T) {
	a, b, c := stepPlan("build"), stepPlan("test"), stepPlan("lint")
	l := newLive(80, 24, &graph.Plan{Steps: []*graph.StepPlan{a, b, c}})
	l.Started(a)
	l.Started(b)
	l.Log(a, "compiling \x1b[1mmain.go\x1b[0m\tnow")
	l.Log(a, "") // an empty line does not replace the last one
	l.clock.advance(2500 * time.Millisecond)
	l.draw()
	want := []string{
		"$ bottle apply",
		"",
		"[0/3] 2.5s · 2 running",
		"  ▸ build                  2.5s  compiling main.go    now",
		"  ▸ test                   2.5s",
	}
	if got := l.screen.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Time passes: the elapsed times tick, in place.
	l.clock.advance(time.Second)
	l.draw()
	if got := l.screen.Lines(); len(got) != len(want) || got[promptLines] != "[0/3] 3.5s · 2 running" || !strings.Contains(got[promptLines+1], "3.5s  compiling") {
		t.Fatalf("after a second:\n%s", l.screen)
	}

	// Nothing changed: nothing is written.
	before := l.screen.String()
	erased := l.screen.Erased
	l.draw()
	if l.screen.Erased != erased || l.screen.String() != before {
		t.Errorf("a redraw with nothing new wrote to the terminal")
	}

	// A step ends: its line scrolls above the live region.
	l.Finished(a, run.Report{Event: run.Ran, Duration: 3500 * time.Millisecond})
	l.Messages().Write([]byte("warning: the remote cache is down; continuing with the local cache only\n"))
	l.draw()
	got := l.screen.Lines()
	want = append(want[:promptLines],
		"  ✓ build                ran         3.5s",
		"warning: the remote cache is down; continuing with the local cache only",
		"[1/3] 3.5s · 1 running · 1 ran · cache 0/1 hits",
		"  ▸ test                   3.5s")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	l.Finished(b, run.Report{Event: run.Failed, Duration: 4 * time.Second, Detail: "exit status 1"})
	l.Finished(c, run.Report{Event: run.Skipped, Detail: "a step it needs did not succeed"})
	l.Close()
	want = append(want[:promptLines+2],
		"  ✗ test                 failed        4s  exit status 1",
		"  - lint                 skipped    a step it needs did not succeed")
	// A warning after the run (an upload) is printed at once.
	l.Messages().Write([]byte("bottle: uploading test: denied\n"))
	want = append(want, "bottle: uploading test: denied")
	if got := l.screen.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after Close:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLiveViewRegion: the live region on terminals of several sizes, with
// many steps: each line cut to the width, never wrapping; at most half the
// screen; the header's counts; and every redraw erasing exactly the lines
// it drew, so the prompt above survives and nothing is left behind.
func TestLiveViewRegion(t *testing.T) {
	tests := []struct {
		name       string
		cols, rows int
		running    int
		restores   int
		header     string
		regionMax  int
		screenMax  int
	}{
		{"wide", 120, 40, 3, 400, "[400/403] 0.8s · 3 running · 400 restored (40 remote) · cache 400/400 hits · ↓ 40.0 KiB", 4, promptLines + 10 + 1},
		{"narrow", 30, 40, 3, 20, "[20/23] 0.0s · 3 running · 2…", 4, promptLines + 10 + 1},
		{"short", 80, 8, 12, 0, "[0/12] 0.0s · 12 running", 4, promptLines},
		{"tall and busy", 80, 60, 30, 0, "[0/30] 0.0s · 30 running", 11, promptLines},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var all []*graph.StepPlan
			for i := range tt.running {
				all = append(all, stepPlan(fmt.Sprintf("step-with-a-rather-long-name-%02d", i)))
			}
			for i := range tt.restores {
				all = append(all, restorePlan(fmt.Sprintf("r%03d", i)))
			}
			l := newLive(tt.cols, tt.rows, &graph.Plan{Steps: all})
			for _, sp := range all[:tt.running] {
				l.Started(sp)
				l.Log(sp, strings.Repeat("a long line of output ", 10))
			}
			region := 0
			for i, sp := range all[tt.running:] {
				l.Started(sp)
				rep := run.Report{Event: run.Restored, Source: "local"}
				if i%10 == 0 {
					rep.Source, rep.Fetched = "remote", 1024
				}
				l.Finished(sp, rep)
				l.clock.advance(2 * time.Millisecond)
				if i%7 == 0 {
					l.draw()
				}
			}
			l.draw()
			got := l.screen.Lines()
			region = len(got) - promptLines - min(tt.restores, foldAfter)
			if got[promptLines-1] != "" || got[len(got)-region] != tt.header {
				t.Errorf("header %q, want %q:\n%s", got[len(got)-region], tt.header, l.screen)
			}
			if region > tt.regionMax || region > tt.rows/2 {
				t.Errorf("the live region has %d lines, want at most %d and half of %d rows:\n%s", region, tt.regionMax, tt.rows, l.screen)
			}
			if tt.running > region-1 && !strings.HasPrefix(got[len(got)-1], fmt.Sprintf("  … and %d more running", tt.running-(region-2))) {
				t.Errorf("the last line does not count the running steps left out:\n%s", l.screen)
			}
			for _, line := range got {
				if n := textWidth(line); n >= tt.cols {
					t.Errorf("a line of %d columns on a terminal of %d: %q", n, tt.cols, line)
				}
			}
			if l.screen.Wraps > 0 {
				t.Errorf("%d lines wrapped", l.screen.Wraps)
			}
			l.Close()
			got = l.screen.Lines()
			if got[0] != "$ bottle apply" || len(got) > tt.screenMax {
				t.Errorf("after Close, %d lines, want at most %d, under the prompt:\n%s", len(got), tt.screenMax, l.screen)
			}
			if tt.restores > foldAfter && got[len(got)-1] != cut(fmt.Sprintf("  ↓ %d more restored (-v lists them)", tt.restores-foldAfter), lineWidth(tt.cols), false) {
				t.Errorf("no count of the folded restores:\n%s", l.screen)
			}
			for _, line := range got {
				if strings.Contains(line, "running") {
					t.Errorf("a live line is left on the screen after Close:\n%s", l.screen)
				}
			}
		})
	}
}

// TestLiveViewTicks: the view started by newProgress redraws by itself,
// so elapsed time moves while nothing else happens, and Close stops it.
func TestLiveViewTicks(t *testing.T) {
	w := &syncScreen{}
	var mu sync.Mutex
	now := time.Now()
	sp := stepPlan("slow")
	v := newProgress(w, progressOpts{live: true, now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(100 * time.Millisecond) // each look at the clock, a tenth of a second passes
		return now
	}}, &graph.Plan{Steps: []*graph.StepPlan{sp}})
	v.Started(sp)
	for !regexp.MustCompile(`▸ slow +[1-9]\.\ds`).MatchString(w.String()) {
		time.Sleep(10 * time.Millisecond) // the test's timeout ends a view that never ticks
	}
	v.Close()
	after := w.String()
	if strings.Contains(w.screen(), "slow") {
		t.Errorf("the live line is left after Close:\n%s", w.screen())
	}
	time.Sleep(3 * redrawEvery)
	if w.String() != after {
		t.Errorf("the view drew after Close")
	}
}

// syncScreen is a screen the ticker's goroutine writes to while the test
// reads it.
type syncScreen struct {
	mu  sync.Mutex
	s   termscreen.Screen
	raw strings.Builder
}

func (w *syncScreen) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.raw.Write(p)
	return w.s.Write(p)
}

func (w *syncScreen) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.raw.String()
}

func (w *syncScreen) screen() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.s.String()
}

func TestCut(t *testing.T) {
	tests := []struct {
		in    string
		width int
		color bool
		want  string
	}{
		{"hello", 5, false, "hello"},
		{"hello!", 5, false, "hell…"},
		{"\x1b[32m✓\x1b[0m build", 7, false, "\x1b[32m✓\x1b[0m build"},
		{"\x1b[32m✓ building\x1b[0m", 7, true, "\x1b[32m✓ buil…\x1b[0m"},
		{"日本語のログ", 7, false, "日本語…"},
		{"e\u0301te\u0301", 3, false, "e\u0301te\u0301"},
	}
	for _, tt := range tests {
		got := cut(tt.in, tt.width, tt.color)
		if got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
		if w := textWidth(got); w > tt.width {
			t.Errorf("cut(%q, %d) is %d wide", tt.in, tt.width, w)
		}
	}
}

func TestCleanLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[31mred\x1b[0m", "red"},
		{" 10%\r 50%\r100%", "100%"},
		{"done\r\r", "done"},
		{"a\tb", "a    b"},
		{"\x1b]0;title\abody\x07\x00", "body"},
		{"bad \xff byte", "bad  byte"},
	}
	for _, tt := range tests {
		if got := cleanLine(tt.in); got != tt.want {
			t.Errorf("cleanLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCIFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want ciSystem
		in   bool
	}{
		{nil, noCI, false},
		{map[string]string{"CI": "true"}, noCI, true},
		{map[string]string{"CI": "1"}, noCI, true},
		{map[string]string{"CI": "false", "GITHUB_ACTIONS": "true"}, noCI, false},
		{map[string]string{"CI": "true", "GITHUB_ACTIONS": "true"}, githubCI, true},
		{map[string]string{"CI": "true", "GITLAB_CI": "true"}, gitlabCI, true},
	}
	for _, tt := range tests {
		get := func(k string) string { return tt.env[k] }
		if got := ciFromEnv(get); got != tt.want || inCI(get) != tt.in {
			t.Errorf("%v: ci %v, in CI %v; want %v, %v", tt.env, got, inCI(get), tt.want, tt.in)
		}
	}
}

func TestElapsed(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0s"}, {1250 * time.Millisecond, "1.2s"}, {59900 * time.Millisecond, "59.9s"},
		{time.Minute, "1m00s"}, {61500 * time.Millisecond, "1m01s"}, {2 * time.Hour, "120m00s"},
	}
	for _, tt := range tests {
		if got := elapsed(tt.d); got != tt.want {
			t.Errorf("elapsed(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestSummaryLine(t *testing.T) {
	tests := []struct {
		sum  run.Summary
		want string
	}{
		{run.Summary{Ran: 1, Misses: 1}, "1 ran, 0 restored, 0 cut off early, 0 failed; cache: 0 hits, 1 miss."},
		{run.Summary{Restored: 2, Hits: 2, RemoteHits: 2, Downloaded: 3 << 20}, "0 ran, 2 restored, 0 cut off early, 0 failed; cache: 2 hits, 0 misses; remote: 2 hits (3.0 MiB down), 0 uploads (0 B up)."},
		{run.Summary{Ran: 1, Misses: 1, Uploads: 1, Uploaded: 2048, RemoteFailures: 1}, "1 ran, 0 restored, 0 cut off early, 0 failed; cache: 0 hits, 1 miss; remote: 0 hits (0 B down), 1 upload (2.0 KiB up), 1 failure."},
		{run.Summary{Ran: 2, Restored: 1, CutOff: 1, Failed: 1, Skipped: 2, Stopped: 1, UpToDate: 3, Hits: 1, Misses: 2, Unstored: 1,
			Failures: []*run.Failure{{Step: "x", Err: errors.New("boom")}}},
			"2 ran, 1 restored, 1 cut off early, 1 failed, 2 skipped, 1 stopped, 3 up to date; cache: 1 hit, 2 misses; 1 result not stored (inputs changed while running)."},
	}
	for _, tt := range tests {
		if got := summaryLine(&tt.sum); got != tt.want {
			t.Errorf("summaryLine = %q\nwant           %q", got, tt.want)
		}
	}
}

// A name longer than the column (a matrix instance) widens it for every
// line, so the statuses stay in one column.
func TestProgressFitsLongNames(t *testing.T) {
	long, short := stepPlan("package[darwin,amd64]"), stepPlan("a")
	var w strings.Builder
	p := newProgress(&w, progressOpts{}, &graph.Plan{Steps: []*graph.StepPlan{long, short}})
	p.Finished(long, run.Report{Event: run.Ran, Duration: time.Second})
	p.Finished(short, run.Report{Event: run.Ran, Duration: time.Second})
	lines := strings.Split(strings.TrimRight(w.String(), "\n"), "\n")
	if len(lines) != 2 || strings.Index(lines[0], "ran") != strings.Index(lines[1], "ran") {
		t.Errorf("statuses not in one column:\n%s", w.String())
	}
}

// Bytes uploaded to the remote cache, which no step reports, show in the
// header as the run goes on.
func TestLiveViewUploaded(t *testing.T) {
	var up int64
	o := progressOpts{live: true, now: func() time.Time { return time.Unix(0, 0) }, uploaded: func() int64 { return up }}
	v := newLiveView(io.Discard, o, &graph.Plan{Steps: []*graph.StepPlan{stepPlan("a")}})
	if h := v.header(time.Unix(0, 0)); strings.Contains(h, "↑") {
		t.Errorf("header %q shows uploads before any", h)
	}
	up = 3 << 20
	if h := v.header(time.Unix(0, 0)); !strings.Contains(h, "↑ 3.0 MiB") {
		t.Errorf("header %q lacks the bytes uploaded", h)
	}
}
