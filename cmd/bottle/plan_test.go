package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/kinds"
)

// TestPrintPlanFolds: long runs of restores and pending steps are folded
// into a count after a few lines, steps to run much later; -v lists all.
func TestPrintPlanFolds(t *testing.T) {
	exec := kinds.Descriptions()["exec"]
	plan := func(counts map[graph.Status]int) *graph.Plan {
		p := &graph.Plan{}
		for _, s := range []graph.Status{graph.Run, graph.Restore, graph.Pending, graph.UpToDate} {
			for i := range counts[s] {
				p.Steps = append(p.Steps, &graph.StepPlan{Node: graph.NewNode(fmt.Sprintf("%s-%03d", s, i), exec, &config.Step{}), Status: s, Reason: "why"})
			}
		}
		return p
	}
	tests := []struct {
		name    string
		counts  map[graph.Status]int
		verbose bool
		lines   int
		want    []string
	}{
		{"400 restores", map[graph.Status]int{graph.Restore: 400}, false, maxPendingLines + 2,
			[]string{"restore-019", "  ↓ 380 more steps to restore (-v lists them)\n", "Plan: 0 to run, 400 to restore"}},
		{"a few of each", map[graph.Status]int{graph.Run: 3, graph.Restore: 3, graph.Pending: 3, graph.UpToDate: 3}, false, 9 + 2,
			[]string{"run-002", "restore-002", "pending-002", "  = 3 up-to-date steps (-v lists them)\n"}},
		{"many to run", map[graph.Status]int{graph.Run: 60, graph.Pending: 30}, false, maxActionLines + maxPendingLines + 3,
			[]string{"run-049", "  ~ 10 more steps to run (-v lists them)\n", "  … 10 more pending steps (-v lists them)\n"}},
		{"-v lists every step", map[graph.Status]int{graph.Restore: 400, graph.UpToDate: 2}, true, 402 + 1,
			[]string{"restore-399", "up-to-date-001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w strings.Builder
			a := &app{verbose: tt.verbose, stdout: &w}
			a.printPlan(&w, plan(tt.counts))
			got := w.String()
			if n := strings.Count(got, "\n"); n != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, got)
			}
			for _, s := range tt.want {
				if !strings.Contains(got, s) {
					t.Errorf("plan lacks %q:\n%s", s, got)
				}
			}
		})
	}
}
