package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestMemoryLimit: twice the live heap between the floor and the cap,
// and never within 24 MiB of the live heap.
func TestMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct{ live, want int64 }{
		{0, 32 * mib},
		{10 * mib, 32 * mib},
		{20 * mib, 40 * mib},
		{40 * mib, 80 * mib},
		{50 * mib, 80 * mib},
		{56 * mib, 80 * mib},
		{60 * mib, 84 * mib},
		{100 * mib, 124 * mib},
	} {
		if got := memoryLimit(c.live); got != c.want {
			t.Errorf("memoryLimit(%d MiB) = %d MiB, want %d MiB", c.live/mib, got/mib, c.want/mib)
		}
	}
}

// TestLimitFollowsLiveHeap: a live heap above half the floor raises the
// soft limit to twice itself, so that the collector never runs back to
// back under a limit the live data alone exceeds.
func TestLimitFollowsLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	keepLimitAboveLive()
	live := make([][]byte, 24)
	for i := range live {
		live[i] = make([]byte, 1<<20) // 24 MiB, held: above half the floor
	}
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < 40<<20 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got < 40<<20 {
		t.Errorf("limit %d MiB with 24 MiB live, want at least twice that", got>>20)
	}
	runtime.KeepAlive(live)
}
