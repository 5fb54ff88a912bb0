package run

// Storing the results of finished steps, in groups.
//
// A step's goroutine stages its blobs in the cache without waiting for the
// disk (Store.StageFile) and hands its result back. The scheduler queues
// it and frees the step's slot; the committer stores each queued group
// with one sync (Store.CommitResults). While one group is being synced,
// the next gathers, so a result waits at most for the sync under way and
// its own. Only when its group is committed is a step settled: recorded
// in the state, announced, uploaded, and counted done for its dependents.

import (
	"errors"
	"fmt"

	"github.com/bottle-build/bottle/cache"
)

// committer starts the goroutine that commits groups of results: send a
// group on the first channel (only when the previous one has come back),
// receive it on the second once stored, each outcome settled to Ran
// (stored, or not stored in a read-only cache) or Failed. Closing the
// first channel ends it.
func (a *Applier) committer() (chan<- []*outcome, <-chan []*outcome) {
	in := make(chan []*outcome)
	out := make(chan []*outcome)
	go func() {
		for group := range in {
			a.commit(group)
			out <- group
		}
	}()
	return in, out
}

// commit stores the results of group and marks each outcome with how that
// went.
func (a *Applier) commit(group []*outcome) {
	rs := make([]*cache.Result, len(group))
	for i, o := range group {
		rs[i] = o.res
	}
	errs := a.Store.CommitResults(rs)
	for i, o := range group {
		switch err := errs[i]; {
		case err == nil:
			o.stored = true
		case errors.Is(err, cache.ErrReadOnly):
			// apply warned once that nothing is stored
		default:
			o.event, o.err = Failed, fmt.Errorf("storing result: %w", err)
		}
	}
}
