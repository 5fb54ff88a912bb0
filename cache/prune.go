package cache

// Maintenance: how big the cache is, and shrinking it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Stats describes a cache.
type Stats struct {
	Dir              string // the cache's folder
	Results          int    // result manifests
	Blobs            int
	Bytes            int64 // blobs and manifests
	Quarantined      int   // files in corrupt/
	QuarantinedBytes int64
}

// Stats counts the cache's entries and their size.
func (c *Disk) Stats() (Stats, error) {
	st := Stats{Dir: c.dir}
	err := walkFiles(filepath.Join(c.dir, "blobs"), func(p string, fi fs.FileInfo) {
		st.Blobs++
		st.Bytes += fi.Size()
	})
	if err == nil {
		err = walkFiles(filepath.Join(c.dir, "results"), func(p string, fi fs.FileInfo) {
			st.Results++
			st.Bytes += fi.Size()
		})
	}
	if err == nil {
		err = walkFiles(filepath.Join(c.dir, "corrupt"), func(p string, fi fs.FileInfo) {
			st.Quarantined++
			st.QuarantinedBytes += fi.Size()
		})
	}
	if err != nil {
		return st, fmt.Errorf("measuring cache %s: %w", c.dir, err)
	}
	return st, nil
}

// walkFiles calls f for every regular file under root. Files removed while
// it walks (by another process) are skipped, as is a missing root.
func walkFiles(root string, f func(p string, fi fs.FileInfo)) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			f(p, fi)
		}
		return nil
	})
}

// PruneReport says what Prune did.
type PruneReport struct {
	Results int   // results removed
	Blobs   int   // blobs removed
	Freed   int64 // bytes removed
	Before  int64 // total size (blobs and manifests) before
	After   int64 // and after
	Held    int   // results kept, though prune would have removed them, because a running apply holds them
	Temp    int   // leftover temporary files removed
}

// resultEntry is one manifest as prune sees it.
type resultEntry struct {
	key   Key
	path  string
	mtime time.Time
	size  int64    // of the manifest
	blobs []Digest // nil if the manifest does not parse
}

// Prune removes least recently used results (by manifest mtime, which
// GetResult refreshes) until the cache is at most maxSize bytes, removing
// with each the blobs no other result names; then blobs that no result
// names at all and that are older than an hour (younger ones may belong to
// a result being written); then temporary files older than an hour.
//
// Results held by a live Hold in any process are never removed, nor the
// blobs they name, nor the blobs a live Hold recorded. Stale hold files,
// whose process died, are removed.
func (c *Disk) Prune(maxSize int64, now time.Time) (*PruneReport, error) {
	rep := &PruneReport{}
	var results []*resultEntry
	err := walkFiles(filepath.Join(c.dir, "results"), func(p string, fi fs.FileInfo) {
		e := &resultEntry{path: p, mtime: fi.ModTime(), size: fi.Size()}
		k, err := ParseKey(strings.TrimSuffix(filepath.Base(p), ".json"))
		if err == nil {
			e.key = k
		}
		if b, err := os.ReadFile(p); err == nil {
			var r Result
			if json.Unmarshal(b, &r) == nil {
				e.blobs = r.Blobs()
			}
		}
		results = append(results, e)
	})
	if err != nil {
		return nil, fmt.Errorf("pruning cache %s: %w", c.dir, err)
	}
	type blobEntry struct {
		size  int64
		mtime time.Time
	}
	blobs := map[Digest]blobEntry{}
	err = walkFiles(filepath.Join(c.dir, "blobs"), func(p string, fi fs.FileInfo) {
		if d, err := ParseDigest(filepath.Base(p)); err == nil {
			blobs[d] = blobEntry{fi.Size(), fi.ModTime()}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("pruning cache %s: %w", c.dir, err)
	}
	var total int64
	for _, r := range results {
		total += r.size
	}
	for _, b := range blobs {
		total += b.size
	}
	rep.Before = total

	refs := map[Digest]int{}
	for _, r := range results {
		for _, d := range r.blobs {
			refs[d]++
		}
	}
	sort.Slice(results, func(i, j int) bool {
		if !results[i].mtime.Equal(results[j].mtime) {
			return results[i].mtime.Before(results[j].mtime)
		}
		return results[i].path < results[j].path
	})

	// Read the holds as late as possible: a hold added after this point is
	// not seen (see the package notes in hold.go).
	held := readHolds(c.dir)
	removeBlob := func(d Digest) {
		if held.blobs[d] {
			return
		}
		b, ok := blobs[d]
		if !ok {
			return
		}
		if err := os.Remove(c.BlobPath(d)); err == nil || errors.Is(err, fs.ErrNotExist) {
			rep.Blobs++
			rep.Freed += b.size
			total -= b.size
			delete(blobs, d)
		}
	}
	for _, r := range results {
		if total <= maxSize {
			break
		}
		if held.keys[r.key] {
			rep.Held++
			continue
		}
		if err := os.Remove(r.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		rep.Results++
		rep.Freed += r.size
		total -= r.size
		for _, d := range r.blobs {
			if refs[d]--; refs[d] <= 0 {
				removeBlob(d)
			}
		}
	}
	// Blobs no result names: left by an interrupted apply, or by a corrupt
	// manifest. Recent ones may be about to be named by a result.
	for d, b := range blobs {
		if refs[d] <= 0 && now.Sub(b.mtime) > tmpMaxAge {
			removeBlob(d)
		}
	}
	// Old temporary files are leftovers of killed processes.
	tdir := filepath.Join(c.dir, "tmp")
	if ents, err := os.ReadDir(tdir); err == nil {
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > tmpMaxAge {
				if os.Remove(filepath.Join(tdir, e.Name())) == nil {
					rep.Temp++
				}
			}
		}
	}
	rep.After = total
	return rep, nil
}
