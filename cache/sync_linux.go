//go:build linux

package cache

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncCache makes everything written to the cache's file system durable
// with one syncfs(2): the listed paths and whatever else is dirty there.
// One call costs about what one fsync does, however many files it covers.
// Since Linux 5.8 it also reports a write-back error of any file there.
func syncCache(dir string, _ []string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		err = unix.Syncfs(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
