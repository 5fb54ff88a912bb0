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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	dropped bool // forgotten after it was put (the file went missing)
	st      stat
	hashed  int64 // a time (ns) taken before the file was looked at: see trusted
	digest  cache.Digest
	link    string
}

// racySlack is the file system's timestamp granularity and clock slack.
//
// The racy-git rule. A record is made from an lstat followed by a read. A
// write that lands after the read but in the same clock tick as the write
// the lstat saw leaves size and mtime as they were, so the stat data alone
// cannot tell the record is stale. Each record therefore keeps the time
// "hashed", read from the clock before the lstat, and is trusted only when
// both mtime and ctime are older than hashed by more than racySlack: a write
// after the lstat would carry a timestamp of at least hashed minus one tick
// (the kernel's coarse clock lags by at most a jiffy, and coarse file systems
// round by at most 2 s, FAT), so it cannot hide behind the recorded stat
// data. A distrusted file is simply re-hashed on its next use, which records
// a new, later "hashed" time, so it is trusted again once it stays put.
// Unlike git's rule (compare mtimes with the index file's own mtime) this
// needs no smudging of racy entries when the index is rewritten later.
var racySlack = int64(2 * time.Second) // a variable for tests

func (r *record) trusted() bool {
	return r.st.mtime < r.hashed-racySlack && r.st.ctime < r.hashed-racySlack
}

// Index maps workspace paths to stat data and digests, persisted in one
// file, so that an unchanged file is never read twice. It is safe for
// concurrent use.
//
// The file is loaded as it is (one read, no parsing of records): its records
// have a fixed size and are sorted by path, and a lookup is a binary search.
// Records made this run live in an overlay map until Save merges them in.
type Index struct {
	path  string
	mu    sync.RWMutex
	base  []byte // the records of the loaded file, recSize each, sorted by path
	strs  []byte // the paths and link targets the records point into
	n     int    // number of records in base
	over  map[string]*record
	list  []overRec       // over's records in the order they were first put
	gone  map[string]bool // paths found missing this run
	dirty bool
}

// The file: indexMagic, record count (u64), length of the string area (u64),
// the records, the string area. All integers little-endian.
const (
	indexMagic = "bottle-index 2\n\x00"
	headerSize = len(indexMagic) + 16
	recSize    = 96
	// record layout
	offPath   = 0  // u32 offset into strs, u32 length
	offLink   = 8  // u32 offset, u32 length
	offSize   = 16 // i64
	offMtime  = 24 // i64 ns
	offCtime  = 32 // i64 ns
	offIno    = 40 // u64
	offHashed = 48 // i64 ns
	offMode   = 56 // u32 st_mode, u32 reserved
	offDigest = 64 // 32 bytes
)

