package files

// The file-hash index: its records and its on-disk format. hash.go looks at
// files and fills it.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/internal/mapfile"
)

// Entry is one hashed file.
type Entry struct {
	Path   string // workspace-relative, slash-separated
	Size   int64
	Mode   fs.FileMode // permission bits, plus fs.ModeSymlink for a link
	Digest cache.Digest
	Link   string // a symbolic link's target (its digest is of this text)
}

// IsLink reports whether the entry is a symbolic link (its key line says
// where it points, not what it holds).
func (e Entry) IsLink() bool { return e.Link != "" || e.Mode&fs.ModeSymlink != 0 }

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
// The racy-git rule. A record is made from an lstat followed by a read (or
// an open, an fstat of the open file and a read: lookOpen). A
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
// Records made this run live in an overlay map until Save merges them in;
// those of a first plan's first batch, in a bulk (see bulk).
type Index struct {
	path  string
	mu    sync.RWMutex
	base  []byte // the records of the loaded file, recSize each, sorted by path
	strs  []byte // the paths and link targets the records point into
	n     int    // number of records in base
	over  map[string]*record
	list  []overRec       // over's records in the order they were first put
	bulk  *bulk           // the records of the first batch made into an empty index, or nil; over wins
	gone  map[string]bool // paths found missing this run
	dirty bool
	pre   *prestat // the early looks of Prestat; nil without
	early *prehash // the early records of Prehash; nil without
	// hashing is set when the first Hash or StatAll starts: from then on
	// no early pass starts.
	hashing bool
	watch   *Watch // the file watcher's word, when there is one (watch.go)
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
	b, err := mapfile.Read(path)
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
	return ix.findNear(p, nil)
}

