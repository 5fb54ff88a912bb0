package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/run"
)

func stepPlan(name string) *graph.StepPlan {
	return &graph.StepPlan{Node: &graph.Node{Name: name}, Status: graph.Run, Reason: "new"}
}

// TestProgress: what a person sees of a run, on a terminal (--progress
// tty: a live status line) and in a log (plain: lines only).
func TestProgress(t *testing.T) {
	a, b := stepPlan("a"), stepPlan("b")
	play := func(p *progress) {
		p.Started(a)
		p.Started(b)
		p.Finished(a, run.Report{Event: run.Ran, Duration: 1500 * time.Millisecond})
		p.Finished(stepPlan("c"), run.Report{Event: run.CutOff, Detail: "upstream result unchanged"})
		p.Finished(b, run.Report{Event: run.Failed, Detail: "exit status 3", Duration: 20 * time.Millisecond})
		p.Close()
	}
	tests := []struct {
		name          string
		tty, verbose  bool
		want, wantNot []string
	}{
		{"plain", false, false,
			[]string{"  ✓ a                    ran         1.5s\n", "  ✗ b                    failed      20ms  exit status 3\n"},
			[]string{"running", "\x1b", "cut off", "started"}},
		{"plain verbose", false, true,
			[]string{"▸ a                    started    run: new", "= c                    cut off    upstream result unchanged"},
			[]string{"running"}},
		{"tty", true, false,
			[]string{"  [0/5] running a, b", "\r\x1b[K  ✓ a", "  [1/5] running b"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w strings.Builder
			play(newProgress(&w, false, tt.tty, tt.verbose, 5))
			got := w.String()
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
			if tt.tty && !strings.HasSuffix(got, "\n") {
				t.Errorf("the status line is left on screen after Close: %q", got)
			}
		})
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
	p := newProgress(&w, false, false, false, 2)
	p.fit(&graph.Plan{Steps: []*graph.StepPlan{long, short}})
	p.Finished(long, run.Report{Event: run.Ran, Duration: time.Second})
	p.Finished(short, run.Report{Event: run.Ran, Duration: time.Second})
	lines := strings.Split(strings.TrimRight(w.String(), "\n"), "\n")
	if len(lines) != 2 || strings.Index(lines[0], "ran") != strings.Index(lines[1], "ran") {
		t.Errorf("statuses not in one column:\n%s", w.String())
	}
}
