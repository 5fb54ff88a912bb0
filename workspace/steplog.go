package workspace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// A step's log is locked while the step writes it, so that another
// process (bottle logs -f) can tell a log that is still growing from one
// whose step has ended, however it ended: the kernel drops the lock when
// the file is closed or bottle dies.

// CreateLog starts the log of a step about to run: LogPath, emptied, with
// its lock held until the file is closed. A file system that cannot lock
// still gets the log; LogBusy then says it is not busy.
func CreateLog(root, step string) (*os.File, error) {
	p := LogPath(root, step)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	// Locked before it is emptied: a follower never sees an empty log it
	// could take for an ended one. LogBusy holds the lock only for an
	// instant, so this waits at most that long.
	syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("emptying %s: %w", p, err)
	}
	return f, nil
}

// LogBusy reports whether the step whose log f is (opened by any process)
// is still writing it.
func LogBusy(f *os.File) bool {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
