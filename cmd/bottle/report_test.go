package main

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/run"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// span is a step that ended: started at from, ran for dur (milliseconds).
func span(name string, from, dur int, needs ...string) *reportStep {
	return &reportStep{name: name, kind: "exec", needs: needs, done: true,
		started: t0.Add(time.Duration(from) * time.Millisecond),
		ended:   t0.Add(time.Duration(from+dur) * time.Millisecond),
		rep:     run.Report{Event: run.Ran}}
}

func TestCriticalPath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []string
		steps []*reportStep
		want  []string
		total time.Duration
	}{
		{"none", []string{"a"}, nil, nil, 0},
		{"one", []string{"a"}, []*reportStep{span("a", 0, 10)}, []string{"a"}, 10 * time.Millisecond},
		{"the longer chain, not the longest step",
			[]string{"gen", "build", "lint", "big"},
			[]*reportStep{span("gen", 0, 300), span("build", 300, 500, "gen"), span("lint", 0, 10), span("big", 0, 700)},
			[]string{"gen", "build"}, 800 * time.Millisecond},
		{"a need that was up to date is skipped over",
			[]string{"gen", "build", "pack"},
			[]*reportStep{span("build", 0, 100, "gen"), span("pack", 100, 50, "build")},
			[]string{"build", "pack"}, 150 * time.Millisecond},
		{"the slower of two needs",
			[]string{"a", "b", "c"},
			[]*reportStep{span("a", 0, 100), span("b", 0, 200), span("c", 200, 10, "a", "b")},
			[]string{"b", "c"}, 210 * time.Millisecond},
		{"a tie goes to the first in order",
			[]string{"a", "b"},
			[]*reportStep{span("a", 0, 100), span("b", 0, 100)},
			[]string{"a"}, 100 * time.Millisecond},
	} {
		m := map[string]*reportStep{}
		for _, s := range tc.steps {
			m[s.name] = s
		}
		got, total := criticalPath(tc.order, m)
		if !reflect.DeepEqual(got, tc.want) || total != tc.total {
			t.Errorf("%s: %q %v, want %q %v", tc.name, got, total, tc.want, tc.total)
		}
	}
}

// TestReportPageSelfContainedAndEscaped: the page loads nothing from
// anywhere and shows user data (step names, log lines) as text.
func TestReportPageSelfContainedAndEscaped(t *testing.T) {
	evil := `x"><script>alert(1)</script>`
	h := &htmlReport{now: func() time.Time { return t0.Add(2 * time.Second) }, start: t0, steps: map[string]*reportStep{}}
	s := span(evil, 0, 1500)
	s.rep = run.Report{Event: run.Failed, Detail: "exit status 1 <b>", LogPath: ".bottle/logs/x.log"}
	h.steps[evil], h.order, h.names = s, []*reportStep{s}, []string{evil}
	sum := &run.Summary{Failed: 1, Misses: 1, Failures: []*run.Failure{{Step: evil, Tail: []string{"</pre><img src=x onerror=alert(1)>"}}}}
	page := h.page(sum, "/ws", "/ws/out", h.now())
	var b strings.Builder
	if err := reportTemplate().Execute(&b, page); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"<script>alert", "<img", "<b>", `src="`, "<link", "@import", "url(", "https:"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	// The one namespace URI is a name, not a load.
	for _, m := range regexp.MustCompile(`https?://[^"\s]*`).FindAllString(html, -1) {
		if m != "http://www.w3.org/2000/svg" {
			t.Errorf("the page names %s", m)
		}
	}
	for _, want := range []string{
		`<a class="log" href="../.bottle/logs/x.log">`,
		`&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;`,
		`<span class="outcome-failed" id="outcome">failed</span>`,
		`<span id="critical-total">1.5s</span>`,
		`"wall_ms":2000`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if got := page.Data.Steps; len(got) != 1 || got[0].Name != evil || got[0].DurMS != 1500 || !got[0].Critical {
		t.Errorf("timeline data %+v", got)
	}
}
