//go:build !linux

package cache

import "os"

// syncCache makes the listed files and folders durable, one fsync each
// (F_FULLFSYNC on macOS, through os.File.Sync): there is no syncfs(2).
func syncCache(_ string, paths []string) error {
	for _, p := range paths {
		if err := syncPath(p); err != nil {
			return err
		}
	}
	return nil
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
