package kinds

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets this test binary be its own process supervisor, as bottle
// is: the supervisor tests start it, and every process the kinds' tests run
// is supervised.
func TestMain(m *testing.M) {
	SupervisorMain()
	code := m.Run()
	if err := StopSupervisor(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func TestSupervise(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []int
	}{
		{"nothing started", "", nil},
		{"live at the end", "+100\n+200\n", []int{100, 200}},
		{"ended groups are spared", "+100\n+200\n-100\n", []int{200}},
		{"all ended", "+100\n-100\n", nil},
		{"an id reused before its end was heard", "+100\n+100\n-100\n", []int{100}},
		{"an end without a start", "-100\n+200\n", []int{200}},
		{"a torn last line is dropped", "+100\n+20", []int{100}},
		{"never every process", "+1\n+0\n+-5\n+100\n", []int{100}},
		{"garbage is ignored", "hello\n\n+\n*300\n+x\n+100\n", []int{100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			supervise(strings.NewReader(tt.in), func(pgid int) { got = append(got, pgid) })
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("killed %v, want %v", got, tt.want)
			}
		})
	}
}

// startGroup starts, in a process group of its own, a shell that starts a
// sleep (a grandchild of the test, in the same group) and writes its pid.
func startGroup(t *testing.T) (cmd *exec.Cmd, grandchild int) {
	t.Helper()
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd = exec.Command("/bin/sh", "-c", "sleep 30 & echo $! > "+pidFile+"; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	waitUntil(t, "the grandchild's pid", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		grandchild, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return cmd, grandchild
}

// waitUntil polls cond; the bound only turns a hang into a failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s", what)
		}
	}
}

// gone reports whether pid has ended (a zombie has).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	i := strings.LastIndexByte(string(st), ')')
	return i+2 < len(st) && st[i+2] == 'Z'
}

func testSupervisor(t *testing.T) *supervisor {
	t.Helper()
	exe, err := selfExe()
	if err != nil {
		t.Fatal(err)
	}
	sup, err := startSupervisor(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sup.close() })
	return sup
}

// TestSupervisorStopsLiveGroups: when its pipe closes, as it does when
// bottle dies, the supervisor kills every group it was told of, grandchildren
// included, and exits.
func TestSupervisorStopsLiveGroups(t *testing.T) {
	sup := testSupervisor(t)
	cmd, grandchild := startGroup(t)
	if err := sup.started(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	// What the kernel does to a dead bottle's files; close then waits for
	// the supervisor to have done its work and exited.
	if err := sup.close(); err != nil {
		t.Fatalf("supervisor: %v", err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the group's leader ended with %v, want killed", err)
	}
	waitUntil(t, "end of the grandchild", func() bool { return gone(grandchild) })
}

// TestSupervisorSparesEndedGroups: a group bottle said it is done with is
// left alone.
func TestSupervisorSparesEndedGroups(t *testing.T) {
	sup := testSupervisor(t)
	cmd, grandchild := startGroup(t)
	pgid := cmd.Process.Pid
	if err := sup.started(pgid); err != nil {
		t.Fatal(err)
	}
	if err := sup.ended(pgid); err != nil {
		t.Fatal(err)
	}
	if err := sup.close(); err != nil {
		t.Fatalf("supervisor: %v", err)
	}
	// The supervisor has exited: whatever it was going to kill, it has.
	if gone(pgid) || gone(grandchild) {
		t.Fatalf("the supervisor stopped a group that had ended")
	}
}

// TestRunProcessReportsItsGroup: runGroup tells the supervisor of the
// group before the program is waited for, and that it ended afterwards.
func TestRunProcessReportsItsGroup(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sup := &supervisor{w: w}
	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	err = runGroup(context.Background(), nil, cmd, sup, startPinned)
	w.Close()
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	var lines []string
	for s := bufio.NewScanner(r); s.Scan(); {
		lines = append(lines, s.Text())
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if want := []string{"+" + pid, "-" + pid}; !slices.Equal(lines, want) {
		t.Errorf("supervisor heard %q, want %q", lines, want)
	}
}

// TestRunProcessNeedsItsSupervisor: a group the supervisor cannot be told
// of would outlive bottle's death, so it is stopped and the step fails.
func TestRunProcessNeedsItsSupervisor(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the supervisor is gone
	defer w.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command("/bin/sh", "-c", "echo $$ > "+pidFile+"; exec sleep 30")
	start := time.Now()
	err = runGroup(context.Background(), nil, cmd, &supervisor{w: w}, startPinned)
	if err == nil || !strings.Contains(err.Error(), "the process supervisor is gone") {
		t.Fatalf("err = %v, want the supervisor gone", err)
	}
	if !gone(cmd.Process.Pid) {
		t.Errorf("the unsupervised group still runs")
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("the program ran its course instead of being stopped")
	}
}

// BenchmarkRunProcess: the cost per process of supervision, running `true`.
// plain is how bottle ran processes before (no parent-death signal, no
// supervisor); pinned starts from the one locked thread with a parent-death
// signal (Linux); supervised adds the two writes to the supervisor.
func BenchmarkRunProcess(b *testing.B) {
	exe, err := selfExe()
	if err != nil {
		b.Fatal(err)
	}
	sup, err := startSupervisor(exe)
	if err != nil {
		b.Fatal(err)
	}
	defer sup.close()
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true")
	}
	for _, bc := range []struct {
		name  string
		sup   *supervisor
		start func(*exec.Cmd, *supervisor) error
	}{
		{"plain", nil, startPlain},
		{"pinned", nil, startPinned},
		{"supervised", sup, startPinned},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := runGroup(context.Background(), nil, exec.Command(truePath), bc.sup, bc.start); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSupervisorReport: what supervision adds to each process, the
// "+" and "-" writes to a live supervisor (which reads them as they come).
func BenchmarkSupervisorReport(b *testing.B) {
	exe, err := selfExe()
	if err != nil {
		b.Fatal(err)
	}
	sup, err := startSupervisor(exe)
	if err != nil {
		b.Fatal(err)
	}
	defer sup.close()
	pgid := 1 << 30 // no such group: the supervisor never kills it
	for b.Loop() {
		if err := sup.started(pgid); err != nil {
			b.Fatal(err)
		}
		if err := sup.ended(pgid); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSupervisorStart: the once-per-run cost of starting and closing
// the supervisor.
func BenchmarkSupervisorStart(b *testing.B) {
	exe, err := selfExe()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sup, err := startSupervisor(exe)
		if err != nil {
			b.Fatal(err)
		}
		if err := sup.close(); err != nil {
			b.Fatal(err)
		}
	}
}
