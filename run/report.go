package run

import (
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

// Failure is one step that did not succeed.
type Failure struct {
	Step    string
	Err     error
	LogPath string   // workspace-relative; "" when the step never started
	Tail    []string // the last lines of its log
}
