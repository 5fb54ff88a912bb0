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
	earlyPass
	same  []bool       // the early look at base record i matched its stat data
	looks atomic.Int64 // early looks taken, for tests
}

// earlyPass is the background work of an early pass (Prestat, Prehash):
// chunks of preChunk files, claimed in turn by workers on one core fewer
// than there are (the config loads on the other, and it is what the plan
// waits for), until all are done or the pass is stopped.
type earlyPass struct {
	done []atomic.Bool // by chunk: its results are written
	next atomic.Int64  // the next chunk to claim
	stop atomic.Bool
	wg   sync.WaitGroup
}

// start runs work on each of chunks chunks, with a hasher of root per
// worker, in the background.
func (e *earlyPass) start(root string, chunks int, work func(h *hasher, c int)) {
	e.done = make([]atomic.Bool, chunks)
	for range min(max(1, runtime.NumCPU()-1), chunks) {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			h := newHasher(root)
			defer h.done()
			for !e.stop.Load() {
				c := int(e.next.Add(1)) - 1
				if c >= chunks {
					return
				}
				work(h, c)
				e.done[c].Store(true)
			}
		}()
	}
}

// chunkDone reports whether the results of item i are written.
func (e *earlyPass) chunkDone(i int) bool { return e.done[i/preChunk].Load() }

// end stops the pass, waiting for its workers to finish the chunks they
// hold.
func (e *earlyPass) end() {
	e.stop.Store(true)
	e.wg.Wait()
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
	p := &prestat{same: make([]bool, ix.n)}
	p.start(root, chunks, func(h *hasher, c int) {
		lo, hi := c*preChunk, min((c+1)*preChunk, ix.n)
		paths := h.batch[:0]
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
	})
	ix.pre = p
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
		p.stop.Store(true) // both stop at once; then wait for each
	}
	if e != nil {
		e.end()
	}
	if p != nil {
		p.end()
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
	return p != nil && p.chunkDone(i) && p.same[i]
}
