package files

// Looking at files: the per-worker hasher, and Hash, StatAll and Stat,
// which consult the index first and read only what it cannot vouch for.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bottle-build/bottle/cache"
)

// filesRead counts regular files read, and lateLooks the lstats of
// lookup, for tests.
var filesRead, lateLooks atomic.Int64

// hasher looks at files for one worker: it keeps a read buffer, a hash
// state and the folder it is in (paths come sorted, so the next file is
// usually in the same folder, and is looked at relative to it: see
// folder_linux.go).
type hasher struct {
	root   string
	rs     *readState // from readers, once h reads: see reader
	st     unix.Stat_t
	in     bool   // whether folder is open
	dir    string // workspace-relative name of folder
	folder folder
	now    int64 // clock read before the current batch of lstats
	near   int   // the index position after the last record found (Index.findNear)
	// nearEarly is the position after the last early record found
	// (prehash.record).
	nearEarly int
	// A folder with few of the paths asked for is not opened: its files
	// are looked at by their path from the workspace's root, held open in
	// top. Opening and closing a folder costs about what two lstats do.
	direct bool     // look at the next path from top
	batch  []string // the paths being looked at, and the position of
	at0    int      // the current one: for plan's look ahead
	topIn  bool
	top    folder
	// slab is where read takes its new records from: allocated a batch
	// at a time, as 100,000 records one by one cost 100,000 allocations
	// and 8 bytes each of rounding.
	slab []record
	// With scratch set, read makes each record in tmp, which the next
	// read overwrites: for a caller that copies it at once (a bulk).
	scratch bool
	tmp     record
}

// fewInFolder is how many paths in a row a folder must hold to be opened.
const fewInFolder = 16

// plan decides how to look at h.batch[h.at0] (in folder dir): by opening
// dir when the paths from there on hold at least fewInFolder of its files.
func (h *hasher) plan(dir string) {
	paths, i := h.batch, h.at0
	if h.in && h.dir == dir {
		h.direct = false
		return
	}
	n := 0
	for j := i; j < len(paths) && n < fewInFolder; j++ {
		d, _ := splitDir(paths[j])
		if d != dir {
			break
		}
		n++
	}
	h.direct = n < fewInFolder && dir != ""
}