// findNear is find for a caller that asks in path order: *hint is the
// position after the last record found, tried first (sorted paths mostly
// ask for the next record, or one a few further), before a binary search.
// hint may be nil.
func (ix *Index) findNear(p string, hint *int) (record, bool) {
	if hint != nil {
		for i, end := *hint, min(*hint+4, ix.n); i < end; i++ {
			c := strings.Compare(ix.str(ix.baseRec(i), offPath), p)
			if c == 0 {
				*hint = i + 1
				return ix.decode(ix.baseRec(i)), true
			}
			if c > 0 {
				if i > *hint {
					return record{}, false // between two neighbours: not held
				}
				break
			}
		}
	}
	i, found := search(ix.n, func(i int) int { return strings.Compare(ix.str(ix.baseRec(i), offPath), p) })
	if hint != nil {
		*hint = i
		if found {
			*hint = i + 1
		}
	}
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

func (ix *Index) decodeStat(r []byte) stat {
	return stat{
		size:  int64(binary.LittleEndian.Uint64(r[offSize:])),
		mtime: int64(binary.LittleEndian.Uint64(r[offMtime:])),
		ctime: int64(binary.LittleEndian.Uint64(r[offCtime:])),
		ino:   binary.LittleEndian.Uint64(r[offIno:]),
		mode:  binary.LittleEndian.Uint32(r[offMode:]),
	}
}

func (ix *Index) decode(r []byte) record {
	var rec record
	rec.st = ix.decodeStat(r)
	rec.hashed = int64(binary.LittleEndian.Uint64(r[offHashed:]))
	copy(rec.digest[:], r[offDigest:offDigest+32])
	rec.link = ix.str(r, offLink)
	return rec
}

// bulk holds the records a first plan makes in its first batch: the
// inputs of every step, 100,000 files at 20,000 steps. Kept as a map of
// record objects, they were 20 MB beside the 8 MB of entries Hash returned
// for the same files; a bulk is those entries, sorted by path and shared
// with Hash's caller (both read them only), and beside each the rest of
// its record, 40 bytes and no pointer for the collector to follow.
type bulk struct {
	entries []Entry
	more    []bulkMore
}

type bulkMore struct {
	mtime, ctime int64
	ino          uint64
	hashed       int64
	mode         uint32 // st_mode
	dropped      bool   // forgotten since (the file went missing)
	made         bool   // set: the zero value is no record
}

func moreOf(r *record) bulkMore {
	return bulkMore{mtime: r.st.mtime, ctime: r.st.ctime, ino: r.st.ino, hashed: r.hashed, mode: r.st.mode, dropped: r.dropped, made: true}
}

// recordOf makes the record e and m keep.
func recordOf(e *Entry, m *bulkMore) record {
	return record{
		dropped: m.dropped,
		st:      stat{size: e.Size, mtime: m.mtime, ctime: m.ctime, ino: m.ino, mode: m.mode},
		hashed:  m.hashed,
		digest:  e.Digest,
		link:    e.Link,
	}
}

// find returns the position of p in b.
func (b *bulk) find(p string) (int, bool) {
	return search(len(b.entries), func(i int) int { return strings.Compare(b.entries[i].Path, p) })
}

// get returns the current record of p. The caller holds ix.mu.
func (ix *Index) get(p string) (record, bool) { return ix.getNear(p, nil) }

// getNear is get with findNear's hint.
func (ix *Index) getNear(p string, hint *int) (record, bool) {
	if len(ix.over) > 0 {
		if r := ix.over[p]; r != nil {
			return *r, true
		}
	}
	if len(ix.gone) > 0 && ix.gone[p] {
		return record{}, false
	}
	if r, ok := ix.inBulk(p); ok {
		return r, !r.dropped
	}
	return ix.findNear(p, hint)
}

// inBulk returns the bulk's record of p, if it holds one.
func (ix *Index) inBulk(p string) (record, bool) {
	if ix.bulk == nil {
		return record{}, false
	}
	i, ok := ix.bulk.find(p)
	if !ok {
		return record{}, false
	}
	return recordOf(&ix.bulk.entries[i], &ix.bulk.more[i]), true
}

// getAt is getNear that also returns the position of a loaded record in
// base: -1 for one put this run. hint is required.
func (ix *Index) getAt(p string, hint *int) (record, int, bool) {
	if len(ix.over) > 0 {
		if r := ix.over[p]; r != nil {
			return *r, -1, true
		}
	}
	if len(ix.gone) > 0 && ix.gone[p] {
		return record{}, -1, false
	}
	if r, ok := ix.inBulk(p); ok {
		return r, -1, !r.dropped
	}
	r, ok := ix.findNear(p, hint)
	if !ok {
		return record{}, -1, false
	}
	return r, *hint - 1, true
}

// Has reports whether the index holds a record of p: p was a regular file
// or a link when it was last hashed.
func (ix *Index) Has(p string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.get(p)
	return ok
}

// Empty reports whether the index holds no record: none was loaded, and
// none was made this run.
func (ix *Index) Empty() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.n == 0 && len(ix.over) == 0 && ix.bulk == nil
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
// the bulk's and the overlay's (list, from overList), less the paths found
// missing. Of two records of a path, the overlay's is the current one,
// then the bulk's.
func (ix *Index) each(list []overRec, f func(p string, r *record)) {
	var bk []Entry
	if ix.bulk != nil {
		bk = ix.bulk.entries
	}
	i, j, k := 0, 0, 0 // in base, list, bk
	var buf record
	for i < ix.n || j < len(list) || k < len(bk) {
		// The least path at the three heads.
		var p, bp string
		have := i < ix.n
		if have {
			bp = ix.str(ix.baseRec(i), offPath)
			p = bp
		}
		if k < len(bk) && (!have || bk[k].Path < p) {
			p, have = bk[k].Path, true
		}
		if j < len(list) && (!have || list[j].p < p) {
			p = list[j].p
		}
		inBase := i < ix.n && bp == p
		inBulk := k < len(bk) && bk[k].Path == p
		switch {
		case j < len(list) && list[j].p == p:
			if r := list[j].r; !r.dropped {
				f(p, r)
			}
			j++ // a later record of p in list comes next
		case inBulk:
			if buf = recordOf(&bk[k], &ix.bulk.more[k]); !buf.dropped {
				f(p, &buf)
			}
		case len(ix.gone) == 0 || !ix.gone[p]:
			buf = ix.decode(ix.baseRec(i))
			f(p, &buf)
		}
		if inBase {
			i++
		}
		if inBulk {
			k++
		}
	}
}

// encodeChunk is how much encode holds before it writes: the index of
// 100,000 files is 11 MB, which a plan need not hold all at once.
var encodeChunk = 256 << 10

// encode writes the index to out: the header, every record, then the
// strings the records point into.
func (ix *Index) encode(out io.Writer) error {
	list := ix.overList()
	var n, slen int
	ix.each(list, func(p string, r *record) { n++; slen += len(p) + len(r.link) })
	b := make([]byte, headerSize, max(encodeChunk+recSize, headerSize))
	copy(b, indexMagic)
	binary.LittleEndian.PutUint64(b[len(indexMagic):], uint64(n))
	binary.LittleEndian.PutUint64(b[len(indexMagic)+8:], uint64(slen))
	var err error
	flush := func(at int) { // write b once it holds at bytes
		if len(b) >= at && err == nil {
			_, err = out.Write(b)
			b = b[:0]
		}
	}
	str := 0 // offset of the next string in the strings
	ix.each(list, func(p string, r *record) {
		var rec [recSize]byte
		binary.LittleEndian.PutUint32(rec[offPath:], uint32(str))
		binary.LittleEndian.PutUint32(rec[offPath+4:], uint32(len(p)))
		str += len(p)
		binary.LittleEndian.PutUint32(rec[offLink:], uint32(str))
		binary.LittleEndian.PutUint32(rec[offLink+4:], uint32(len(r.link)))
		str += len(r.link)
		binary.LittleEndian.PutUint64(rec[offSize:], uint64(r.st.size))
		binary.LittleEndian.PutUint64(rec[offMtime:], uint64(r.st.mtime))
		binary.LittleEndian.PutUint64(rec[offCtime:], uint64(r.st.ctime))
		binary.LittleEndian.PutUint64(rec[offIno:], r.st.ino)
		binary.LittleEndian.PutUint64(rec[offHashed:], uint64(r.hashed))
		binary.LittleEndian.PutUint32(rec[offMode:], r.st.mode)
		copy(rec[offDigest:offDigest+32], r.digest[:])
		b = append(b, rec[:]...)
		flush(encodeChunk)
	})
	ix.each(list, func(p string, r *record) {
		b = append(append(b, p...), r.link...)
		flush(encodeChunk)
	})
	flush(0)
	return err
}

// Save writes the index if anything changed, atomically (a reader never
// sees half an index, and a crash leaves the old one or the new). When two processes
// save at once, the last rename wins and both files are complete. Records
// of files found missing by Hash or Stat are dropped; all others are kept.
func (ix *Index) Save() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if !ix.dirty {
		return nil
	}
	f, err := atomicfile.Create(ix.path, "", 0o644)
	if err != nil {
		return fmt.Errorf("saving file-hash index: %w", err)
	}
	defer f.Abort()
	if err := ix.encode(f); err != nil {
		return fmt.Errorf("saving file-hash index: %w", err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("saving file-hash index: %w", err)
	}
	// The overlay is now part of the file; keep serving from memory.
	ix.dirty = false
	return nil
}
