package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestLimitFollowsLiveHeap: a live heap above half the floor raises the
// soft limit to twice itself, so that the collector never runs back to
// back under a limit the live data alone exceeds.
func TestLimitFollowsLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	keepLimitAboveLive(8 << 20)
	live := make([][]byte, 24)
	for i := range live {
		live[i] = make([]byte, 1<<20) // 24 MiB, held
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