func splitDir(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func newHasher(root string) *hasher { return &hasher{root: root} }

// readers keeps the read buffers and hash states of hashers that are done:
// a plan makes a few dozen hashers (a worker each, and one for each output
// Stat checks), and 128 KB of fresh memory costs 32 page faults.
var readers = sync.Pool{New: func() any { return &readState{h: sha256.New()} }}

type readState struct {
	buf [128 << 10]byte
	h   hash.Hash
	sum [sha256.Size]byte
}

// reader returns h's read buffer and hash state, taken from readers the
// first time.
func (h *hasher) reader() *readState {
	if h.rs == nil {
		h.rs = readers.Get().(*readState)
	}
	return h.rs
}

// done closes what h has open and gives back its read buffer. h is not
// used after.
func (h *hasher) done() {
	h.close()
	if h.rs != nil {
		readers.Put(h.rs)
		h.rs = nil
	}
}

func (h *hasher) close() {
	if h.in {
		h.folder.close()
		h.in = false
	}
	if h.topIn {
		h.top.close()
		h.topIn = false
	}
}

// at returns the folder to look at p in (dir and name from splitDir), and
// p's name in it.
func (h *hasher) at(p, dir, name string) (*folder, string, error) {
	if !h.direct {
		return &h.folder, name, h.enter(dir)
	}
	if !h.topIn {
		if err := h.top.open(h.root); err != nil {
			return nil, "", err
		}
		h.topIn = true
	}
	return &h.top, p, nil
}

func (h *hasher) abs(rel string) string { return join(h.root, rel) }

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

// look lstats p (name in folder dir) into h.st, from the folder it opens
// when h.batch holds many of that folder's paths from h.at0 on, else from
// the root; it returns the folder and p's name in it, for reading p next.
// A missing folder or a file where one should be is fs.ErrNotExist.
func (h *hasher) look(p, dir, name string) (*folder, string, error) {
	f, name, err := h.folderOf(p, dir, name)
	if err != nil {
		return nil, "", err
	}
	if err := f.lstat(name, &h.st); err != nil {
		return nil, "", h.lstatError(p, err)
	}
	return f, name, nil
}

// lookOpen is look for a file about to be read, as one the index holds
// no record of is: it opens the file first and takes its stat data from
// the open file (folder.openStat), a quarter less than an lstat then an
// open. It returns the open file when p is a regular file, for read, and
// -1 otherwise. A link, or a file that does not open, is looked at as
// look does.
func (h *hasher) lookOpen(p, dir, name string) (*folder, string, int, error) {
	f, fname, err := h.folderOf(p, dir, name)
	if err != nil {
		return nil, "", -1, err
	}
	fd, err := f.openStat(fname, &h.st)
	switch {
	case err == nil && h.st.Mode&unix.S_IFMT == unix.S_IFREG:
		return f, fname, fd, nil
	case err == nil: // a folder, a pipe: what an lstat would have said
		unix.Close(fd)
		return f, fname, -1, nil
	case err == unix.ENOENT || err == unix.ENOTDIR:
		return nil, "", -1, h.lstatError(p, err) // as an lstat would fail
	}
	f, fname, err = h.look(p, dir, name)
	return f, fname, -1, err
}

// folderOf returns the folder to look at p in (see look) and p's name in
// it.
func (h *hasher) folderOf(p, dir, name string) (*folder, string, error) {
	if !h.in || dir != h.dir || h.direct {
		h.plan(dir)
	}
	f, name, err := h.at(p, dir, name)
	if err != nil {
		if err == unix.ENOTDIR {
			err = unix.ENOENT
		}
		return nil, "", &fs.PathError{Op: "open", Path: h.abs(dir), Err: err}
	}
	return f, name, nil
}

// lstatError is the error of a failed lstat of p.
func (h *hasher) lstatError(p string, err error) error {
	if err == unix.ENOTDIR && h.direct {
		err = unix.ENOENT // a file where a folder of the path should be
	}
	return &fs.PathError{Op: "lstat", Path: h.abs(p), Err: err}
}

// entryFor is the entry of p as st describes it, without its digest.
func entryFor(p string, st stat) Entry {
	return Entry{Path: p, Size: st.size, Mode: modeOf(st.mode)}
}

// hashFile reads the file name in folder f, size bytes long by its stat
// data, or fd if it is open (not -1), and returns its digest and whether
// it read exactly size bytes. It closes the file.
func (h *hasher) hashFile(f *folder, name string, size int64, fd int) (cache.Digest, bool, error) {
	if fd < 0 {
		var err error
		if fd, err = f.openFile(name); err != nil {
			return cache.Digest{}, false, err
		}
	}
	defer unix.Close(fd)
	rs := h.reader()
	rs.h.Reset()
	var total int64
	for {
		n, err := unix.Read(fd, rs.buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return cache.Digest{}, false, err
		}
		if n <= 0 {
			break
		}
		rs.h.Write(rs.buf[:n])
		total += int64(n)
		// A short read of a regular file means end of file: save the
		// read that would return 0. A file that grew after the lstat
		// is caught by its new stat data on the next run.
		if size > 0 && total >= size && n < len(rs.buf) {
			break
		}
	}
	// Summed into rs's buffer: a digest passed to Sum through the
	// interface would be allocated, for every file.
	var d cache.Digest
	copy(d[:], rs.h.Sum(rs.sum[:0]))
	filesRead.Add(1)
	return d, total == size, nil
}

// lookup returns the entry for one path, hashing it when its stat data
// changed or its record is racy. vouched says that the file watcher vouches
// for p's record (watch.go): a trusted, whole record is then used without
// an lstat. The returned record is non-nil when it must be stored. The
// caller holds ix.mu for reading.
func (ix *Index) lookup(h *hasher, p string, vouched bool) (Entry, *record, error) {
	dir, name := splitDir(p)
	if name == "" || name == "." || name == ".." {
		return Entry{}, nil, fmt.Errorf("%s is not a file path", p)
	}
	// The record, looked up once: first when the watcher or an early look
	// may vouch for the file, else before the look, which opens a file
	// with no record to read it next (lookOpen).
	var (
		r            record
		held, looked bool
	)
	if vouched || ix.pre != nil {
		var i int
		r, i, held = ix.getAt(p, &h.near)
		looked = true
		if held && r.trusted() && (vouched && r.hashed != 0 || i >= 0 && ix.unchanged(i)) {
			e := entryFor(p, r.st)
			e.Digest, e.Link = r.digest, r.link
			return e, nil, nil
		}
	}
	// A file hashed early for this plan (Prehash), unless looked at
	// since.
	if ix.early != nil && (len(ix.over) == 0 || ix.over[p] == nil) {
		if r := ix.early.record(p, &h.nearEarly); r != nil {
			e := entryFor(p, r.st)
			e.Digest, e.Link = r.digest, r.link
			return e, r, nil
		}
	}
	if !looked {
		r, held = ix.getNear(p, &h.near)
	}
	lateLooks.Add(1)
	var (
		f   *folder
		fd  = -1
		err error
	)
	if held {
		f, name, err = h.look(p, dir, name)
	} else {
		f, name, fd, err = h.lookOpen(p, dir, name) // read next
	}
	if err != nil {
		return Entry{}, nil, err
	}
	st := statOf(&h.st)
	e := entryFor(p, st)
	if held && r.st == st && r.trusted() {
		e.Digest, e.Link = r.digest, r.link
		return e, nil, nil
	}
	nr, err := h.read(f, name, p, st, fd)
	if err != nil {
		return Entry{}, nil, err
	}
	e.Digest, e.Link = nr.digest, nr.link
	return e, nr, nil
}

// read makes the record of p (name in folder f), just looked at into st:
// it reads the file (from fd if lookOpen opened it, else -1), or the
// link's target.
func (h *hasher) read(f *folder, name, p string, st stat, fd int) (*record, error) {
	isLink := st.mode&unix.S_IFMT == unix.S_IFLNK
	nr := h.newRecord()
	*nr = record{st: st, hashed: h.now}
	switch {
	case isLink:
		buf := h.reader().buf[:]
		n, err := f.readlink(name, buf)
		if err != nil {
			return nil, &fs.PathError{Op: "readlink", Path: h.abs(p), Err: err}
		}
		if n == len(buf) {
			return nil, fmt.Errorf("%s: link target too long", p)
		}
		nr.link = string(buf[:n])
		nr.digest = cache.SumString(nr.link)
		if int64(n) != st.size {
			nr.hashed = 0 // changed under us: look again next time
		}
	case st.mode&unix.S_IFMT == unix.S_IFREG:
		d, whole, err := h.hashFile(f, name, st.size, fd)
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: h.abs(p), Err: err}
		}
		nr.digest = d
		if !whole {
			nr.hashed = 0 // changed under us: look again next time
		}
	default:
		return nil, fmt.Errorf("%s is not a regular file or a link", p)
	}
	return nr, nil
}

