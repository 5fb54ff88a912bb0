package cache

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stagedResult stages a file holding content and returns a result that
// names it (and a log), as a step's capture would.
func stagedResult(t *testing.T, c *Disk, name, content string) *Result {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	d, size, err := c.StageFile(p)
	if err != nil {
		t.Fatal(err)
	}
	logd, logSize, err := c.StageFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return &Result{
		Key:     Key(SumBytes([]byte("key " + name))),
		Step:    name,
		Files:   []File{{Path: name, Digest: d, Size: size, Mode: 0o644}},
		Log:     logd,
		LogSize: logSize,
	}
}

// tmpNames lists what is left in the cache's tmp/.
func tmpNames(t *testing.T, c *Disk) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(c.Dir(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestCommitResultsSyncsBeforeRename watches the one sync of a group: when
// it is called, no manifest of the group is visible, every blob the group
// names is there, and the sync covers the blobs, their folders and the
// manifests' temporary files. After it, every manifest is visible; Sync
// then covers the folders they were renamed into.
func TestCommitResultsSyncsBeforeRename(t *testing.T) {
	c := newCache(t)
	rs := []*Result{stagedResult(t, c, "a", "alpha"), stagedResult(t, c, "b", "beta")}
	var calls [][]string
	c.sync = func(paths []string) error {
		calls = append(calls, slices.Clone(paths))
		if len(calls) > 1 {
			return nil // Sync's, checked below
		}
		for _, r := range rs {
			if _, err := c.PeekResult(r.Key); !errors.Is(err, ErrMiss) {
				t.Errorf("result %s visible before the sync (err %v)", r.Step, err)
			}
			for _, d := range r.Blobs() {
				if !slices.Contains(paths, c.BlobPath(d)) || !slices.Contains(paths, filepath.Dir(c.BlobPath(d))) {
					t.Errorf("the sync does not cover blob %s of %s and its folder: %v", d.Short(), r.Step, paths)
				}
			}
		}
		manifests := 0
		for _, p := range paths {
			if strings.HasPrefix(p, filepath.Join(c.Dir(), "tmp")+string(filepath.Separator)) {
				manifests++
			}
		}
		if manifests != len(rs) {
			t.Errorf("the sync covers %d manifest temporary files, want %d: %v", manifests, len(rs), paths)
		}
		return nil
	}
	for i, err := range c.CommitResults(rs) {
		if err != nil {
			t.Errorf("result %d: %v", i, err)
		}
	}
	if len(calls) != 1 {
		t.Fatalf("%d syncs for one group, want 1", len(calls))
	}
	for _, r := range rs {
		got, err := c.GetResult(r.Key)
		if err != nil {
			t.Fatalf("result %s after the commit: %v", r.Step, err)
		}
		if got.Digest() != r.Digest() {
			t.Errorf("result %s stored as %s, want %s", r.Step, got.Digest().Short(), r.Digest().Short())
		}
	}
	if left := tmpNames(t, c); len(left) != 0 {
		t.Errorf("tmp/ holds %v after the commit", left)
	}
	if err := c.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 {
		t.Fatalf("Sync made %d syncs, want 1", len(calls)-1)
	}
	for _, r := range rs {
		if dir := filepath.Dir(resultPath(c.Dir(), r.Key)); !slices.Contains(calls[1], dir) {
			t.Errorf("Sync does not cover %s, where %s's manifest went: %v", dir, r.Step, calls[1])
		}
	}
	if err := c.Sync(); err != nil || len(calls) != 2 {
		t.Errorf("a Sync with nothing renamed since synced again (err %v)", err)
	}
}

// TestCommitResultsSyncFails: when the sync fails, every result of the
// group fails with its error, and nothing of theirs is left: no manifest
// visible, no temporary file.
func TestCommitResultsSyncFails(t *testing.T) {
	c := newCache(t)
	rs := []*Result{stagedResult(t, c, "a", "alpha"), stagedResult(t, c, "b", "beta")}
	broken := errors.New("disk on fire")
	c.sync = func([]string) error { return broken }
	errs := c.CommitResults(rs)
	for i, r := range rs {
		if !errors.Is(errs[i], broken) {
			t.Errorf("result %s: err %v, want the sync's", r.Step, errs[i])
		}
		if _, err := c.PeekResult(r.Key); !errors.Is(err, ErrMiss) {
			t.Errorf("result %s visible after a failed sync (err %v)", r.Step, err)
		}
	}
	if left := tmpNames(t, c); len(left) != 0 {
		t.Errorf("tmp/ holds %v after a failed commit", left)
	}
	// The cache is whole: the same group commits once the disk recovers.
	c.sync = nil
	for i, err := range c.CommitResults(rs) {
		if err != nil {
			t.Errorf("result %d after recovery: %v", i, err)
		}
	}
}

// TestCommitResultsMissingBlob: a result naming a blob that is not in the
// cache fails alone; the rest of its group is stored.
func TestCommitResultsMissingBlob(t *testing.T) {
	c := newCache(t)
	good := stagedResult(t, c, "good", "fine")
	bad := stagedResult(t, c, "bad", "gone")
	if err := os.Remove(c.BlobPath(bad.Files[0].Digest)); err != nil {
		t.Fatal(err)
	}
	errs := c.CommitResults([]*Result{bad, good})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "not in the cache") {
		t.Errorf("result naming a missing blob: err %v", errs[0])
	}
	if errs[1] != nil {
		t.Errorf("the other result: %v", errs[1])
	}
	if _, err := c.PeekResult(bad.Key); !errors.Is(err, ErrMiss) {
		t.Errorf("result with a missing blob is visible (err %v)", err)
	}
	if _, err := c.PeekResult(good.Key); err != nil {
		t.Errorf("the other result: %v", err)
	}
}

// TestCommitResultsReadOnly: a read-only cache stores nothing and says so.
func TestCommitResultsReadOnly(t *testing.T) {
	c := newCache(t)
	r := stagedResult(t, c, "a", "alpha")
	ro := &Disk{dir: c.Dir(), readOnly: true}
	ro.sync = func([]string) error { t.Error("a read-only cache synced"); return nil }
	if errs := ro.CommitResults([]*Result{r}); !errors.Is(errs[0], ErrReadOnly) {
		t.Errorf("err %v, want ErrReadOnly", errs[0])
	}
	if err := ro.Sync(); err != nil {
		t.Error(err)
	}
}

// TestCommitResultsPlatformSync commits through the platform's own sync
// (syncfs on Linux, fsync of each path elsewhere).
func TestCommitResultsPlatformSync(t *testing.T) {
	c := newCache(t)
	r := stagedResult(t, c, "a", "alpha")
	if errs := c.CommitResults([]*Result{r}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if err := c.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetResult(r.Key); err != nil {
		t.Fatal(err)
	}
}
