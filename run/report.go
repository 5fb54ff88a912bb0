package run

import (
	"bytes"
	"strings"
	"sync"
	"time"

	"github.com/bottle-build/bottle/graph"
)

// Event is how a step ended, or that it started.
type Event string

const (
	Ran      Event = "ran"
	Restored Event = "restored"
	CutOff   Event = "cut off" // a pending step whose upstream result came out unchanged
	Failed   Event = "failed"
	Stopped  Event = "stopped" // by Ctrl-C, or by fail-fast after another step failed
	Skipped  Event = "skipped" // never started: a need failed, or the run stopped first
)

// Report is the end of one step.
type Report struct {
	Event    Event
	Detail   string        // why, in a few words: the error, the fallback, "upstream result unchanged"
	Duration time.Duration // 0 when nothing ran
	// Source is where a restored result came from: "local", or "remote"
	// when it was fetched from the remote cache; "" for other events.
	Source string
	// Fetched is how many bytes were downloaded from the remote cache for
	// a restore.
	Fetched int64
	// Result is the digest of the step's result (hex) when it ran or was
	// restored, else "".
	Result string
	// LogPath is the step's log, workspace-relative, when it ran (or
	// failed or was stopped while running); "" when it has none.
	LogPath string
}

// Reporter is told what a run does as it happens. Its methods are called
// from the scheduler's goroutine, one at a time. The terminal view and any
// machine-readable stream are Reporters (in cmd/bottle); run formats
// nothing itself.
type Reporter interface {
	// Started: the step (decided, not pending) began to restore or run.
	Started(sp *graph.StepPlan)
	// Finished: the step ended, or was skipped or cut off without starting.
	Finished(sp *graph.StepPlan, r Report)
}

// A LogReporter is a Reporter that also takes each line a running step
// writes to its log, as the log gets it (secrets masked), without its
// newline. Unlike Started and Finished, Log is called from the goroutines
// that copy the steps' output, concurrently: it must lock what it shares.
type LogReporter interface {
	Reporter
	Log(sp *graph.StepPlan, line string)
}

// Tee returns a Reporter that tells each of rs, in order; it is a
// LogReporter when one of them is.
func Tee(rs ...Reporter) Reporter {
	for _, r := range rs {
		if _, ok := r.(LogReporter); ok {
			return logTee{rs}
		}
	}
	return tee(rs)
}

type tee []Reporter

func (t tee) Started(sp *graph.StepPlan) {
	for _, r := range t {
		r.Started(sp)
	}
}

func (t tee) Finished(sp *graph.StepPlan, rep Report) {
	for _, r := range t {
		r.Finished(sp, rep)
	}
}

// logTee is a tee of which some take log lines: only then are a step's
// logs split into lines at all.
type logTee struct{ tee }

func (t logTee) Log(sp *graph.StepPlan, line string) {
	for _, r := range t.tee {
		if lr, ok := r.(LogReporter); ok {
			lr.Log(sp, line)
		}
	}
}

// lineWriter hands each complete line written to it to emit, without its
// newline (a \r\n ends a line too); flush hands over what is left. A line
// longer than 4 KiB is cut to its first 4 KiB.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	emit func(string)
}

const maxReportedLine = 4 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.add(p)
			break
		}
		w.add(p[:i])
		w.emit(strings.TrimSuffix(string(w.buf), "\r"))
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

// add keeps what fits of p in the line being read.
func (w *lineWriter) add(p []byte) {
	w.buf = append(w.buf, p[:min(len(p), max(maxReportedLine-len(w.buf), 0))]...)
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

type nopReporter struct{}

func (nopReporter) Started(*graph.StepPlan)          {}
func (nopReporter) Finished(*graph.StepPlan, Report) {}

// Summary is what a run did.
type Summary struct {
	Ran, Restored, CutOff, UpToDate, Failed, Skipped, Stopped, Unstored int
	Hits, Misses                                                        int
	// The remote cache: results restored from it, bytes downloaded,
	// results uploaded (and their bytes), and look-ups, downloads or
	// uploads that failed (a warning, never a failed build).
	RemoteHits, Uploads, RemoteFailures int
	Downloaded, Uploaded                int64
	Failures                            []*Failure
	Interrupted                         bool
}

// Outcome is how the run ended, in one word: "interrupted", "failed" or
// "complete" (what apply's last line, the summary event and the report
// page say).
func (s *Summary) Outcome() string {
	switch {
	case s.Interrupted:
		return "interrupted"
	case s.Failed > 0:
		return "failed"
	}
	return "complete"
}

// Failure is one step that did not succeed.
type Failure struct {
	Step    string
	Err     error
	LogPath string   // workspace-relative; "" when the step never started
	Tail    []string // the last lines of its log
}
