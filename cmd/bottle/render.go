package main

// How bottle looks on a terminal: the marks of plan statuses and run
// events, colour, and durations. Only this package formats for people.

import (
	"fmt"
	"strings"
	"time"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/run"
)

type mark struct{ sym, color string }

// marks is every status of a plan and every event of a run, with its
// symbol and ANSI colour.
var marks = map[string]mark{
	string(graph.Run):      {"~", "33"},
	string(graph.Replace):  {"±", "31"},
	string(graph.Restore):  {"↓", "36"},
	string(graph.Pending):  {"…", "2"},
	string(graph.UpToDate): {"=", "2"},
	"new":                  {"+", "33"},
	"started":              {"▸", "2"},
	string(run.Ran):        {"✓", "32"},
	string(run.Restored):   {"↓", "36"},
	string(run.CutOff):     {"=", "2"},
	string(run.Failed):     {"✗", "31"},
	string(run.Stopped):    {"■", "33"},
	string(run.Skipped):    {"-", "2"},
}

// paint colours s with an ANSI code when on.
func paint(on bool, code, s string) string {
	if !on || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// round shows a duration to a precision that suits its size.
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

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// summaryLine is the end-of-apply line.
func summaryLine(s *run.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d ran, %d restored, %d cut off early, %d failed", s.Ran, s.Restored, s.CutOff, s.Failed)
	if s.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", s.Skipped)
	}
	if s.Stopped > 0 {
		fmt.Fprintf(&b, ", %d stopped", s.Stopped)
	}
	if s.UpToDate > 0 {
		fmt.Fprintf(&b, ", %d up to date", s.UpToDate)
	}
	fmt.Fprintf(&b, "; cache: %d %s, %d %s", s.Hits, plural(s.Hits, "hit", "hits"), s.Misses, plural(s.Misses, "miss", "misses"))
	if s.RemoteHits > 0 || s.Uploads > 0 || s.RemoteFailures > 0 {
		fmt.Fprintf(&b, "; remote: %d %s (%s down), %d %s (%s up)",
			s.RemoteHits, plural(s.RemoteHits, "hit", "hits"), humanBytes(s.Downloaded),
			s.Uploads, plural(s.Uploads, "upload", "uploads"), humanBytes(s.Uploaded))
		if s.RemoteFailures > 0 {
			fmt.Fprintf(&b, ", %d %s", s.RemoteFailures, plural(s.RemoteFailures, "failure", "failures"))
		}
	}
	if s.Unstored > 0 {
		fmt.Fprintf(&b, "; %d %s not stored (inputs changed while running)", s.Unstored, plural(s.Unstored, "result", "results"))
	}
	return b.String() + "."
}
