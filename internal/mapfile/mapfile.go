// Package mapfile reads the files every plan loads whole (the file-hash
// index, the parsed config, the state) by mapping them into memory rather
// than copying them: no fresh memory to fill, no garbage to collect, and a
// 12 MB index is ready at once.
//
// A mapping is never unmapped: what was read from it (strings that share
// its memory, see internal/binrec) lives as long as the process. bottle
// replaces these files only by renaming a new one over them, which leaves
// a mapped old file intact.
package mapfile

import (
	"os"
)

// small files are read: a mapping costs more than their copy.
const small = 64 << 10

// Read returns the contents of the file at path, which the caller must
// not modify. Errors are os.ReadFile's.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if size := fi.Size(); fi.Mode().IsRegular() && size >= small && size == int64(int(size)) {
		if b, err := mmap(f, int(size)); err == nil {
			return b, nil
		}
	}
	return os.ReadFile(path)
}