// OpenIndex loads the index at path. A missing, damaged or old-format index
// is an empty one: it is only a cache of hashes. Other I/O errors are
// returned.
func OpenIndex(path string) (*Index, error) {
	ix := &Index{path: path, over: map[string]*record{}, gone: map[string]bool{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading file-hash index: %w", err)
	}
	if base, strs, n, ok := checkIndex(b); ok {
		ix.base, ix.strs, ix.n = base, strs, n
	}
	return ix, nil
}

// checkIndex validates the file: sizes, every string within bounds, paths
// strictly increasing (the binary search depends on it).
func checkIndex(b []byte) (base, strs []byte, n int, ok bool) {
	if len(b) < headerSize || string(b[:len(indexMagic)]) != indexMagic {
		return nil, nil, 0, false
	}
	n64 := binary.LittleEndian.Uint64(b[len(indexMagic):])
	s64 := binary.LittleEndian.Uint64(b[len(indexMagic)+8:])
	rest := uint64(len(b) - headerSize)
	if n64 > rest/recSize || s64 != rest-n64*recSize {
		return nil, nil, 0, false
	}
	n = int(n64)
	base = b[headerSize : headerSize+n*recSize]
	strs = b[headerSize+n*recSize:]
	var prev []byte
	for i := 0; i < n; i++ {
		r := base[i*recSize : (i+1)*recSize]
		po, pl := binary.LittleEndian.Uint32(r[offPath:]), binary.LittleEndian.Uint32(r[offPath+4:])
		lo, ll := binary.LittleEndian.Uint32(r[offLink:]), binary.LittleEndian.Uint32(r[offLink+4:])
		if pl == 0 || uint64(po)+uint64(pl) > s64 || uint64(lo)+uint64(ll) > s64 {
			return nil, nil, 0, false
		}
		p := strs[po : po+pl]
		if i > 0 && bytes.Compare(prev, p) >= 0 {
			return nil, nil, 0, false
		}
		prev = p
	}
	return base, strs, n, true
}

func (ix *Index) str(r []byte, off int) string {
	o, l := binary.LittleEndian.Uint32(r[off:]), binary.LittleEndian.Uint32(r[off+4:])
	if l == 0 {
		return ""
	}
	return unsafe.String(&ix.strs[o], l) // ix.strs is never modified
}

func (ix *Index) baseRec(i int) []byte { return ix.base[i*recSize : (i+1)*recSize] }

// find returns the loaded record of p.
func (ix *Index) find(p string) (record, bool) {
	i, found := search(ix.n, func(i int) int { return strings.Compare(ix.str(ix.baseRec(i), offPath), p) })
	if !found {
		return record{}, false
	}
	return ix.decode(ix.baseRec(i)), true
}

func search(n int, cmp func(int) int) (int, bool) {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		c := cmp(m)
		if c == 0 {
			return m, true
		}
		if c < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, false
}

func (ix *Index) decode(r []byte) record {
	var rec record
	rec.st.size = int64(binary.LittleEndian.Uint64(r[offSize:]))
	rec.st.mtime = int64(binary.LittleEndian.Uint64(r[offMtime:]))
	rec.st.ctime = int64(binary.LittleEndian.Uint64(r[offCtime:]))
	rec.st.ino = binary.LittleEndian.Uint64(r[offIno:])
	rec.hashed = int64(binary.LittleEndian.Uint64(r[offHashed:]))
	rec.st.mode = binary.LittleEndian.Uint32(r[offMode:])
	copy(rec.digest[:], r[offDigest:offDigest+32])
	rec.link = ix.str(r, offLink)
	return rec
}

// get returns the current record of p. The caller holds ix.mu.
func (ix *Index) get(p string) (record, bool) {
	if len(ix.over) > 0 {
		if r := ix.over[p]; r != nil {
			return *r, true
		}
	}
	if len(ix.gone) > 0 && ix.gone[p] {
		return record{}, false
	}
	return ix.find(p)
}

// Has reports whether the index holds a record of p: p was a regular file
// or a link when it was last hashed.
func (ix *Index) Has(p string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.get(p)
	return ok
}

// count returns the number of paths the index holds.
func (ix *Index) count() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 0
	ix.each(ix.overList(), func(string, *record) { n++ })
	return n
}

type overRec struct {
	p string
	r *record
}

// overList returns the overlay's records sorted by path. They are kept in
// the order they were first put, which is sorted when Hash was given sorted
// paths.
func (ix *Index) overList() []overRec {
	cmp := func(a, b overRec) int { return strings.Compare(a.p, b.p) }
	list := ix.list
	if !slices.IsSortedFunc(list, cmp) {
		list = slices.Clone(list)
		slices.SortStableFunc(list, cmp)
	}
	return list
}

// each calls f for every record in path order: the loaded ones merged with
// the overlay (list, from overList), less the paths found missing.
func (ix *Index) each(list []overRec, f func(p string, r *record)) {
	i, j := 0, 0
	var buf record
	for i < ix.n || j < len(list) {
		var bp string
		if i < ix.n {
			bp = ix.str(ix.baseRec(i), offPath)
		}
		if j < len(list) && (i >= ix.n || list[j].p <= bp) {
			o := list[j]
			j++
			if i < ix.n && o.p == bp {
				i++
			}
			if !o.r.dropped {
				f(o.p, o.r)
			}
			continue
		}
		if len(ix.gone) == 0 || !ix.gone[bp] {
			buf = ix.decode(ix.baseRec(i))
			f(bp, &buf)
		}
		i++
	}
}

