package files

// The early hashing of a first plan. With no index there is nothing for
// the early stat pass (prestat.go) to look at, and a first plan spends its
// first second or more parsing the config on one core. Prehash hashes the
// files a quick look at the config's text guessed to be inputs
// (config.GuessInputs) on the other cores meanwhile, and Hash and StatAll
// take an early record as they would have made it, without looking again.
// The pass stops when hashing starts, and its records go once the first
// batch has taken the ones it asked for.
//
// Why an early record is as good as a late one: it is made as a late one
// is (its stat data, then the content read after it, and the clock read
// before both: see racySlack), so the plan sees the file as a plan started
// a little earlier would have, as with the early looks. Its records serve
// the plan being made only (EndPrestat drops them): apply changes files.
// A guess that is no input costs its reading, and is never stored.

import (
	"slices"
	"sort"
	"time"
)

type prehash struct {
	earlyPass
	paths []string  // sorted, each once
	recs  []*record // by path: nil when the file could not be read as an input
}

// Prehash starts hashing, in the background, the files at paths (relative
// to root) for the plan about to be made, when the index holds no record
// (a first plan) and no early pass runs: call it before the plan's first
// Hash or StatAll (after, it does nothing); the plan ends it (EndPrestat).
// paths may name files that are missing or no inputs. Prehash sorts paths
// in place, and keeps them or a copy. The records serve the plan's first
// Hash or StatAll, which ends the pass.
func (ix *Index) Prehash(root string, paths []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.n > 0 || len(ix.over) > 0 || ix.bulk != nil || ix.pre != nil || ix.early != nil || ix.hashing || len(paths) == 0 {
		return
	}
	if !slices.IsSorted(paths) {
		slices.Sort(paths)
	}
	paths = slices.Compact(paths)
	if cap(paths) > len(paths)+len(paths)/4 {
		// Kept to the end of the first batch, when memory is at its
		// largest: not with the room of a list made for every guess.
		paths = slices.Clone(paths)
	}
	chunks := (len(paths) + preChunk - 1) / preChunk
	e := &prehash{paths: paths, recs: make([]*record, len(paths))}
	e.start(root, chunks, func(h *hasher, c int) {
		lo, hi := c*preChunk, min((c+1)*preChunk, len(paths))
		h.batch = paths[lo:hi]
		h.now = time.Now().UnixNano()
		for k, p := range h.batch {
			dir, name := splitDir(p)
			h.at0 = k
			f, name, fd, err := h.lookOpen(p, dir, name)
			if err != nil {
				continue
			}
			if r, err := h.read(f, name, p, statOf(&h.st), fd); err == nil {
				e.recs[lo+k] = r
			}
		}
	})
	ix.early = e
}

// early returns the early record of p, or nil. *hint is the position after
// the last path found. Safe while the pass runs: a record is read only
// once its chunk is done.
func (e *prehash) record(p string, hint *int) *record {
	i := *hint
	if i >= len(e.paths) || e.paths[i] != p {
		i = sort.SearchStrings(e.paths, p)
		if i >= len(e.paths) || e.paths[i] != p {
			return nil
		}
	}
	*hint = i + 1
	if !e.chunkDone(i) {
		return nil
	}
	return e.recs[i]
}
