// The portable way to list a folder, with os.File.ReadDir: what systems
// other than Linux use (readdir_other.go), and what the tests compare
// Linux's getdents path (readdir_linux.go) with.

package files

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// listPortable is list (see readdir_linux.go) written with os calls.
func (r *dirReader) listPortable(abs string) error {
	r.names, r.ents = r.names[:0], r.ents[:0]
	fd, err := openDir(abs)
	if fd < 0 {
		return err
	}
	f := os.NewFile(uintptr(fd), abs) // closes fd
	defer f.Close()
	for {
		ents, err := f.ReadDir(1024)
		for _, e := range ents {
			var typ uint8
			switch e.Type() {
			case fs.ModeDir:
				typ = unix.DT_DIR
			case 0:
				typ = unix.DT_REG
			case fs.ModeSymlink:
				typ = unix.DT_LNK
			default:
				continue
			}
			r.ents = append(r.ents, dirent{off: uint32(len(r.names)), len: uint32(len(e.Name())), typ: typ})
			r.names = append(r.names, e.Name()...)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err // a *fs.PathError naming the folder or the entry
		}
	}
}
