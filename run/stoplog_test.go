package run

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// chattyRunner writes to the log, ending without a newline, then fails
// (run "fail") or waits for its context (anything else).
type chattyRunner struct{}

func (chattyRunner) Run(ctx context.Context, job *kinds.Job) (*kinds.Outcome, error) {
	fmt.Fprint(job.Log, "working\npartial")
	if job.Spec.(*kinds.ExecSpec).Run == "fail" {
		return nil, &kinds.ExitError{Code: 2}
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// stopReporter records each step's report and, on the first start of
// step cancelAt, cancels the run (a Ctrl-C while it runs).
type stopReporter struct {
	cancelAt string
	cancel   context.CancelFunc
	reports  map[string]Report
}

func (r *stopReporter) Started(sp *graph.StepPlan) {
	if sp.Node.Name == r.cancelAt {
		r.cancel()
	}
}
func (r *stopReporter) Finished(sp *graph.StepPlan, rep Report) { r.reports[sp.Node.Name] = rep }

// TestStoppedLogSaysWhy: the log of a step bottle stopped ends with a line
// of its own saying so and why; without it the log ends wherever the step
// was, and reads like a step that finished.
func TestStoppedLogSaysWhy(t *testing.T) {
	tests := []struct {
		name, config, step, cancelAt string
		jobs                         int
		event                        Event
		want                         string // the log's last line
	}{
		{"interrupted", "[steps.slow]\nkind = \"exec\"\nrun = \"slow\"\n", "slow", "slow", 1, Stopped,
			`bottle: stopped \(interrupted\) after \d+(\.\d)?m?s`},
		{"fail-fast", "[steps.slow]\nkind = \"exec\"\nrun = \"slow\"\n[steps.zbad]\nkind = \"exec\"\nneeds = []\nrun = \"fail\"\n", "slow", "", 2, Stopped,
			`bottle: stopped \(another step failed\) after \d+(\.\d)?m?s`},
		{"timeout", "[steps.hang]\nkind = \"exec\"\nrun = \"slow\"\ntimeout = \"50ms\"\n", "hang", "", 1, Failed,
			`bottle: stopped \(timeout 50ms\) after \d+(\.\d)?m?s`},
		{"failed", "[steps.bad]\nkind = \"exec\"\nrun = \"fail\"\n", "bad", "", 1, Failed,
			`partial`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, p := setup(t, tt.config, &fakeRunner{}, Options{Jobs: tt.jobs})
			a.Kind = func(string) kinds.Kind { return fakeExec{kinds.Get("exec"), chattyRunner{}} }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rep := &stopReporter{cancelAt: tt.cancelAt, cancel: cancel, reports: map[string]Report{}}
			a.Reporter = rep
			a.Apply(ctx, p)
			r := rep.reports[tt.step]
			if r.Event != tt.event {
				t.Fatalf("%s: %s (%s), want %s", tt.step, r.Event, r.Detail, tt.event)
			}
			b, err := os.ReadFile(workspace.LogPath(a.root(), tt.step))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if lines[0] != "working" {
				t.Errorf("log starts %q, want the step's own output first", lines[0])
			}
			last := lines[len(lines)-1]
			if !regexp.MustCompile(`^` + tt.want + `$`).MatchString(last) {
				t.Errorf("last line of the log: %q, want %s\nlog:\n%s", last, tt.want, b)
			}
			if tt.event == Stopped && r.Detail == "" {
				t.Errorf("the report of a stopped step says not why")
			}
		})
	}
}
