package kinds

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
)

// TestParentDeathSignalIsPinned: the kernel sends a program its parent-death
// signal when the *thread* that forked it exits, and Go ends a thread when a
// goroutine that locked it returns. A program started by startPinned from
// such a goroutine lives on; one started plainly there is killed (the
// control, which shows the test can tell the two apart).
func TestParentDeathSignalIsPinned(t *testing.T) {
	for _, tt := range []struct {
		name string
		// start starts cmd with a parent-death SIGKILL.
		start  func(*exec.Cmd) error
		killed bool
	}{
		{"pinned", func(cmd *exec.Cmd) error { return startPinned(cmd, nil) }, false},
		{"plain (control)", func(cmd *exec.Cmd) error {
			cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
			return cmd.Start()
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sleep", "30")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			// Go parks the main thread rather than end it, so the program
			// is started from a goroutine that found itself on another.
			tid := make(chan int)
			errc := make(chan error, 1)
			for {
				go func() {
					runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
					if syscall.Gettid() == os.Getpid() {
						runtime.UnlockOSThread()
						tid <- 0
						return
					}
					errc <- tt.start(cmd)
					tid <- syscall.Gettid()
				}()
				select {
				case <-tid:
					continue
				case err := <-errc:
					if err != nil {
						t.Fatal(err)
					}
				}
				break
			}
			task := "/proc/self/task/" + strconv.Itoa(<-tid)
			waitUntil(t, "exit of the starting thread", func() bool {
				_, err := os.Stat(task)
				return errors.Is(err, os.ErrNotExist)
			})
			// The thread is gone, so a parent-death signal has been sent if
			// it was going to be; a SIGKILL once sent decides how the program
			// ends, whatever comes after.
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("sleep ended with %v", err)
			}
			got := ee.Sys().(syscall.WaitStatus).Signal()
			if want := map[bool]syscall.Signal{true: syscall.SIGKILL, false: syscall.SIGTERM}[tt.killed]; got != want {
				t.Errorf("sleep ended by %v, want %v", got, want)
			}
		})
	}
}