func (ix *Index) encode() []byte {
	list := ix.overList()
	var n, slen int
	ix.each(list, func(p string, r *record) { n++; slen += len(p) + len(r.link) })
	b := make([]byte, headerSize+n*recSize, headerSize+n*recSize+slen)
	copy(b, indexMagic)
	binary.LittleEndian.PutUint64(b[len(indexMagic):], uint64(n))
	binary.LittleEndian.PutUint64(b[len(indexMagic)+8:], uint64(slen))
	strStart := headerSize + n*recSize
	i := 0
	ix.each(list, func(p string, r *record) {
		rec := b[headerSize+i*recSize:]
		i++
		binary.LittleEndian.PutUint32(rec[offPath:], uint32(len(b)-strStart))
		binary.LittleEndian.PutUint32(rec[offPath+4:], uint32(len(p)))
		b = append(b, p...)
		binary.LittleEndian.PutUint32(rec[offLink:], uint32(len(b)-strStart))
		binary.LittleEndian.PutUint32(rec[offLink+4:], uint32(len(r.link)))
		b = append(b, r.link...)
		binary.LittleEndian.PutUint64(rec[offSize:], uint64(r.st.size))
		binary.LittleEndian.PutUint64(rec[offMtime:], uint64(r.st.mtime))
		binary.LittleEndian.PutUint64(rec[offCtime:], uint64(r.st.ctime))
		binary.LittleEndian.PutUint64(rec[offIno:], r.st.ino)
		binary.LittleEndian.PutUint64(rec[offHashed:], uint64(r.hashed))
		binary.LittleEndian.PutUint32(rec[offMode:], r.st.mode)
		copy(rec[offDigest:offDigest+32], r.digest[:])
	})
	return b
}

// Save writes the index if anything changed: to a temporary file beside it,
// then renamed, so a reader never sees half an index. When two processes
// save at once, the last rename wins and both files are complete. Records
// of files found missing by Hash or Stat are dropped; all others are kept.
func (ix *Index) Save() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.dirty {
		return nil
	}
	b := ix.encode()
	f, err := os.CreateTemp(filepath.Dir(ix.path), ".index-*")
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
	// The overlay is now part of the file; keep serving from memory.
	ix.dirty = false
	return nil
}

// filesRead counts regular files read, for tests.
var filesRead atomic.Int64

// hasher looks at files for one worker: it keeps a read buffer, a hash
// state and the folder it is in (paths come sorted, so the next file is
// usually in the same folder, and is looked at relative to it: see
// folder_linux.go).
type hasher struct {
	root   string
	buf    []byte
	h      hash.Hash
	st     unix.Stat_t
	in     bool   // whether folder is open
	dir    string // workspace-relative name of folder
	folder folder
	now    int64 // clock read before the current batch of lstats
}

func newHasher(root string) *hasher { return &hasher{root: root} }

func (h *hasher) close() {
	if h.in {
		h.folder.close()
		h.in = false
	}
}

func (h *hasher) abs(rel string) string {
	if rel == "" {
		return h.root
	}
	if strings.HasSuffix(h.root, "/") {
		return h.root + rel
	}
	return h.root + "/" + rel
}

// enter opens the folder dir (workspace-relative, "" for the root).
func (h *hasher) enter(dir string) error {
	if h.in && h.dir == dir {
		return nil
	}
	h.close()
	if err := h.folder.open(h.abs(dir)); err != nil {
		return err
	}
	h.in, h.dir = true, dir
	return nil
}

func statOf(st *unix.Stat_t) stat {
	return stat{
		size:  st.Size,
		mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		ctime: st.Ctim.Sec*1e9 + st.Ctim.Nsec,
		ino:   st.Ino,
		mode:  uint32(st.Mode), // uint16 on darwin
	}
}

