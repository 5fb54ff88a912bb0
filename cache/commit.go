package cache

// Storing many results with one sync: blobs staged unsynced (StageFile),
// then CommitResults writes the manifests, syncs once, and only then
// renames them into place.

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/bottle-build/bottle/internal/atomicfile"
)

// CommitResults stores the manifests of rs, each under its key, and
// returns one error per result (nil when it was stored).
//
// A manifest becomes visible only after everything it names is durable:
// each manifest is written to a temporary file, then one sync covers those
// files and every blob the results name (their content and their names in
// blobs/), and only then is each manifest renamed into place. The renames
// themselves become durable with the next sync (the next call's, or Sync):
// a system crash before then loses the entry, which is a miss, never a
// visible result with a blob missing or short.
//
// When the sync fails every result fails with its error and no manifest
// is left behind, visible or temporary. A result naming a blob that is
// not in the cache fails alone.
func (c *Disk) CommitResults(rs []*Result) []error {
	errs := make([]error, len(rs))
	if c.readOnly {
		for i, r := range rs {
			errs[i] = fmt.Errorf("storing result %s: %w", r.Key.Short(), ErrReadOnly)
		}
		return errs
	}
	type staged struct {
		i   int
		tmp *atomicfile.File
	}
	var todo []staged
	defer func() {
		for _, s := range todo {
			s.tmp.Abort() // a no-op once committed
		}
	}()
	var paths []string // what the sync must cover
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	for i, r := range rs {
		tmp, err := c.stageResult(r)
		if err != nil {
			errs[i] = fmt.Errorf("storing result %s: %w", r.Key.Short(), err)
			continue
		}
		todo = append(todo, staged{i, tmp})
		for _, d := range r.Blobs() {
			p := c.BlobPath(d)
			add(p)
			add(filepath.Dir(p))
		}
		add(tmp.Name())
	}
	if len(todo) == 0 {
		return errs
	}
	if err := c.syncPaths(paths); err != nil {
		for _, s := range todo {
			errs[s.i] = fmt.Errorf("storing result %s: syncing the cache: %w", rs[s.i].Key.Short(), err)
		}
		return errs
	}
	var dirs []string
	for _, s := range todo {
		dst := resultPath(c.dir, rs[s.i].Key)
		if err := s.tmp.CommitUnsynced(dst); err != nil {
			errs[s.i] = fmt.Errorf("storing result %s: %w", rs[s.i].Key.Short(), err)
			continue
		}
		dirs = append(dirs, filepath.Dir(dst))
	}
	c.mu.Lock()
	if c.renamed == nil {
		c.renamed = map[string]bool{}
	}
	for _, d := range dirs {
		c.renamed[d] = true
	}
	c.mu.Unlock()
	return errs
}

// stageResult checks that every blob r names is in the cache and writes
// r's manifest to a temporary file in tmp/, unsynced and not yet renamed.
func (c *Disk) stageResult(r *Result) (*atomicfile.File, error) {
	for _, d := range r.Blobs() {
		if !c.HasBlob(d) {
			return nil, fmt.Errorf("blob %s is not in the cache", d.Short())
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	tmp, err := atomicfile.Create(resultPath(c.dir, r.Key), filepath.Join(c.dir, "tmp"), 0o444)
	if err != nil {
		return nil, err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Abort()
		return nil, err
	}
	return tmp, nil
}

// Sync makes the renames of every result CommitResults stored so far
// durable. Apply calls it once at the end, so that a result it stored
// survives a system crash after it returns.
func (c *Disk) Sync() error {
	if c.readOnly {
		return nil
	}
	c.mu.Lock()
	dirs := make([]string, 0, len(c.renamed))
	for d := range c.renamed {
		dirs = append(dirs, d)
	}
	c.renamed = nil
	c.mu.Unlock()
	if len(dirs) == 0 {
		return nil
	}
	if err := c.syncPaths(dirs); err != nil {
		return fmt.Errorf("syncing the cache: %w", err)
	}
	return nil
}

// syncPaths makes paths, files and folders of the cache, durable: through
// the test's syncer if one is set, else the platform's (sync_*.go).
func (c *Disk) syncPaths(paths []string) error {
	if c.sync != nil {
		return c.sync(paths)
	}
	return syncCache(c.dir, paths)
}
