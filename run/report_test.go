package run

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/graph"
)

func TestLineWriter(t *testing.T) {
	long := strings.Repeat("x", maxReportedLine+10)
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"lines", []string{"a\nb\n"}, []string{"a", "b"}},
		{"split across writes", []string{"he", "llo\nwor", "ld\n"}, []string{"hello", "world"}},
		{"crlf", []string{"a\r\nb\r\n"}, []string{"a", "b"}},
		{"last line without newline", []string{"a\nrest"}, []string{"a", "rest"}},
		{"empty lines", []string{"\n\n"}, []string{"", ""}},
		{"long line cut", []string{long[:100], long[100:] + "\nnext\n"}, []string{long[:maxReportedLine], "next"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			w := &lineWriter{emit: func(l string) { got = append(got, l) }}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.flush()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

type recorder struct {
	events []string
	log    bool
}

func (r *recorder) Started(sp *graph.StepPlan) { r.events = append(r.events, "start "+sp.Node.Name) }
func (r *recorder) Finished(sp *graph.StepPlan, rep Report) {
	r.events = append(r.events, "finish "+sp.Node.Name+" "+string(rep.Event))
}

type logRecorder struct{ recorder }

func (r *logRecorder) Log(sp *graph.StepPlan, line string) {
	r.events = append(r.events, "log "+sp.Node.Name+" "+line)
}

// Tee tells every reporter everything, and log lines only to those that
// take them.
func TestTee(t *testing.T) {
	plain, logs := &recorder{}, &logRecorder{}
	tr := Tee(plain, logs)
	sp := &graph.StepPlan{Node: graph.NewNode("a", nil, nil)}
	tr.Started(sp)
	tr.(LogReporter).Log(sp, "hello")
	tr.Finished(sp, Report{Event: Ran})
	if want := []string{"start a", "finish a ran"}; !reflect.DeepEqual(plain.events, want) {
		t.Errorf("plain got %q, want %q", plain.events, want)
	}
	if want := []string{"start a", "log a hello", "finish a ran"}; !reflect.DeepEqual(logs.events, want) {
		t.Errorf("log reporter got %q, want %q", logs.events, want)
	}
	// Without a reporter that takes lines, nobody asks for them: the run
	// then does not split logs into lines at all.
	if _, ok := Tee(&recorder{}, &recorder{}).(LogReporter); ok {
		t.Error("a tee of reporters that take no log lines is a LogReporter")
	}
}

func TestSummaryOutcome(t *testing.T) {
	tests := []struct {
		sum  Summary
		want string
	}{
		{Summary{Ran: 3}, "complete"},
		{Summary{Ran: 2, Failed: 1}, "failed"},
		{Summary{Failed: 1, Interrupted: true}, "interrupted"},
		{Summary{Interrupted: true}, "interrupted"},
	}
	for _, tt := range tests {
		if got := tt.sum.Outcome(); got != tt.want {
			t.Errorf("%+v: Outcome() = %q, want %q", tt.sum, got, tt.want)
		}
	}
}
