package run

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
)

// diskRemote is a remote cache made of a second local cache: enough to
// test what the executor does with one (the registry format has tests of
// its own, in cache/remote).
type diskRemote struct {
	far   *cache.Disk
	local *cache.Disk
	mu    sync.Mutex
	fail  error // every call fails with it
	puts  int
}

func copyResult(from, to *cache.Disk, k cache.Key) (int64, error) {
	res, err := from.PeekResult(k)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, d := range res.Blobs() {
		if to.HasBlob(d) {
			continue
		}
		b, err := from.ReadBlob(d)
		if err != nil {
			return 0, err
		}
		p := filepath.Join(os.TempDir(), "bottle-remote-test-"+d.String())
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return 0, err
		}
		_, size, err := to.PutFile(p)
		os.Remove(p)
		if err != nil {
			return 0, err
		}
		n += size
	}
	return n, to.PutResult(res)
}

func (r *diskRemote) Fetch(ctx context.Context, k cache.Key) (int64, error) {
	if r.fail != nil {
		return 0, r.fail
	}
	return copyResult(r.far, r.local, k)
}

func (r *diskRemote) Upload(ctx context.Context, res *cache.Result) (bool, int64, error) {
	if r.fail != nil {
		return false, 0, r.fail
	}
	if _, err := r.far.PeekResult(res.Key); err == nil {
		return false, 0, nil
	}
	r.mu.Lock()
	r.puts++
	r.mu.Unlock()
	n, err := copyResult(r.local, r.far, res.Key)
	return err == nil, n, err
}

// PeekResult is the plan's look-up: the local cache, then a summary of the
// remote's result.
type layered struct {
	local *cache.Disk
	far   *cache.Disk
}

func (l layered) PeekResult(k cache.Key) (*cache.Result, error) {
	if res, err := l.local.PeekResult(k); err == nil {
		return res, nil
	}
	res, err := l.far.PeekResult(k)
	if err != nil {
		return nil, err
	}
	return &cache.Result{Key: k, Step: res.Step, Kind: res.Kind, Values: res.Values,
		Remote: &cache.RemoteInfo{Digest: res.Digest(), Size: res.Size(), Files: len(res.Files)}}, nil
}

const remoteConfig = `
[steps.gen]
kind = "exec"
run = "write generated"
outputs = ["gen.txt"]

[steps.use]
kind = "exec"
needs = ["gen"]
run = "write used"
outputs = ["use.txt"]
`

// One workspace runs and uploads; another, with an empty local cache,
// restores everything from the remote without running a command.
func TestRemoteWarmsAnotherWorkspace(t *testing.T) {
	far, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fr := &fakeRunner{}
	a, p := setup(t, remoteConfig, fr, Options{Upload: true})
	local := a.Store.(*cache.Disk)
	rem := &diskRemote{far: far, local: local}
	a.Remote = rem
	sum, err := a.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ran != 2 || sum.Uploads != 2 || sum.Uploaded == 0 || sum.RemoteFailures != 0 {
		t.Fatalf("warming: %+v; want 2 ran and 2 uploaded", sum)
	}

	// The second workspace: same config, empty local cache.
	fr2 := &fakeRunner{}
	b, _ := setup(t, remoteConfig, fr2, Options{})
	local2 := b.Store.(*cache.Disk)
	b.Planner.Cache = layered{local2, far}
	p2, err := b.Planner.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range p2.Steps {
		if sp.Status != graph.Restore || sp.Cached.Remote == nil {
			t.Fatalf("%s: %s (%s), want a remote restore", sp.Node.Name, sp.Status, sp.Reason)
		}
	}
	b.Remote = &diskRemote{far: far, local: local2}
	sum, err = b.Apply(context.Background(), p2)
	if err != nil {
		t.Fatal(err)
	}
	if len(fr2.ran) != 0 || sum.Restored != 2 || sum.RemoteHits != 2 || sum.Downloaded == 0 {
		t.Fatalf("restoring: ran %v, %+v; want 2 remote restores and no command", fr2.ran, sum)
	}
	for _, f := range []string{"gen.txt", "use.txt"} {
		b1, _ := os.ReadFile(filepath.Join(a.Planner.Graph.Root, f))
		b2, err := os.ReadFile(filepath.Join(b.Planner.Graph.Root, f))
		if err != nil || string(b1) != string(b2) {
			t.Errorf("%s: %q in the second workspace, %q in the first (%v)", f, b2, b1, err)
		}
	}
	// Nothing new to upload on a rerun that ran nothing.
	if rem.puts != 2 {
		t.Errorf("%d uploads, want 2", rem.puts)
	}
}

// A remote that fails is a warning: a fetch that fails makes the step run,
// an upload that fails is counted, and the build succeeds.
func TestRemoteFailureIsNotABuildFailure(t *testing.T) {
	far, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fr := &fakeRunner{}
	a, p := setup(t, remoteConfig, fr, Options{Upload: true})
	a.Remote = &diskRemote{far: far, local: a.Store.(*cache.Disk)}
	if _, err := a.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}

	down := errors.New("connection refused")
	fr2 := &fakeRunner{}
	b, _ := setup(t, remoteConfig, fr2, Options{Upload: true})
	b.Planner.Cache = layered{b.Store.(*cache.Disk), far}
	p2, err := b.Planner.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Remote = &diskRemote{far: far, local: b.Store.(*cache.Disk), fail: down}
	sum, err := b.Apply(context.Background(), p2)
	if err != nil {
		t.Fatalf("a failing remote failed the build: %v", err)
	}
	if sum.Ran != 2 || sum.RemoteFailures < 2 || sum.Uploads != 0 {
		t.Fatalf("%+v; want both steps run and the failed fetches and uploads counted", sum)
	}
}
