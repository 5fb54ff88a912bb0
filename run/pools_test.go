package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/kinds"
)

// poolCfg has nHeavy steps in a pool of one and one step outside it.
func poolCfg(nHeavy int, run string) string {
	var b strings.Builder
	b.WriteString("[settings]\npools = { heavy = 1 }\n")
	for i := 0; i < nHeavy; i++ {
		fmt.Fprintf(&b, "[steps.h%d]\nkind = \"exec\"\npool = \"heavy\"\nrun = \"%s %d\"\noutputs = [\"h%d\"]\n", i, run, i, i)
	}
	b.WriteString("[steps.free]\nkind = \"exec\"\nrun = \"write free\"\noutputs = [\"free\"]\n")
	return b.String()
}

// TestPoolLimit holds every step inside its runner: with -j 4, a pool of
// one and three steps in it, the first two steps held at once are one of
// the pool and the one outside it (the pool does not stop the others), and
// the applier's start and end reports never show two of the pool at once.
func TestPoolLimit(t *testing.T) {
	const nHeavy = 3
	fr := &fakeRunner{}
	a, p := setup(t, poolCfg(nHeavy, "write"), fr, Options{Jobs: 4})
	gate := &gateRunner{next: fr, started: make(chan string, nHeavy+1), release: make(chan struct{}, nHeavy+1)}
	a.Kind = func(string) kinds.Kind { return fakeExec{kinds.Get("exec"), gate} }
	var events syncBuffer
	a.Reporter = lineReporter{&events}

	type result struct {
		sum *Summary
		err error
	}
	applied := make(chan result, 1)
	go func() {
		sum, err := a.Apply(context.Background(), p)
		applied <- result{sum, err}
	}()
	// The timeout only turns a hang (the free step kept waiting) into a
	// failure.
	first := map[string]bool{}
	for len(first) < 2 {
		select {
		case name := <-gate.started:
			first[name] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("only %v started: want one step of the pool and free held at once", first)
		}
	}
	if !first["free"] {
		t.Errorf("held at once: %v, want free and one of the pool", first)
	}
	for i := 0; i < nHeavy+1; i++ {
		gate.release <- struct{}{}
	}
	res := <-applied
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.sum.Ran != nHeavy+1 {
		t.Errorf("ran %d, want %d", res.sum.Ran, nHeavy+1)
	}
	// Replay the applier's reports: in flight = started and not yet ended.
	inPool, peak := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] == "free" {
			continue
		}
		switch f[2] {
		case "started":
			inPool++
			peak = max(peak, inPool)
		case "ran":
			inPool--
		default:
			t.Errorf("unexpected report %q", line)
		}
	}
	if peak != 1 {
		t.Errorf("peak of %d steps of the pool at once, want 1:\n%s", peak, events.String())
	}
}

// TestPoolFailFast: a failure stops the run; the steps waiting for the
// pool are skipped, not started.
func TestPoolFailFast(t *testing.T) {
	fr := &fakeRunner{}
	a, p := setup(t, poolCfg(3, "fail"), fr, Options{Jobs: 4})
	sum, err := a.Apply(context.Background(), p)
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want ErrFailed", err)
	}
	// free may have run or been skipped; of the pool, one failed and the
	// two behind it never started.
	var heavyRan int
	for _, name := range fr.ran {
		if strings.HasPrefix(name, "h") {
			heavyRan++
		}
	}
	if sum.Failed != 1 || heavyRan != 1 || sum.Skipped+sum.Ran != 3 {
		t.Errorf("failed %d, skipped %d, ran %d; pool steps started: %d, want 1 failed and 2 skipped", sum.Failed, sum.Skipped, sum.Ran, heavyRan)
	}
}

// TestPoolInterrupt: an interrupt stops the step of the pool that runs,
// and those waiting for the pool never start.
func TestPoolInterrupt(t *testing.T) {
	fr := &fakeRunner{}
	a, p := setup(t, strings.Replace(poolCfg(3, "slow"), "write free", "slow free", 1), fr, Options{Jobs: 4})
	gate := &gateRunner{next: fr, started: make(chan string, 4), release: make(chan struct{})}
	a.Kind = func(string) kinds.Kind { return fakeExec{kinds.Get("exec"), gate} }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		sum *Summary
		err error
	}
	applied := make(chan result, 1)
	go func() {
		sum, err := a.Apply(ctx, p)
		applied <- result{sum, err}
	}()
	for i := 0; i < 2; i++ {
		select {
		case <-gate.started:
		case <-time.After(10 * time.Second):
			t.Fatal("want one step of the pool and free started")
		}
	}
	cancel()
	res := <-applied
	if !errors.Is(res.err, context.Canceled) || !res.sum.Interrupted {
		t.Fatalf("err = %v, interrupted %v; want an interrupt", res.err, res.sum.Interrupted)
	}
	if res.sum.Stopped != 2 || res.sum.Skipped != 2 || len(fr.ran) != 2 {
		t.Errorf("stopped %d, skipped %d, started %v: want 2 stopped (free and one of the pool), 2 skipped", res.sum.Stopped, res.sum.Skipped, fr.ran)
	}
}
