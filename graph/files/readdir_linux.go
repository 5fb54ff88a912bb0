//go:build !bottle_portable

// Linux lists folders with raw getdents64 into a reused buffer: no
// allocation per entry, and no lstat where the file system gives each
// entry's type, which most do. On a big tree this is most of an
// expansion's time. readdir_portable.go is the same for other systems.

package files

import (
	"bytes"
	"errors"
	"io/fs"
	"unsafe"

	"golang.org/x/sys/unix"
)

// list reads the files, folders and links of folder abs (not ".", "..",
// devices, pipes or sockets) into r.names and r.ents, in no order. A folder
// that is gone, is not a folder or is a link lists nothing.
func (r *dirReader) list(abs string) error {
	r.names, r.ents = r.names[:0], r.ents[:0]
	fd, err := openDir(abs)
	if fd < 0 {
		return err
	}
	defer unix.Close(fd)
	if r.buf == nil {
		r.buf = make([]byte, 32<<10)
	}
	for {
		n, err := unix.Getdents(fd, r.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "readdirent", Path: abs, Err: err}
		}
		if n <= 0 {
			return nil
		}
		for b := r.buf[:n]; len(b) >= 19; {
			// struct linux_dirent64: ino u64, off i64, reclen u16, type u8, name.
			reclen := int(*(*uint16)(unsafe.Pointer(&b[16])))
			if reclen < 19 || reclen > len(b) {
				return &fs.PathError{Op: "readdirent", Path: abs, Err: errors.New("bad directory entry")}
			}
			typ := b[18]
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if len(name) == 0 || name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.') {
				continue
			}
			if typ == unix.DT_UNKNOWN {
				var st unix.Stat_t
				if err := unix.Fstatat(fd, string(name), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
					if err == unix.ENOENT {
						continue
					}
					return &fs.PathError{Op: "lstat", Path: abs + "/" + string(name), Err: err}
				}
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFDIR:
					typ = unix.DT_DIR
				case unix.S_IFREG:
					typ = unix.DT_REG
				case unix.S_IFLNK:
					typ = unix.DT_LNK
				}
			}
			if typ != unix.DT_DIR && typ != unix.DT_REG && typ != unix.DT_LNK {
				continue
			}
			r.ents = append(r.ents, dirent{off: uint32(len(r.names)), len: uint32(len(name)), typ: typ})
			r.names = append(r.names, name...)
		}
	}
}
