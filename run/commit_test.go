package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
)

// logStore is the cache with every commit written to a log the reporter
// shares: "- commit a b" before the group is stored, "- committed a b"
// after. fail, when set, fails every commit without storing anything.
type logStore struct {
	*cache.Disk
	w    *syncBuffer
	fail error
}

func (s *logStore) CommitResults(rs []*cache.Result) []error {
	var names []string
	for _, r := range rs {
		names = append(names, r.Step)
	}
	fmt.Fprintf(s.w, "- commit %s\n", strings.Join(names, " "))
	errs := make([]error, len(rs))
	if s.fail != nil {
		for i := range errs {
			errs[i] = s.fail
		}
	} else {
		errs = s.Disk.CommitResults(rs)
	}
	fmt.Fprintf(s.w, "- committed %s\n", strings.Join(names, " "))
	return errs
}

const chainCfg = `
[steps.gen]
kind = "exec"
run = "write gen"
outputs = ["gen.out"]

[steps.use]
kind = "exec"
inputs = ["gen.out"]
run = "write use"
outputs = ["use.out"]

[steps.last]
kind = "exec"
inputs = ["use.out"]
run = "write last"
outputs = ["last.out"]

[steps.free]
kind = "exec"
run = "write free"
outputs = ["free.out"]
`

// logIndex returns the log's lines, and where each "- STEP EVENT" or
// "- commit[ted] STEPS" line is, by step and word.
func logIndex(log string) (lines []string, at func(step, word string) int) {
	lines = strings.Split(strings.TrimSpace(log), "\n")
	return lines, func(step, word string) int {
		for i, l := range lines {
			f := strings.Fields(l)
			if len(f) < 3 {
				continue
			}
			switch {
			case f[1] == word && (word == "commit" || word == "committed") && containsStr(f[2:], step):
				return i
			case f[1] == step && f[2] == word:
				return i
			}
		}
		return -1
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestResultCommittedBeforeUse: a step that ran is reported done only
// after the commit that stored its result has returned, and a step that
// needs it starts only after that too; every result is in the cache when
// apply returns.
func TestResultCommittedBeforeUse(t *testing.T) {
	fr := &fakeRunner{}
	a, p := setup(t, chainCfg, fr, Options{Jobs: 2})
	var log syncBuffer
	store := &logStore{Disk: a.Store.(*cache.Disk), w: &log}
	a.Store = store
	a.Reporter = lineReporter{&log}
	sum, err := a.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ran != 4 {
		t.Fatalf("ran %d, want 4", sum.Ran)
	}
	lines, at := logIndex(log.String())
	for _, step := range []string{"gen", "use", "last", "free"} {
		committed, ran := at(step, "committed"), at(step, "ran")
		if committed < 0 || ran < committed {
			t.Errorf("%s reported ran (line %d) before its commit returned (line %d):\n%s", step, ran, committed, strings.Join(lines, "\n"))
		}
	}
	for _, c := range [][2]string{{"gen", "use"}, {"use", "last"}} {
		if committed, started := at(c[0], "committed"), at(c[1], "started"); started < committed {
			t.Errorf("%s started (line %d) before %s's result was committed (line %d):\n%s", c[1], started, c[0], committed, strings.Join(lines, "\n"))
		}
	}
	for _, name := range []string{"gen", "use", "last", "free"} {
		st := a.State.Steps[name]
		if st == nil {
			t.Errorf("state does not record %s", name)
			continue
		}
		if _, err := store.PeekResult(st.Key); err != nil {
			t.Errorf("state records %s, whose result is not in the cache: %v", name, err)
		}
	}
}

// TestCommitFailureFailsStep: when storing a group fails (the sync), its
// steps fail with that error, are not recorded in the state, and what
// needs them does not run.
func TestCommitFailureFailsStep(t *testing.T) {
	fr := &fakeRunner{}
	a, p := setup(t, chainCfg, fr, Options{Jobs: 1, KeepGoing: true})
	var log syncBuffer
	broken := errors.New("syncing the cache: disk on fire")
	a.Store = &logStore{Disk: a.Store.(*cache.Disk), w: &log, fail: broken}
	a.Reporter = lineReporter{&log}
	sum, err := a.Apply(context.Background(), p)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	if sum.Ran != 0 || sum.Failed != 2 || sum.Skipped != 2 {
		t.Errorf("ran %d failed %d skipped %d, want 0, 2 (gen, free), 2 (use, last)", sum.Ran, sum.Failed, sum.Skipped)
	}
	for _, f := range sum.Failures {
		if !errors.Is(f.Err, broken) || !strings.Contains(f.Err.Error(), "storing result") {
			t.Errorf("%s failed with %v, want the commit's error", f.Step, f.Err)
		}
	}
	for _, s := range fr.ran {
		if s == "use" || s == "last" {
			t.Errorf("%s ran, though what it needs was never stored", s)
		}
	}
	if len(a.State.Steps) != 0 {
		t.Errorf("state records %d steps whose results were not stored", len(a.State.Steps))
	}
}
