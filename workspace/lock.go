package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Lock is the workspace lock: one apply at a time per workspace.
type Lock struct{ f *os.File }

// Acquire takes the lock of the workspace at root. If another process holds it,
// waiting is called once with a description of the holder, and Acquire
// waits until the lock is free or ctx ends.
func Acquire(ctx context.Context, root, who string, waiting func(holder string)) (*Lock, error) {
	if err := Init(root); err != nil {
		return nil, err
	}
	path := filepath.Join(Dir(root), lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening workspace lock: %w", err)
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("taking workspace lock %s: %w", path, err)
		}
		if !told && waiting != nil {
			b, _ := os.ReadFile(path)
			holder := strings.TrimSpace(string(b))
			if holder == "" {
				holder = "another bottle process"
			}
			waiting(holder)
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Holding the lock, nothing else writes to tmp/: what is there was
	// left by an apply that was killed.
	if err := cleanTmp(root); err != nil {
		f.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on %s (%s, since %s)\n", os.Getpid(), host, who, time.Now().Format("15:04:05"))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info), 0)
	}
	return &Lock{f: f}, nil
}

// Release frees the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close()
	l.f = nil
	return err
}

func cleanTmp(root string) error {
	dir := TmpDir(root)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing temporary files left in %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}
