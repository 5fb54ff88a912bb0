package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"

	"github.com/bottle-build/bottle/kinds"
)

func main() {
	// The copy of bottle that stops the steps' process groups if this one
	// dies (kinds/supervisor.go) starts here, and goes no further.
	kinds.SupervisorMain()
	// bottle is a short-lived process that builds large tables (100,000
	// files, 5,000 steps) and keeps them to the end: the collector runs
	// only as the heap nears the soft memory limit (memoryLimit). Not
	// more often: collecting often costs more than it saves. Not less:
	// each page of fresh memory costs a page fault, 10-20 µs in a VM, and
	// reusing what was freed does not (a W2 no-op plan took 4% less time
	// with a 32 MiB floor than with 100 MiB, and 15% less memory).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(800)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		keepLimitAboveLive()
	}
	// BOTTLE_CPUPROFILE=FILE writes a CPU profile, for work on speed.
	if p := os.Getenv("BOTTLE_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.StartCPUProfile(f)
			code := Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	// BOTTLE_MEMPROFILE=FILE writes a heap profile as bottle exits: what
	// is still held then (a plan's whole working set), and every allocation.
	if p := os.Getenv("BOTTLE_MEMPROFILE"); p != "" {
		runtime.MemProfileRate = 64 << 10
		code := Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		runtime.GC() // the profile is as of the last collection
		if f, err := os.Create(p); err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
		os.Exit(code)
	}
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// The soft memory limit for a live heap: 32 MiB at first, then twice the
// live heap up to 80 MiB, and past that the live heap and 24 MiB.
//
// 80 MiB keeps a plan of 20,000 steps under 100 MB of resident memory
// (the binary's pages are another 12 MB): its first plan holds 50-55 MB
// live at its largest, and with no cap took 120 MB. Collecting within 24
// MiB of a live heap that large costs it about 5% more time; closer, the
// collector runs back to back (a limit below the live heap made a first
// plan spend three quarters of its time collecting).
const (
	limitFloor    = 32 << 20
	limitCap      = 80 << 20
	limitHeadroom = 24 << 20
)

func memoryLimit(live int64) int64 {
	return max(limitFloor, min(2*live, max(limitCap, live+limitHeadroom)))
}

// keepLimitAboveLive sets the soft memory limit to memoryLimit's floor,
// and raises it as collections find the live heap grown.
func keepLimitAboveLive() {
	debug.SetMemoryLimit(limitFloor)
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		sentinel := new([64]byte) // freed by each collection: its finalizer runs after it
		runtime.SetFinalizer(sentinel, func(*[64]byte) {
			metrics.Read(live)
			if live[0].Value.Kind() == metrics.KindUint64 {
				if want := memoryLimit(int64(live[0].Value.Uint64())); want > debug.SetMemoryLimit(-1) {
					debug.SetMemoryLimit(want)
				}
			}
			arm()
		})
	}
	arm()
}

// exitCoder is an error that decides the process's exit status.
type exitCoder interface{ ExitCode() int }

// exitError carries an exit status with no further message (already printed).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitError) ExitCode() int { return int(e) }

// Main runs bottle with args and returns its exit status: 0 success, 1 any
// error, 2 only from plan --detailed-exitcode, 130 interrupted.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hurry := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			switch n {
			case 1:
				cancel()
			case 2:
				close(hurry)
			}
		}
	}()
	// On the way out, whatever way that is, the supervisor goes too.
	defer kinds.StopSupervisor()
	app := newApp(stdin, stdout, stderr, hurry)
	err := app.run(ctx, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		fmt.Fprintln(stderr, "bottle: interrupted")
		return 130
	}
	var ec exitCoder
	code := 1
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	var quiet exitError
	if !errors.As(err, &quiet) {
		fmt.Fprintf(stderr, "bottle: %v\n", err)
	}
	return code
}
