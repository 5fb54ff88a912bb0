package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/internal/jsonbytes"
)

// eventsConfig makes an apply whose steps end every way: cached is
// restored, fresh runs (printing a line that is not UTF-8), hang is
// stopped when bad fails (bad waits for hang to start, and needs the
// other two so they are done first), after is never started.
const eventsConfig = `
[steps.cached]
kind = "exec"
run = "echo cached > cached.txt"
outputs = ["cached.txt"]

[steps.fresh]
kind = "exec"
run = "echo fresh output; printf 'byte \\377 here\\n'; echo fresh > fresh.txt"
outputs = ["fresh.txt"]

[steps.hang]
kind = "exec"
run = "echo waiting; touch hang.started; sleep 30"

[steps.bad]
kind = "exec"
needs = ["cached", "fresh"]
run = "while [ ! -e hang.started ]; do sleep 0.02; done; echo broken; exit 3"

[steps.after]
kind = "exec"
needs = ["bad"]
run = "true"
`

// event is any event of the stream, with every field a test looks at.
type event struct {
	V          *int             `json:"v"`
	Event      string           `json:"event"`
	Time       string           `json:"time"`
	Step       string           `json:"step"`
	Status     string           `json:"status"`
	Detail     string           `json:"detail"`
	DurationMS *int64           `json:"duration_ms"`
	Source     string           `json:"source"`
	Result     string           `json:"result"`
	Log        jsonbytes.String `json:"log"`
	Line       jsonbytes.String `json:"line"`
	Severity   string           `json:"severity"`
	Message    string           `json:"message"`
	Plan       *struct {
		FormatVersion int `json:"format_version"`
		Steps         []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"steps"`
	} `json:"plan"`
	Ran, Restored, Failed, Stopped, Skipped *int
}

// TestEventStream applies a real workspace with --json --json-logs and
// reads the whole stream: every line one event with v, event and time,
// step where it belongs; plan first, summary last; each step that is not
// up to date finishes exactly once, after its start and its log lines.
func TestEventStream(t *testing.T) {
	bin := filepath.Join(buildBottle(t), "bottle")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bottle.toml"), []byte(eventsConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	bottle := func(args ...string) (stdout, stderr []byte, err error) {
		cmd := exec.Command(bin, append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "BOTTLE_CACHE_DIR="+dir+"-cache", "XDG_CONFIG_HOME="+dir)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.Bytes(), e.Bytes(), err
	}
	// cached's result goes into the cache, then its output is removed.
	if out, errOut, err := bottle("apply", "--yes", "cached"); err != nil {
		t.Fatalf("first apply: %v\n%s%s", err, out, errOut)
	}
	if err := os.Remove(filepath.Join(dir, "cached.txt")); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := bottle("apply", "--json", "--json-logs", "--yes", "-j", "4")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("apply --json: %v, want exit status 1 (bad fails)\n%s", err, out)
	}
	if len(errOut) > 0 {
		t.Errorf("apply --json wrote to stderr:\n%s", errOut)
	}

	var evs []event
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	var last time.Time
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", len(evs)+1, err, sc.Bytes())
		}
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d: %v\n%s", len(evs)+1, err, sc.Bytes())
		}
		if ev.V == nil || *ev.V != 1 {
			t.Errorf("line %d: v is not 1: %s", len(evs)+1, sc.Bytes())
		}
		tm, err := time.Parse(time.RFC3339, ev.Time)
		if err != nil {
			t.Errorf("line %d: time %q is not RFC 3339: %v", len(evs)+1, ev.Time, err)
		}
		if tm.Before(last) {
			t.Errorf("line %d: time %s goes back from %s", len(evs)+1, tm, last)
		}
		last = tm
		_, hasStep := raw["step"]
		switch ev.Event {
		case "start", "log", "finish":
			if ev.Step == "" {
				t.Errorf("line %d: %s event without a step: %s", len(evs)+1, ev.Event, sc.Bytes())
			}
		case "plan", "summary":
			if hasStep {
				t.Errorf("line %d: %s event with a step: %s", len(evs)+1, ev.Event, sc.Bytes())
			}
		case "diagnostic":
			if ev.Severity == "" || ev.Message == "" {
				t.Errorf("line %d: diagnostic without severity or message: %s", len(evs)+1, sc.Bytes())
			}
		default:
			t.Errorf("line %d: unknown event %q", len(evs)+1, ev.Event)
		}
		if ev.Event == "finish" && ev.DurationMS == nil {
			t.Errorf("line %d: finish without duration_ms: %s", len(evs)+1, sc.Bytes())
		}
		evs = append(evs, ev)
	}
	if len(evs) < 2 || evs[0].Event != "plan" || evs[len(evs)-1].Event != "summary" {
		t.Fatalf("the stream must open with plan and end with summary:\n%s", out)
	}
	if evs[0].Plan == nil || evs[0].Plan.FormatVersion == 0 || len(evs[0].Plan.Steps) != 5 {
		t.Errorf("the plan event does not hold the plan as plan --json prints it:\n%s", out)
	}

	// Per step: start, then logs, then one finish.
	phase := map[string]string{} // "", started, finished
	finish := map[string]event{}
	var logs = map[string][]string{}
	for _, ev := range evs {
		switch ev.Event {
		case "start":
			if phase[ev.Step] != "" {
				t.Errorf("%s started twice or after it finished", ev.Step)
			}
			phase[ev.Step] = "started"
		case "log":
			if phase[ev.Step] != "started" {
				t.Errorf("a log line of %s outside its start and finish: %q", ev.Step, ev.Line)
			}
			logs[ev.Step] = append(logs[ev.Step], string(ev.Line))
		case "finish":
			if phase[ev.Step] == "finished" {
				t.Errorf("%s finished twice", ev.Step)
			}
			phase[ev.Step] = "finished"
			finish[ev.Step] = ev
		}
	}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	want := []struct {
		step, status, detail, source, log string
		result, started                   bool
	}{
		{"cached", "restored", "", "local", "", true, true},
		{"fresh", "ran", "", "", ".bottle/logs/fresh.log", true, true},
		{"bad", "failed", "exit status 3", "", ".bottle/logs/bad.log", false, true},
		{"hang", "stopped", "another step failed", "", ".bottle/logs/hang.log", false, true},
		{"after", "skipped", "", "", "", false, false},
	}
	for _, w := range want {
		f, ok := finish[w.step]
		if !ok {
			t.Errorf("no finish event for %s", w.step)
			continue
		}
		if f.Status != w.status || !strings.Contains(f.Detail, w.detail) || f.Source != w.source || string(f.Log) != w.log {
			t.Errorf("%s finished %+v, want status %s, detail with %q, source %q, log %q", w.step, f, w.status, w.detail, w.source, w.log)
		}
		if hex64.MatchString(f.Result) != w.result {
			t.Errorf("%s: result %q, want a digest: %v", w.step, f.Result, w.result)
		}
		if started := phase[w.step] == "finished" && hasStart(evs, w.step); started != w.started {
			t.Errorf("%s: started %v, want %v", w.step, started, w.started)
		}
	}
	if got := strings.Join(logs["fresh"], "|"); got != "fresh output|byte \xff here" {
		t.Errorf("fresh's log events: %q, want its two lines, bytes intact", got)
	}
	if got := strings.Join(logs["bad"], "|"); got != "broken" {
		t.Errorf("bad's log events: %q", got)
	}
	s := evs[len(evs)-1]
	if s.Status != "failed" || *s.Ran != 1 || *s.Restored != 1 || *s.Failed != 1 || *s.Stopped != 1 || *s.Skipped != 1 {
		t.Errorf("summary %s: want failed, 1 ran, 1 restored, 1 failed, 1 stopped, 1 skipped", out[bytes.LastIndexByte(out[:len(out)-1], '\n')+1:])
	}
	// The stopped step's log says so.
	b, _ := os.ReadFile(filepath.Join(dir, ".bottle", "logs", "hang.log"))
	if !regexp.MustCompile(`(?m)^bottle: stopped \(another step failed\) after .*\n\z`).Match(b) {
		t.Errorf("hang's log does not end saying it was stopped:\n%s", b)
	}
}

func hasStart(evs []event, step string) bool {
	for _, ev := range evs {
		if ev.Event == "start" && ev.Step == step {
			return true
		}
	}
	return false
}
