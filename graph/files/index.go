package files

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bottle-build/bottle/cache"
)

// Entry is one hashed file.
type Entry struct {
	Path   string // workspace-relative, slash-separated
	Size   int64
	Mode   fs.FileMode // permission bits, plus fs.ModeSymlink for a link
	Digest cache.Digest
	Link   string // a symbolic link's target (its digest is of this text)
}

// Executable reports whether any execute bit is set.
func (e Entry) Executable() bool { return e.Mode&fs.ModeSymlink == 0 && e.Mode&0o111 != 0 }

// stat is what decides whether a file may have changed.
type stat struct {
	size, mtime, ctime int64
	ino                uint64
	mode               uint32
}

type record struct {
	st     stat
	hashed int64 // when the content was read (ns): see racy
	digest cache.Digest
	link   string
}

// racySlack is how close to the moment a file was read its mtime may be
// before the recorded digest is distrusted: a write in the same clock tick
// as the read would leave the stat data unchanged ("racy git"). Such a file
// is re-hashed on its next use; once read well after its last change, it is
// trusted again.
var racySlack = int64(time.Second) // a variable for tests

func (r *record) trusted() bool {
	return r.st.mtime < r.hashed-racySlack && r.st.ctime < r.hashed-racySlack
}

// Index maps workspace paths to stat data and digests, persisted in one
// file, so that an unchanged file is never read twice. It is safe for
// concurrent use.
type Index struct {
	path  string
	mu    sync.RWMutex
	recs  map[string]*record
	dirty bool
}

const indexMagic = "bottle-index 1\n"

// OpenIndex loads the index at path. A missing, damaged or old index is an
// empty one: it is only a cache of hashes.
func OpenIndex(path string) (*Index, error) {
	ix := &Index{path: path, recs: map[string]*record{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading file-hash index: %w", err)
	}
	if recs, ok := decodeIndex(b); ok {
		ix.recs = recs
	}
	return ix, nil
}

func decodeIndex(b []byte) (map[string]*record, bool) {
	if !bytes.HasPrefix(b, []byte(indexMagic)) {
		return nil, false
	}
	b = b[len(indexMagic):]
	if len(b) < 8 {
		return nil, false
	}
	n := binary.LittleEndian.Uint64(b)
	b = b[8:]
	if n > uint64(len(b))/60 {
		return nil, false
	}
	recs := make(map[string]*record, n)
	all := make([]record, n)
	for i := uint64(0); i < n; i++ {
		if len(b) < 2 {
			return nil, false
		}
		pl := int(binary.LittleEndian.Uint16(b))
		b = b[2:]
		if pl == 0 || len(b) < pl+2 {
			return nil, false
		}
		p := unsafe.String(&b[0], pl) // b is never modified: the strings share it
		b = b[pl:]
		ll := int(binary.LittleEndian.Uint16(b))
		b = b[2:]
		const fixed = 8*5 + 4 + 32
		if len(b) < ll+fixed {
			return nil, false
		}
		r := &all[i]
		if ll > 0 {
			r.link = unsafe.String(&b[0], ll)
		}
		b = b[ll:]
		r.st.size = int64(binary.LittleEndian.Uint64(b[0:]))
		r.st.mtime = int64(binary.LittleEndian.Uint64(b[8:]))
		r.st.ctime = int64(binary.LittleEndian.Uint64(b[16:]))
		r.st.ino = binary.LittleEndian.Uint64(b[24:])
		r.hashed = int64(binary.LittleEndian.Uint64(b[32:]))
		r.st.mode = binary.LittleEndian.Uint32(b[40:])
		copy(r.digest[:], b[44:76])
		b = b[fixed:]
		recs[p] = r
	}
	return recs, len(b) == 0
}

func encodeIndex(recs map[string]*record) []byte {
	size := len(indexMagic) + 8
	for p, r := range recs {
		size += 4 + len(p) + len(r.link) + 76
	}
	b := make([]byte, 0, size)
	b = append(b, indexMagic...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(recs)))
	for p, r := range recs {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p)))
		b = append(b, p...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(r.link)))
		b = append(b, r.link...)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.st.size))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.st.mtime))
		b = binary.LittleEndian.AppendUint64(b, uint64(r.st.ctime))
		b = binary.LittleEndian.AppendUint64(b, r.st.ino)
		b = binary.LittleEndian.AppendUint64(b, uint64(r.hashed))
		b = binary.LittleEndian.AppendUint32(b, r.st.mode)
		b = append(b, r.digest[:]...)
	}
	return b
}