// newRecord returns a zero record from h's slab, making a new slab, as
// large as what is left of the batch (at most slabSize records), when it
// is used up. A record that is not stored holds its slab alive no longer
// than the stored ones of the same batch do.
func (h *hasher) newRecord() *record {
	if h.scratch {
		h.tmp = record{}
		return &h.tmp
	}
	if len(h.slab) == 0 {
		n := 1
		if h.at0 < len(h.batch) {
			n = len(h.batch) - h.at0
		}
		h.slab = make([]record, min(n, slabSize))
	}
	r := &h.slab[0]
	h.slab = h.slab[1:]
	return r
}

const slabSize = 256

// modeOf is an Entry's Mode for an st_mode.
func modeOf(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&unix.S_IFMT == unix.S_IFLNK {
		mode |= fs.ModeSymlink
	}
	return mode
}

// Hash returns the entries of paths (relative to root), in order, reading
// only files whose stat data changed or whose record is racy. The work is
// spread over all cores in chunks; sorted paths are fastest. A missing file
// is an error that wraps fs.ErrNotExist and names the path. The entries are
// read only: the index may keep them as its records (a bulk).
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
	updates := make([][]update, workers+1)
	ix.stopPrestat()
	// The early records serve the first batch, which holds the inputs
	// they guessed; a later Hash or StatAll looks for itself.
	ix.mu.Lock()
	early := ix.early
	ix.early = nil
	ix.mu.Unlock()
	vouched := ix.watch.trusts(root, paths)
	ix.mu.RLock()
	// The first batch made into an empty index becomes its bulk: each
	// worker writes the rest of a new record beside its entry (more[i]),
	// instead of keeping the record.
	var b *bulk
	if !allowMissing && ix.bulkable(paths) {
		b = &bulk{more: make([]bulkMore, len(paths))}
	}
	// The early records are taken first, in one pass, before the files
	// left are looked at on every core: the pass's memory (a record of
	// each guess, 11 MB at 100,000 inputs) then goes before the batch's
	// own is made.
	if early != nil {
		hint := 0
		var taken []update
		for i, p := range paths {
			if len(ix.over) > 0 && ix.over[p] != nil {
				continue // looked at since
			}
			r := early.record(p, &hint)
			if r == nil {
				continue
			}
			e := entryFor(p, r.st)
			e.Digest, e.Link = r.digest, r.link
			out[i], found[i] = e, true
			if b != nil {
				b.more[i] = moreOf(r)
			} else {
				taken = append(taken, update{i, r})
			}
		}
		updates[workers] = taken
		early = nil
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := newHasher(root)
			h.scratch = b != nil
			defer h.done()
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
					if found[i] {
						continue // an early record
					}
					h.batch, h.at0 = paths, i
					e, nr, err := ix.lookup(h, paths[i], vouched != nil && vouched[i])
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
					switch {
					case nr != nil && b != nil:
						b.more[i] = moreOf(nr)
					case nr != nil:
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
	if b != nil {
		if firstEr == nil && !slices.ContainsFunc(b.more, func(m bulkMore) bool { return !m.made }) && ix.bulkable(paths) {
			b.entries = out
			ix.bulk = b
			ix.dirty = true
		} else {
			// Some file failed, or another batch came first: what was
			// made goes to the overlay as any record does.
			for i := range paths {
				if b.more[i].made {
					r := recordOf(&out[i], &b.more[i])
					all = append(all, update{i, &r})
				}
			}
		}
	}
	if len(ix.over) == 0 && len(all) > 0 {
		// Sized once: grown from nothing, the overlay of a first plan of
		// 100,000 files ended twice as large as it needed to be.
		ix.over = make(map[string]*record, len(all))
		ix.list = make([]overRec, 0, len(all))
	}
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
	ix.watch.saw(root, paths, found)
	return out, found, nil
}

// bulkable reports whether the records of paths may be the index's bulk:
// it holds none yet, and paths are sorted and distinct. The caller holds
// ix.mu.
func (ix *Index) bulkable(paths []string) bool {
	if ix.n > 0 || len(ix.over) > 0 || ix.bulk != nil || len(ix.gone) > 0 || len(paths) == 0 {
		return false
	}
	for i := 1; i < len(paths); i++ {
		if paths[i-1] >= paths[i] {
			return false
		}
	}
	return true
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
		if ix.bulk != nil {
			if i, ok := ix.bulk.find(p); ok {
				ix.bulk.more[i].dropped = true
			}
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
	defer h.done()
	h.now = time.Now().UnixNano()
	vouched := ix.watch.trusts(root, []string{p})
	h.batch, h.at0 = []string{p}, 0
	ix.mu.RLock()
	e, nr, err := ix.lookup(h, p, vouched != nil && vouched[0])
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
	ix.watch.saw(root, []string{p}, nil)
	return e, true, nil
}
