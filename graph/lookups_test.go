package graph

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/kinds"
)

// remoteStub answers like a remote cache that holds a result for every
// key: a summary, never the files. met is closed once two look-ups are in
// flight at the same time.
type remoteStub struct {
	mu       sync.Mutex
	inFlight int
	met      chan struct{}
	once     sync.Once
	wait     bool
}

func (r *remoteStub) PeekResult(k cache.Key) (*cache.Result, error) {
	r.mu.Lock()
	r.inFlight++
	if r.inFlight >= 2 {
		r.once.Do(func() { close(r.met) })
	}
	r.mu.Unlock()
	if r.wait {
		select {
		case <-r.met:
		case <-time.After(10 * time.Second):
		}
	}
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	return &cache.Result{Key: k, Kind: "exec", Values: map[string]string{"outputs": ""},
		Remote: &cache.RemoteInfo{Digest: cache.Digest(k), Size: 100}}, nil
}

// Independent steps are looked up at once when Lookups > 1, and the plan is
// the same as one made a step at a time: statuses, keys, order.
func TestLookupsOverlapAndAgree(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": `
[steps.a]
kind = "exec"
run = "echo a"
[steps.b]
kind = "exec"
run = "echo b"
[steps.c]
kind = "exec"
run = "echo c"
[steps.all]
kind = "exec"
needs = ["a", "b", "c"]
run = "echo all"
[steps.last]
kind = "exec"
needs = ["all"]
run = "echo last"
`})
	type row struct {
		Name   string
		Status Status
		Key    cache.Key
		Size   int64
	}
	planWith := func(lookups int, rs *remoteStub) []row {
		t.Helper()
		pl, err := newPlanner(t, LoadOptions{Root: root, Kinds: kinds.Descriptions()}, rs)
		if err != nil {
			t.Fatal(err)
		}
		pl.Lookups = lookups
		p, err := pl.Plan(nil)
		if err != nil {
			t.Fatal(err)
		}
		var rows []row
		for _, sp := range p.Steps {
			rows = append(rows, row{sp.Node.Name, sp.Status, sp.Key, sp.Cached.Size()})
		}
		return rows
	}
	one := planWith(1, &remoteStub{met: make(chan struct{})})
	overlapping := &remoteStub{met: make(chan struct{}), wait: true}
	many := planWith(8, overlapping)
	if !reflect.DeepEqual(one, many) {
		t.Errorf("plans differ:\n one at a time %v\n overlapping   %v", one, many)
	}
	select {
	case <-overlapping.met:
	default:
		t.Error("no two look-ups were in flight at once")
	}
	for _, r := range many {
		if r.Status != Restore || r.Size != 100 {
			t.Errorf("%s: %s, size %d; want restore of the remote's 100 bytes", r.Name, r.Status, r.Size)
		}
	}
	// Downstream keys come from the remote's digests: "last" was decided
	// without any file of "all".
	if many[len(many)-1].Name != "last" {
		t.Errorf("order changed: %v", many)
	}
}

// A plan of many steps makes their keys on all cores, a level at a time;
// it is the plan made one step at a time (as BOTTLE_DEBUG=hash does).
func TestManyStepsDecideAlike(t *testing.T) {
	files := map[string]string{}
	var toml strings.Builder
	for i := 0; i < parallelDecide+50; i++ {
		fmt.Fprintf(&toml, "[steps.s%03d]\nkind = \"exec\"\nrun = \"echo %d > out/s%03d\"\noutputs = [\"out/s%03d\"]\n", i, i, i, i)
		switch {
		case i%3 == 0:
			fmt.Fprintf(&toml, "inputs = [\"src/f%03d\"]\n", i)
			files[fmt.Sprintf("src/f%03d", i)] = fmt.Sprint(i)
		case i > 10:
			fmt.Fprintf(&toml, "inputs = [\"out/s%03d\"]\n", i-10) // a need through a file
		}
	}
	files["bottle.toml"] = toml.String()
	root := writeTree(t, files)
	plan := func(debug io.Writer, rs *remoteStub) []string {
		t.Helper()
		pl, err := newPlanner(t, LoadOptions{Root: root, Kinds: kinds.Descriptions()}, rs)
		if err != nil {
			t.Fatal(err)
		}
		pl.Debug = debug
		p, err := pl.Plan(nil)
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, sp := range p.Steps {
			rows = append(rows, fmt.Sprintf("%s %s %s %s", sp.Node.Name, sp.Status, sp.Key, sp.Reason))
		}
		return rows
	}
	var lines strings.Builder
	// The cache answers every key, and shows whether two steps were
	// decided at once: a local plan has Lookups 1, so only the parallel
	// path can make them meet.
	one := plan(&lines, &remoteStub{met: make(chan struct{})})
	overlapping := &remoteStub{met: make(chan struct{}), wait: true}
	many := plan(nil, overlapping)
	select {
	case <-overlapping.met:
	default:
		t.Error("no two steps were decided at once")
	}
	if !reflect.DeepEqual(one, many) {
		t.Errorf("plans differ:\n one at a time %q\n on all cores  %q", one, many)
	}
	if len(many) != parallelDecide+50 || !strings.Contains(lines.String(), "HASH step s297 key ") {
		t.Errorf("%d steps planned; key lines %.300s", len(many), lines.String())
	}
}