// Save writes the index if anything changed: to a temporary file beside it,
// then renamed, so a reader never sees half an index.
func (ix *Index) Save() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.dirty {
		return nil
	}
	b := encodeIndex(ix.recs)
	dir := filepath.Dir(ix.path)
	f, err := os.CreateTemp(dir, ".index-*")
	if err != nil {
		return fmt.Errorf("saving file-hash index: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), ix.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("saving file-hash index: %w", err)
	}
	ix.dirty = false
	return nil
}

// hasher reads and hashes files, reusing its buffer and hash state.
type hasher struct {
	buf []byte
	st  unix.Stat_t
	h   hash.Hash
	// The folder of the last file looked at, open, so that each look-up
	// resolves one path element instead of the whole path.
	dir   string
	dirfd int
}

// at returns a descriptor of dir (an absolute path) and the name to use
// relative to it.
func (h *hasher) at(abs string) (int, string) {
	i := strings.LastIndexByte(abs, '/')
	dir, name := abs[:i], abs[i+1:]
	if dir == "" {
		dir = "/"
	}
	if h.dir != dir || h.dirfd <= 0 {
		h.close()
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return unix.AT_FDCWD, abs
		}
		h.dir, h.dirfd = dir, fd
	}
	return h.dirfd, name
}

func (h *hasher) close() {
	if h.dirfd > 0 {
		unix.Close(h.dirfd)
	}
	h.dir, h.dirfd = "", 0
}

func (h *hasher) hashFile(abs string) (cache.Digest, error) {
	// Raw system calls: os.Open registers every file with the poller and a
	// finalizer, which costs more than reading a small file.
	dirfd, name := h.at(abs)
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return cache.Digest{}, &fs.PathError{Op: "open", Path: abs, Err: err}
	}
	defer syscall.Close(fd)
	if h.buf == nil {
		h.buf = make([]byte, 64<<10)
		h.h = sha256.New()
	}
	h.h.Reset()
	for {
		n, err := syscall.Read(fd, h.buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return cache.Digest{}, &fs.PathError{Op: "read", Path: abs, Err: err}
		}
		if n == 0 {
			break
		}
		h.h.Write(h.buf[:n])
	}
	var d cache.Digest
	h.h.Sum(d[:0])
	return d, nil
}

// lookup returns the entry for one path, hashing it when its stat data
// changed or its record is racy. The returned record is non-nil when it must
// be stored. The caller holds ix.mu for reading.
func (ix *Index) lookup(h *hasher, root, p string) (Entry, *record, error) {
	abs := root + "/" + p
	dirfd, name := h.at(abs)
	if err := unix.Fstatat(dirfd, name, &h.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Entry{}, nil, &fs.PathError{Op: "lstat", Path: abs, Err: err}
	}
	st := stat{
		size: h.st.Size,
		ino:  h.st.Ino,
		mode: h.st.Mode,
	}
	st.mtime = h.st.Mtim.Sec*1e9 + h.st.Mtim.Nsec
	st.ctime = h.st.Ctim.Sec*1e9 + h.st.Ctim.Nsec
	mode := fs.FileMode(st.mode & 0o777)
	isLink := st.mode&syscall.S_IFMT == syscall.S_IFLNK
	if isLink {
		mode |= fs.ModeSymlink
	}
	e := Entry{Path: p, Size: st.size, Mode: mode}
	if r := ix.recs[p]; r != nil && r.st == st && r.trusted() {
		e.Digest, e.Link = r.digest, r.link
		return e, nil, nil
	}
	nr := &record{st: st, hashed: time.Now().UnixNano()}
	var err error
	switch {
	case isLink:
		nr.link, err = os.Readlink(abs)
		if err != nil {
			return Entry{}, nil, err
		}
		nr.digest = cache.SumString(nr.link)
	case st.mode&syscall.S_IFMT == syscall.S_IFREG:
		nr.digest, err = h.hashFile(abs)
		if err != nil {
			return Entry{}, nil, err
		}
	default:
		return Entry{}, nil, fmt.Errorf("%s is not a regular file or a link", p)
	}
	e.Digest, e.Link = nr.digest, nr.link
	return e, nr, nil
}