// hashFile reads the file name in h's folder, size bytes long by its lstat,
// and returns its digest and whether it read exactly size bytes.
func (h *hasher) hashFile(name string, size int64) (cache.Digest, bool, error) {
	fd, err := h.folder.openFile(name)
	if err != nil {
		return cache.Digest{}, false, err
	}
	defer unix.Close(fd)
	if h.buf == nil {
		h.buf = make([]byte, 128<<10)
		h.h = sha256.New()
	}
	h.h.Reset()
	var total int64
	for {
		n, err := unix.Read(fd, h.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return cache.Digest{}, false, err
		}
		if n <= 0 {
			break
		}
		h.h.Write(h.buf[:n])
		total += int64(n)
		// A short read of a regular file means end of file: save the
		// read that would return 0. A file that grew after the lstat
		// is caught by its new stat data on the next run.
		if size > 0 && total >= size && n < len(h.buf) {
			break
		}
	}
	var d cache.Digest
	h.h.Sum(d[:0])
	filesRead.Add(1)
	return d, total == size, nil
}

// lookup returns the entry for one path, hashing it when its stat data
// changed or its record is racy. The returned record is non-nil when it must
// be stored. The caller holds ix.mu for reading.
func (ix *Index) lookup(h *hasher, p string) (Entry, *record, error) {
	dir, name := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	if name == "" || name == "." || name == ".." {
		return Entry{}, nil, fmt.Errorf("%s is not a file path", p)
	}
	if err := h.enter(dir); err != nil {
		if err == unix.ENOTDIR {
			err = unix.ENOENT
		}
		return Entry{}, nil, &fs.PathError{Op: "open", Path: h.abs(dir), Err: err}
	}
	if err := h.folder.lstat(name, &h.st); err != nil {
		return Entry{}, nil, &fs.PathError{Op: "lstat", Path: h.abs(p), Err: err}
	}
	st := statOf(&h.st)
	mode := fs.FileMode(st.mode & 0o777)
	isLink := st.mode&unix.S_IFMT == unix.S_IFLNK
	if isLink {
		mode |= fs.ModeSymlink
	}
	e := Entry{Path: p, Size: st.size, Mode: mode}
	if r, ok := ix.get(p); ok && r.st == st && r.trusted() {
		e.Digest, e.Link = r.digest, r.link
		return e, nil, nil
	}
	nr := &record{st: st, hashed: h.now}
	switch {
	case isLink:
		if h.buf == nil {
			h.buf = make([]byte, 128<<10)
			h.h = sha256.New()
		}
		n, err := h.folder.readlink(name, h.buf)
		if err != nil {
			return Entry{}, nil, &fs.PathError{Op: "readlink", Path: h.abs(p), Err: err}
		}
		if n == len(h.buf) {
			return Entry{}, nil, fmt.Errorf("%s: link target too long", p)
		}
		nr.link = string(h.buf[:n])
		nr.digest = cache.SumString(nr.link)
		if int64(n) != st.size {
			nr.hashed = 0 // changed under us: look again next time
		}
	case st.mode&unix.S_IFMT == unix.S_IFREG:
		d, whole, err := h.hashFile(name, st.size)
		if err != nil {
			return Entry{}, nil, &fs.PathError{Op: "read", Path: h.abs(p), Err: err}
		}
		nr.digest = d
		if !whole {
			nr.hashed = 0 // changed under us: look again next time
		}
	default:
		return Entry{}, nil, fmt.Errorf("%s is not a regular file or a link", p)
	}
	e.Digest, e.Link = nr.digest, nr.link
	return e, nr, nil
}

// Hash returns the entries of paths (relative to root), in order, reading
// only files whose stat data changed or whose record is racy. The work is
// spread over all cores in chunks; sorted paths are fastest. A missing file
// is an error that wraps fs.ErrNotExist and names the path.
func (ix *Index) Hash(root string, paths []string) ([]Entry, error) {
	out, _, err := ix.hashAll(root, paths, false)
	return out, err
}

