package files

// The early stat pass. A no-op plan spends its first tens of milliseconds
// loading the config, on one core; the index already knows which files the
// plan will look at (those it looked at last time). Prestat looks at them
// in the background meanwhile, and Hash and StatAll take a file whose
// early look matches its record, and whose record is trusted, without
// looking again. The pass stops when hashing starts: from then on it
// would only compete for the cores.
//
// Why an early look is as good as a late one: the plan then sees the file
// as it was at the early look, as a plan started a little earlier would.
// A change after it shows in the next plan, as any change after the look
// does. A file whose early look does not match its record is looked at
// again, late, before it is read, so that a new record pairs a look with
// the content read after it (see racySlack).

import (
	"runtime"
	"sync"
	"sync/atomic"
)

const preChunk = 256

type prestat struct {
	same  []bool        // the early look at base record i matched its stat data
	done  []atomic.Bool // by chunk: its looks are written
	next  atomic.Int64  // the next chunk to claim
	stop  atomic.Bool
	wg    sync.WaitGroup
	looks atomic.Int64 // early looks taken, for tests
}

// Prestat starts looking, in the background, at the files the loaded
// index holds, below root, for the plan about to be made: call it once,
// before the plan's first Hash or StatAll; the plan ends it (EndPrestat).
func (ix *Index) Prestat(root string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.n == 0 || ix.pre != nil {
		return
	}
	chunks := (ix.n + preChunk - 1) / preChunk
	p := &prestat{same: make([]bool, ix.n), done: make([]atomic.Bool, chunks)}
	ix.pre = p
	// One core fewer than there are: the config loads on the other, and
	// it is what the plan waits for.
	for range min(max(1, runtime.NumCPU()-1), chunks) {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			h := newHasher(root)
			defer h.close()
			paths := make([]string, 0, preChunk)
			for !p.stop.Load() {
				c := int(p.next.Add(1)) - 1
				if c >= chunks {
					return
				}
				lo, hi := c*preChunk, min((c+1)*preChunk, ix.n)
				paths = paths[:0]
				for i := lo; i < hi; i++ {
					paths = append(paths, ix.str(ix.baseRec(i), offPath))
				}
				h.batch = paths
				for k, path := range paths {
					dir, name := splitDir(path)
					h.at0 = k
					if _, _, err := h.look(path, dir, name); err == nil {
						p.same[lo+k] = statOf(&h.st) == ix.decodeStat(ix.baseRec(lo+k))
						p.looks.Add(1)
					}
				}
				p.done[c].Store(true)
			}
		}()
	}
}

// stopPrestat ends the early pass, waiting for its workers to finish the
// chunks they hold; the looks taken stay for EndPrestat to drop. The
// caller does not hold ix.mu.
func (ix *Index) stopPrestat() {
	ix.mu.Lock()
	p, e := ix.pre, ix.early
	ix.hashing = true
	ix.mu.Unlock()
	if p != nil {
		p.stop.Store(true)
	}
	if e != nil {
		e.stopEarly()
	}
	if p != nil {
		p.wg.Wait()
	}
}

// EndPrestat stops the early passes and drops their looks and records: files may change
// from now on (apply runs steps), and only a look taken after a change
// may vouch for a file. Planning calls it when a plan is made.
func (ix *Index) EndPrestat() {
	ix.stopPrestat()
	ix.mu.Lock()
	ix.pre, ix.early = nil, nil
	ix.mu.Unlock()
}

// unchanged reports whether an early look at base record i found the
// file's stat data as the record has it.
func (ix *Index) unchanged(i int) bool {
	p := ix.pre
	return p != nil && p.done[i/preChunk].Load() && p.same[i]
}
