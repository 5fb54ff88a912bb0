package kinds

// The process supervisor: what stops every step's process group when bottle
// dies, even by kill -9, which no code in bottle itself can catch.
//
// On the first process it starts, bottle starts one more copy of its own
// binary (the same file, with a marker argument and variable) and keeps the
// writing end of a pipe whose reading end is the copy's standard input.
// Before a step's program can have been waited for, bottle writes "+PGID\n"
// for its process group, and "-PGID\n" once runProcess is done with the
// group. When the pipe reads end of file, bottle is gone (the kernel closes
// a dead process's files, however it died) or has finished: the supervisor
// sends SIGKILL to every group it was told of and not told is done, and
// exits. One process per bottle run and one short write per start and per
// end: the cost of a step does not grow.
//
// What each system guarantees is written in ARCHITECTURE.md ("When bottle
// dies"); proc_linux.go adds the parent-death signal.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// supervisorArg and supervisorEnv together mark the copy of bottle that
// supervises; either alone is ignored, so neither a stray argument nor a
// stray variable turns bottle into a supervisor.
const (
	supervisorArg = "__bottle-supervise"
	supervisorEnv = "BOTTLE_SUPERVISOR"
)

// selfSupervise is set by SupervisorMain: this binary, started again with
// the marker, supervises.
var selfSupervise atomic.Bool

// SupervisorMain must be the first thing a binary that runs steps does (in
// main, and in TestMain of tests that want supervision). In the copy of the
// binary that bottle starts as its supervisor, it supervises until bottle is
// gone and exits the process. Anywhere else it returns at once, and from then
// on the processes runProcess starts are supervised. A binary that never
// calls it runs its processes unsupervised (a test binary re-executed with an
// unknown argument would run its tests instead).
func SupervisorMain() {
	if len(os.Args) == 2 && os.Args[1] == supervisorArg && os.Getenv(supervisorEnv) == supervisorArg {
		// In a group of its own, the supervisor hears no Ctrl-C or hang-up
		// meant for bottle; it ignores them anyway, so that it outlives
		// bottle whichever way bottle ends.
		signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
		supervise(os.Stdin, func(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) })
		os.Exit(0)
	}
	selfSupervise.Store(true)
}

// supervise reads the protocol from r until end of file (or a read error:
// either way bottle can no longer speak), then calls kill for every group
// still live. A line it cannot read is ignored, and so is a group id below 2:
// kill(-1) would reach every process the user owns.
func supervise(r io.Reader, kill func(pgid int)) {
	// A count, not a flag: once a group's leader is reaped its id may be
	// reused by a new group before bottle's "-" for the old one arrives.
	live := map[int]int{}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			// A line without its newline was never written whole (each is
			// one write, shorter than the pipe's atomic size): drop it.
			break
		}
		if len(line) < 3 {
			continue
		}
		pgid, err := strconv.Atoi(line[1 : len(line)-1])
		if err != nil || pgid < 2 {
			continue
		}
		switch line[0] {
		case '+':
			live[pgid]++
		case '-':
			if live[pgid]--; live[pgid] <= 0 {
				delete(live, pgid)
			}
		}
	}
	for pgid := range live {
		kill(pgid)
	}
}

// supervisor is bottle's end of the pipe to its supervising process.
type supervisor struct {
	w   *os.File
	cmd *exec.Cmd
}

// startSupervisor starts exe as a supervisor.
func startSupervisor(exe string) (*supervisor, error) {
	r, w, err := os.Pipe() // close-on-exec: no step inherits w
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, supervisorArg)
	cmd.Args[0] = "bottle-supervisor"
	cmd.Env = []string{supervisorEnv + "=" + supervisorArg, "GOMAXPROCS=1"}
	cmd.Dir = "/"
	cmd.Stdin = r
	// Its own group, so a signal for bottle's group does not reach it; no
	// Pdeathsig: it must outlive bottle. Standard output and error are
	// /dev/null: holding bottle's would keep whoever reads them waiting.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	return &supervisor{w: w, cmd: cmd}, nil
}

func (s *supervisor) send(op byte, pgid int) error {
	var b [24]byte
	line := append(strconv.AppendInt(append(b[:0], op), int64(pgid), 10), '\n')
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("the process supervisor is gone: %w", err)
	}
	return nil
}

// started tells the supervisor of a new process group.
func (s *supervisor) started(pgid int) error { return s.send('+', pgid) }

// ended tells the supervisor that a group is no longer bottle's to stop.
func (s *supervisor) ended(pgid int) error { return s.send('-', pgid) }

// close ends the supervisor as bottle's death would (it stops the groups
// still live) and waits for it to exit, a few seconds at most.
func (s *supervisor) close() error {
	err := s.w.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case werr := <-done:
		return errors.Join(err, werr)
	case <-t.C:
		return errors.Join(err, errors.New("the process supervisor did not exit"))
	}
}

// theSupervisor is the one supervisor of this bottle process, started on
// the first process that needs it.
var theSupervisor struct {
	mu  sync.Mutex
	sup *supervisor
}

// currentSupervisor returns the supervisor, starting it if need be, or nil
// when this binary cannot supervise (it never called SupervisorMain).
func currentSupervisor() (*supervisor, error) {
	if !selfSupervise.Load() {
		return nil, nil
	}
	theSupervisor.mu.Lock()
	defer theSupervisor.mu.Unlock()
	if theSupervisor.sup == nil {
		exe, err := selfExe()
		if err != nil {
			return nil, fmt.Errorf("starting the process supervisor: %w", err)
		}
		s, err := startSupervisor(exe)
		if err != nil {
			return nil, fmt.Errorf("starting the process supervisor: %w", err)
		}
		theSupervisor.sup = s
	}
	return theSupervisor.sup, nil
}

// StopSupervisor ends this process's supervisor, if one was started, and
// waits for it: bottle calls it on its way out, so that no supervisor is
// left for init to reap. A process group still live when it is called is
// stopped.
func StopSupervisor() error {
	theSupervisor.mu.Lock()
	defer theSupervisor.mu.Unlock()
	if theSupervisor.sup == nil {
		return nil
	}
	err := theSupervisor.sup.close()
	theSupervisor.sup = nil
	return err
}

// selfExe is the file to start as the supervisor: on Linux /proc/self/exe,
// which still opens the running binary after it was replaced or deleted
// (an upgrade during a long apply).
func selfExe() (string, error) {
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			return "/proc/self/exe", nil
		}
	}
	return os.Executable()
}