// Hash returns the entries of paths (relative to root), in order, reading
// only files whose stat data changed. The work is spread over all cores.
func (ix *Index) Hash(root string, paths []string) ([]Entry, error) {
	out, _, err := ix.hashAll(root, paths, false)
	return out, err
}

// StatAll is Hash for files that may be missing: found[i] tells whether
// paths[i] exists. Planning uses it to check many outputs at once.
func (ix *Index) StatAll(root string, paths []string) (entries []Entry, found []bool, err error) {
	return ix.hashAll(root, paths, true)
}

func (ix *Index) hashAll(root string, paths []string, allowMissing bool) ([]Entry, []bool, error) {
	out := make([]Entry, len(paths))
	found := make([]bool, len(paths))
	workers := runtime.NumCPU()
	const chunk = 256
	if len(paths) < chunk {
		workers = 1
	}
	var (
		next    int
		mu      sync.Mutex
		firstEr error
		wg      sync.WaitGroup
	)
	type update struct {
		path string
		rec  *record
	}
	allUpdates := make([][]update, workers)
	ix.mu.RLock()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := &hasher{}
			defer h.close()
			var updates []update
			defer func() { allUpdates[w] = updates }()
			for {
				mu.Lock()
				start := next
				next += chunk
				stop := firstEr != nil
				mu.Unlock()
				if start >= len(paths) || stop {
					break
				}
				end := min(start+chunk, len(paths))
				for i := start; i < end; i++ {
					e, nr, err := ix.lookup(h, root, paths[i])
					if allowMissing && errors.Is(err, fs.ErrNotExist) {
						continue
					}
					if err != nil {
						mu.Lock()
						if firstEr == nil {
							firstEr = fmt.Errorf("hashing %s: %w", paths[i], err)
						}
						mu.Unlock()
						break
					}
					out[i], found[i] = e, true
					if nr != nil {
						updates = append(updates, update{paths[i], nr})
					}
				}
			}
		}()
	}
	wg.Wait()
	ix.mu.RUnlock()
	ix.mu.Lock()
	for _, updates := range allUpdates {
		for _, u := range updates {
			ix.recs[u.path] = u.rec
			ix.dirty = true
		}
	}
	ix.mu.Unlock()
	if firstEr != nil {
		return nil, nil, firstEr
	}
	return out, found, nil
}

// Stat returns the entry for one file, for checking that an output is
// intact; ok is false when the file does not exist.
func (ix *Index) Stat(root, p string) (Entry, bool, error) {
	h := &hasher{}
	ix.mu.RLock()
	e, nr, err := ix.lookup(h, root, p)
	ix.mu.RUnlock()
	h.close()
	if errors.Is(err, fs.ErrNotExist) {
		ix.mu.Lock()
		if _, had := ix.recs[p]; had {
			delete(ix.recs, p)
			ix.dirty = true
		}
		ix.mu.Unlock()
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	if nr != nil {
		ix.mu.Lock()
		ix.recs[p] = nr
		ix.dirty = true
		ix.mu.Unlock()
	}
	return e, true, nil
}
