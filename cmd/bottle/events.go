package main

// apply --json: the run as newline-delimited JSON events on stdout, for a
// dashboard to follow without scraping text (README "Event stream").

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/internal/jsonbytes"
	"github.com/bottle-build/bottle/run"
)

// eventsVersion is the version of the event stream, the "v" of every
// event: bumped on any incompatible change (a field removed or changing
// meaning); fields and events may be added within a version.
const eventsVersion = 1

// events writes the event stream. It is the run's Reporter in --json mode;
// its methods may be called from any goroutine.
type events struct {
	mu   sync.Mutex
	enc  *json.Encoder
	now  func() time.Time
	logs bool // --json-logs: a log event per line a step prints

	plan     *graph.Plan     // as the plan event gave it
	finished map[string]bool // steps that had their finish event
	sum      *run.Summary    // what the run did, once it ended
	dur      time.Duration
}

func newEvents(w io.Writer, logs bool) *events {
	return &events{enc: json.NewEncoder(w), now: time.Now, logs: logs, finished: map[string]bool{}}
}

// reporter is the run's Reporter: a run.LogReporter with --json-logs only,
// so that without it the executor does not split logs into lines.
func (e *events) reporter() run.Reporter {
	if e.logs {
		return eventLogs{e}
	}
	return e
}

// head is what every event has.
type head struct {
	V     int    `json:"v"`
	Event string `json:"event"`
	Time  string `json:"time"` // RFC 3339, UTC, milliseconds
}

type planEvent struct {
	head
	Plan *graph.PlanJSON `json:"plan"`
}

type startEvent struct {
	head
	Step   string       `json:"step"`
	Kind   string       `json:"kind"`
	Status graph.Status `json:"status"` // run, replace or restore: what the step does now
	Reason string       `json:"reason,omitempty"`
}

type logEvent struct {
	head
	Step string           `json:"step"`
	Line jsonbytes.String `json:"line"`
}

type finishEvent struct {
	head
	Step       string           `json:"step"`
	Status     string           `json:"status"`
	Detail     string           `json:"detail,omitempty"`
	DurationMS int64            `json:"duration_ms"`
	Source     string           `json:"source,omitempty"`
	Fetched    int64            `json:"fetched,omitempty"`
	Result     string           `json:"result,omitempty"`
	Log        jsonbytes.String `json:"log,omitempty"`
}

type diagnosticEvent struct {
	head
	Severity string `json:"severity"` // info, warning, error
	Step     string `json:"step,omitempty"`
	Message  string `json:"message"`
}

type summaryEvent struct {
	head
	Status         string `json:"status"` // complete, failed, interrupted, error
	DurationMS     int64  `json:"duration_ms"`
	Ran            int    `json:"ran"`
	Restored       int    `json:"restored"`
	CutOff         int    `json:"cut_off"`
	UpToDate       int    `json:"up_to_date"`
	Failed         int    `json:"failed"`
	Stopped        int    `json:"stopped"`
	Skipped        int    `json:"skipped"`
	Unstored       int    `json:"unstored"`
	CacheHits      int    `json:"cache_hits"`
	CacheMisses    int    `json:"cache_misses"`
	RemoteHits     int    `json:"remote_hits"`
	Downloaded     int64  `json:"downloaded"`
	Uploads        int    `json:"uploads"`
	Uploaded       int64  `json:"uploaded"`
	RemoteFailures int    `json:"remote_failures"`
}