// StatAll is Hash for files that may be missing: found[i] tells whether
// paths[i] exists. Planning checks every recorded output with it at once.
func (ix *Index) StatAll(root string, paths []string) (entries []Entry, found []bool, err error) {
	return ix.hashAll(root, paths, true)
}

func (ix *Index) hashAll(root string, paths []string, allowMissing bool) ([]Entry, []bool, error) {
	out := make([]Entry, len(paths))
	found := make([]bool, len(paths))
	const chunk = 256
	workers := min(runtime.NumCPU(), (len(paths)+chunk-1)/chunk)
	type update struct {
		i int
		r *record
	}
	var (
		next    atomic.Int64
		failed  atomic.Bool
		mu      sync.Mutex
		firstEr error
		missing []string
		wg      sync.WaitGroup
	)
	updates := make([][]update, workers)
	ix.mu.RLock()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := newHasher(root)
			defer h.close()
			var ups []update
			defer func() { updates[w] = ups }()
			for !failed.Load() {
				start := int(next.Add(chunk)) - chunk
				if start >= len(paths) {
					return
				}
				end := min(start+chunk, len(paths))
				h.now = time.Now().UnixNano()
				for i := start; i < end; i++ {
					e, nr, err := ix.lookup(h, paths[i])
					if allowMissing && errors.Is(err, fs.ErrNotExist) {
						mu.Lock()
						missing = append(missing, paths[i])
						mu.Unlock()
						continue
					}
					if err != nil {
						mu.Lock()
						if errors.Is(err, fs.ErrNotExist) {
							missing = append(missing, paths[i])
						}
						if firstEr == nil {
							firstEr = fmt.Errorf("hashing %s: %w", paths[i], err)
						}
						mu.Unlock()
						failed.Store(true)
						return
					}
					out[i], found[i] = e, true
					if nr != nil {
						ups = append(ups, update{i, nr})
					}
				}
			}
		}()
	}
	wg.Wait()
	ix.mu.RUnlock()
	// Put the new records in the order of paths, so that their keys stay
	// sorted when paths are.
	var all []update
	for _, ups := range updates {
		all = append(all, ups...)
	}
	slices.SortFunc(all, func(a, b update) int { return a.i - b.i })
	ix.mu.Lock()
	for _, u := range all {
		ix.put(paths[u.i], u.r)
	}
	for _, p := range missing {
		ix.forget(p)
	}
	ix.mu.Unlock()
	if firstEr != nil {
		return nil, nil, firstEr
	}
	return out, found, nil
}

// put stores a new record of p. The caller holds ix.mu.
func (ix *Index) put(p string, r *record) {
	if old := ix.over[p]; old != nil {
		*old = *r
	} else {
		ix.over[p] = r
		ix.list = append(ix.list, overRec{p, r})
	}
	delete(ix.gone, p)
	ix.dirty = true
}

// forget drops the record of p, a file found missing. The caller holds ix.mu.
func (ix *Index) forget(p string) {
	if _, had := ix.get(p); had {
		if r := ix.over[p]; r != nil {
			r.dropped = true
			delete(ix.over, p)
		}
		ix.gone[p] = true
		ix.dirty = true
	}
}

// Stat returns the entry for one file, for checking that an output is
// intact (through the index, so an untouched file is not read); ok is false
// when the file does not exist.
func (ix *Index) Stat(root, p string) (Entry, bool, error) {
	h := newHasher(root)
	defer h.close()
	h.now = time.Now().UnixNano()
	ix.mu.RLock()
	e, nr, err := ix.lookup(h, p)
	ix.mu.RUnlock()
	if errors.Is(err, fs.ErrNotExist) {
		ix.mu.Lock()
		ix.forget(p)
		ix.mu.Unlock()
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("hashing %s: %w", p, err)
	}
	if nr != nil {
		ix.mu.Lock()
		ix.put(p, nr)
		ix.mu.Unlock()
	}
	return e, true, nil
}
