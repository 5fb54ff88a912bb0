package kinds

// On Linux a started program also gets SIGKILL from the kernel when bottle
// dies (PR_SET_PDEATHSIG, set between fork and exec). It covers the moment
// between the program's start and the supervisor hearing of its group.
// The kernel sends it when the *thread* that forked the program exits, not
// the process, and Go ends a thread whenever a goroutine that locked it
// returns without unlocking: so every program is started from one goroutine
// that holds its thread for as long as bottle runs.

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

type startReq struct {
	cmd  *exec.Cmd
	sup  *supervisor
	done chan error
}

var starter struct {
	once sync.Once
	reqs chan startReq
}

// startPinned starts cmd with a parent-death SIGKILL, from the one thread
// that never exits, and reports its group to sup before returning.
func startPinned(cmd *exec.Cmd, sup *supervisor) error {
	starter.once.Do(func() {
		starter.reqs = make(chan startReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as bottle
			for r := range starter.reqs {
				r.done <- startPlain(r.cmd, r.sup)
			}
		}()
	})
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	done := make(chan error, 1)
	starter.reqs <- startReq{cmd, sup, done}
	return <-done
}