// emit writes one event, one line, made by build with its head. The time
// is taken under the lock, so that times never go back down the stream.
// A stdout that cannot be written is not apply's failure: the run goes
// on, as it would with no one reading.
func (e *events) emit(name string, build func(head) any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := head{V: eventsVersion, Event: name, Time: e.now().UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	e.enc.Encode(build(h))
}

// planned is the plan event: the plan as 'bottle plan --json' prints it.
func (e *events) planned(plan *graph.Plan, pj *graph.PlanJSON) {
	e.mu.Lock()
	e.plan = plan
	e.mu.Unlock()
	e.emit("plan", func(h head) any { return planEvent{h, pj} })
}

func (e *events) diagnostic(severity, step, msg string) {
	e.emit("diagnostic", func(h head) any { return diagnosticEvent{h, severity, step, msg} })
}

// Started implements run.Reporter.
func (e *events) Started(sp *graph.StepPlan) {
	e.emit("start", func(h head) any { return startEvent{h, sp.Node.Name, sp.Node.Kind.Name(), sp.Status, sp.Reason} })
}

// Finished implements run.Reporter.
func (e *events) Finished(sp *graph.StepPlan, r run.Report) {
	e.mu.Lock()
	e.finished[sp.Node.Name] = true
	e.mu.Unlock()
	status := string(r.Event)
	if r.Event == run.CutOff {
		status = "cut-off"
	}
	e.emit("finish", func(h head) any {
		return finishEvent{
			head: h, Step: sp.Node.Name, Status: status, Detail: r.Detail,
			DurationMS: r.Duration.Milliseconds(), Source: r.Source, Fetched: r.Fetched,
			Result: r.Result, Log: jsonbytes.String(r.LogPath),
		}
	})
}

// ran records what the run did, for the summary.
func (e *events) ran(sum *run.Summary, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sum, e.dur = sum, d
}

// eventLogs is the stream with --json-logs: also each line a step prints.
type eventLogs struct{ *events }

// Log implements run.LogReporter.
func (e eventLogs) Log(sp *graph.StepPlan, line string) {
	e.emit("log", func(h head) any { return logEvent{h, sp.Node.Name, jsonbytes.String(line)} })
}

// end closes the stream after apply returned err: an error as a
// diagnostic, a finish "skipped" for each step of the plan that never got
// one (the run stopped before it started), and the summary, always last.
// In --json mode apply's error is in the stream, so what it returns prints
// nothing more.
func (e *events) end(ctx context.Context, err error) error {
	var quiet exitError
	interrupted := ctx.Err() != nil || errors.Is(err, context.Canceled)
	if err != nil && !interrupted && !errors.As(err, &quiet) {
		e.diagnostic("error", "", err.Error())
	}
	e.mu.Lock()
	plan, sum, dur := e.plan, e.sum, e.dur
	var never []*graph.StepPlan
	if plan != nil && sum != nil {
		for _, sp := range plan.Steps {
			if sp.Status != graph.UpToDate && !e.finished[sp.Node.Name] {
				never = append(never, sp)
			}
		}
	}
	e.mu.Unlock()
	for _, sp := range never {
		e.Finished(sp, run.Report{Event: run.Skipped, Detail: "never started: the run stopped first"})
	}
	s := summaryEvent{Status: "complete", DurationMS: dur.Milliseconds()}
	if sum != nil {
		s.Ran, s.Restored, s.CutOff, s.UpToDate = sum.Ran, sum.Restored, sum.CutOff, sum.UpToDate
		s.Failed, s.Stopped, s.Skipped, s.Unstored = sum.Failed, sum.Stopped, sum.Skipped, sum.Unstored
		s.CacheHits, s.CacheMisses, s.RemoteHits = sum.Hits, sum.Misses, sum.RemoteHits
		s.Downloaded, s.Uploads, s.Uploaded, s.RemoteFailures = sum.Downloaded, sum.Uploads, sum.Uploaded, sum.RemoteFailures
	}
	switch {
	case interrupted:
		s.Status = "interrupted"
	case sum != nil && sum.Outcome() != "complete":
		s.Status = sum.Outcome()
	case err != nil:
		s.Status = "error"
	}
	e.emit("summary", func(h head) any { s.head = h; return s })
	if err != nil && !interrupted {
		return exitError(1)
	}
	return err
}

// applyJSON is apply --json: the same apply, its text sent nowhere (no
// prompt, no plan, no progress: nothing on stdout but events, nothing on
// stderr), and what the operator would read told in events instead.
func (a *app) applyJSON(ctx context.Context, args []string, o applyOpts, logs bool) error {
	ev := newEvents(a.stdout, logs)
	a.events = ev
	a.stdout, a.stderr = io.Discard, io.Discard
	return ev.end(ctx, a.apply(ctx, args, o))
}

// notify tells the operator of something that does not stop the command:
// line on stderr, or in --json mode a diagnostic event of severity sev
// ("info", "warning") saying msg, about step when it is not "".
func (a *app) notify(sev, step, msg, line string) {
	if a.events != nil {
		a.events.diagnostic(sev, step, msg)
		return
	}
	w := a.stderr
	if a.messages != nil {
		w = a.messages
	}
	fmt.Fprintln(w, line)
}
