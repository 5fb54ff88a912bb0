// The portable way for the index to look at files in a folder, by full
// path with calls every Unix has: what systems other than Linux use
// (folder_other.go), and what the tests compare Linux's O_PATH folder
// (folder_linux.go) with.

package files

import (
	"golang.org/x/sys/unix"
)

// pathFolder is folder (see folder_linux.go) by path: it holds the
// folder's path and nothing open.
type pathFolder struct {
	abs string
}

// open checks that abs is a folder, following links, as opening it would.
func (f *pathFolder) open(abs string) error {
	var st unix.Stat_t
	for {
		err := unix.Stat(abs, &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	f.abs = abs
	return nil
}

func (f *pathFolder) close() { f.abs = "" }

func (f *pathFolder) path(name string) string { return join(f.abs, name) }

func (f *pathFolder) lstat(name string, st *unix.Stat_t) error {
	for {
		err := unix.Lstat(f.path(name), st)
		if err != unix.EINTR {
			return err
		}
	}
}

func (f *pathFolder) openFile(name string) (int, error) {
	for {
		fd, err := unix.Open(f.path(name), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NOCTTY, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func (f *pathFolder) openStat(name string, st *unix.Stat_t) (int, error) {
	return openAndStat(func() (int, error) { return unix.Open(f.path(name), openStatFlags, 0) }, st)
}

func (f *pathFolder) readlink(name string, buf []byte) (int, error) {
	return unix.Readlink(f.path(name), buf)
}

// openStatFlags open a file for openStat: as openFile does, and without
// waiting.
const openStatFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW | unix.O_NOCTTY | unix.O_NONBLOCK

// openAndStat is openStat with open, which it calls again when
// interrupted.
func openAndStat(open func() (int, error), st *unix.Stat_t) (int, error) {
	for {
		fd, err := open()
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, err
		}
		if err := fstat(fd, st); err != nil {
			return -1, err
		}
		return fd, nil
	}
}

// fstat gets the stat data of open file fd, closing it if that fails.
func fstat(fd int, st *unix.Stat_t) error {
	for {
		err := unix.Fstat(fd, st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
		}
		return err
	}
}
