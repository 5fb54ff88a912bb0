package files

// The file watcher's part of planning (settings.fsmonitor = "watchman"):
// given what the watcher says changed since the clock stored beside the
// index, which index records may be used without an lstat, and which
// folder walks of input globs may be reused. Nothing here talks to the
// watcher: cmd/bottle asks it (internal/watchman) and hands over a Changes,
// so planning links no network code. The clock, the paths it vouches for
// and the walks live in a file of their own (workspace.WatchPath), not in
// the index.
//
// Why it is sound. Let C be the clock a run takes from the watcher before
// it looks at any file (watchman syncs with the file system first: every
// change made before C was asked for carries a tick at or before C, every
// change after it a later one). The run then looks at files: each record it
// uses was checked by an lstat after C (or, below, carried over from a run
// whose clock was at most C). Once the index holding those records is
// saved, the run stores C with the set V of the paths it looked at. The next
// run asks what changed since C: a path in V that did not change was in
// the same state at the first run's look as it is now, so its record, made
// or confirmed at that look, still describes it.
//
//   - The racy-git rule (index.go, trusted) is about a write landing in
//     the same clock tick as the lstat that made a record. Such a write
//     comes after C, so the watcher reports it, and the path is not
//     vouched for. A vouched record is still required to be trusted() and
//     whole (hashed != 0), so nothing is believed here that the stat path
//     would not believe after an lstat showing the same data.
//   - A record is only vouched for if the run that stored the clock looked
//     at it (or carried it over): a path in the index that that run did
//     not look at may have changed before C, and the watcher would not say
//     so. So V is stored, not inferred from the index.
//   - The clock is stored only after the index it belongs to was saved, and
//     with that index file's identity (inode, size, times): an index saved
//     by another process, or without the clock (a plan without fsmonitor),
//     makes the stored clock useless, and the next run scans in full. The
//     save of both happens under a lock of its own, so two plans cannot
//     interleave them.
//   - Paths are vouched only below real folders: a path through a link to a
//     folder changes where the watcher does not look. Folders are checked
//     with lstat when a path enters V, and a folder that later becomes
//     anything else is reported by the watcher, which drops everything
//     below it.
//   - The watcher does not report what it ignores: .bottle/ (ours) and
//     version-control folders are never vouched for; cmd/bottle refuses a
//     .watchmanconfig that ignores folders.
//   - Trust ends with the plan (the first Save): apply's steps change files,
//     and what it hashes afterwards is looked at.
//
// A walk of a glob (the files below a folder the pattern's literal prefix
// names) is reused while the watcher reports nothing created, deleted,
// renamed or changed in kind below that folder or at it or above it; the
// files in it are then hashed through the index as usual.
//
// A step's key memo (KeepMemo, Memo: graph's hashing of the step's file
// lines) stands for the lines of its files while the watcher reports no
// change to any of its paths, by the argument above applied to the entries
// the memo was made of: see Memo.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"maps"
	mathbits "math/bits"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/internal/mapfile"
	"github.com/bottle-build/bottle/workspace"
)

// Changed is one path the watcher reports as changed.
type Changed struct {
	Path   string // workspace-relative, slash-separated
	Exists bool   // whether it exists now
	New    bool   // created since the clock asked from
	Kind   byte   // 'f' file, 'd' folder, 'l' link; anything else is another kind, or unknown
}

// Changes is a file watcher's answer for the workspace: what changed since
// the stored clock, and its clock now.
type Changes struct {
	Since string    // the clock asked from (Watch.Clock)
	Clock string    // the watcher's clock as of the answer: before this run looks at any file
	Paths []Changed // what changed below the workspace since Since
}

// FileID identifies one version of a file that is only ever replaced
// whole (the index: see atomicfile).
type FileID struct{ Ino, Size, Mtime, Ctime int64 }

// StatID returns the identity of the file at path (zero when it is
// missing).
func StatID(path string) (FileID, error) {
	var st unix.Stat_t
	for {
		err := unix.Stat(path, &st)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOENT {
			return FileID{}, nil
		}
		if err != nil {
			return FileID{}, &fs.PathError{Op: "stat", Path: path, Err: err}
		}
		break
	}
	return FileID{Ino: int64(st.Ino), Size: st.Size, Mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, Ctime: st.Ctim.Sec*1e9 + st.Ctim.Nsec}, nil
}

// OpenIndexID is OpenIndex that also returns the identity of the file it
// read; the identity is zero when the file changed while it was read (the
// stored clock then cannot be used with it).
func OpenIndexID(path string) (*Index, FileID, error) {
	before, err := StatID(path)
	if err != nil {
		return nil, FileID{}, err
	}
	ix, err := OpenIndex(path)
	if err != nil {
		return nil, FileID{}, err
	}
	after, err := StatID(path)
	if err != nil || after != before {
		return ix, FileID{}, nil
	}
	return ix, after, nil
}

// Watch is the watcher's part of one run: what the stored file says, and
// what this run looked at. Load it with LoadWatch, start it with Use, and
// save it (with the index) with Save.
type Watch struct {
	file, lock string

	// As stored.
	storedClock, storedWatcher string
	storedIndex                FileID
	stored                     []string // the vouched paths, sorted
	walks                      map[string]*walkEntry

	// This run.
	root     string
	clock    string // to store
	watcher  string // the watcher's name for what it watches
	vouched  []string
	trustOn  atomic.Bool
	changed  bool // something differs from what is stored, beyond the index
	scanFull bool
	nChanged int // relevant changes since the stored clock

	mu        sync.Mutex
	seen      [][]string
	used      map[string]*walkEntry
	memos     map[string]*memoEntry // as stored, minus those a change hit
	usedMemos map[string]*memoEntry // to store
	keepOn    atomic.Bool           // memos may be kept (from Use to Save)
}

type walkEntry struct {
	base  string
	files []string // sorted
}

// memoEntry is what planning kept of one step's inputs (Memo): the step's
// source paths, and the planner's own bytes about them.
type memoEntry struct {
	files []string // sorted
	data  []byte
}

const watchMagic = "bottle-watch 3\n"

// LoadWatch reads the watch file at path (workspace.WatchPath). A missing
// or damaged file is an empty one: the run scans in full.
func LoadWatch(path string) *Watch {
	w := newWatch(path)
	// Mapped, not copied: 2 MB for 100,000 paths. Save replaces the file
	// by a rename, which leaves a mapping intact.
	b, err := mapfile.Read(path)
	if err != nil {
		return w
	}
	if !w.decode(b) {
		w = newWatch(path)
	}
	return w
}

func newWatch(path string) *Watch {
	return &Watch{file: path, lock: path + ".lock", walks: map[string]*walkEntry{}, used: map[string]*walkEntry{},
		memos: map[string]*memoEntry{}, usedMemos: map[string]*memoEntry{}}
}

// Clock returns the stored clock, "" when there is none.
func (w *Watch) Clock() string { return w.storedClock }

// Watcher returns what the stored clock belongs to (as given to Use).
func (w *Watch) Watcher() string { return w.storedWatcher }

// Use starts the run for the workspace at root, whose index ix was read
// with identity indexID. watcher names what the watcher watches (a clock
// means nothing for another root). ch is the watcher's answer since
// w.Clock(), or, when there is no stored clock or the watcher could not
// answer since it, just its clock now (Since empty): every file is then
// looked at, and the clock stored for next time. Use returns why the run
// looks at every file, "" when it may trust the watcher.
func (w *Watch) Use(ix *Index, root string, indexID FileID, watcher string, ch Changes) (fullScan string) {
	w.root, w.watcher, w.clock = root, watcher, ch.Clock
	ix.watch = w
	switch {
	case w.storedClock == "":
		fullScan = "no clock stored yet"
	case ch.Since == "":
		fullScan = "the watcher cannot answer since the stored clock"
	case ch.Since != w.storedClock:
		fullScan = "the answer is not since the stored clock"
	case w.storedWatcher != watcher:
		fullScan = "the clock was stored for another watch (" + w.storedWatcher + ")"
	case indexID == (FileID{}) || indexID != w.storedIndex:
		fullScan = "the index was saved without the clock"
	}
	// Memos may be kept from now on whenever there is a clock to store
	// them with: what this run hashes is looked at after that clock.
	w.keepOn.Store(w.clock != "")
	if fullScan != "" {
		w.scanFull, w.changed = true, true
		w.walks = map[string]*walkEntry{}
		w.memos = map[string]*memoEntry{}
		return fullScan
	}
	var rel []Changed
	for _, c := range ch.Paths {
		if relevant(c.Path) {
			rel = append(rel, c)
		}
	}
	w.nChanged = len(rel)
	w.vouched = dropChanged(w.stored, rel)
	affected := len(w.vouched) != len(w.stored)
	for k, e := range w.walks {
		if !walkValid(e, rel) {
			delete(w.walks, k)
			affected = true
		}
	}
	for k, m := range w.memos {
		if !untouched(m.files, rel) {
			delete(w.memos, k)
			affected = true
		}
	}
	// When nothing this workspace's plans rely on changed (git's own files
	// change on every git status), Save keeps the stored file and clock,
	// so that a no-op plan writes nothing: what the stored paths and walks
	// say still holds since that clock, and the next plan asks since it
	// again. Whenever Save writes, it stores the new clock: every change
	// up to it has been applied above.
	w.changed = affected
	w.trustOn.Store(true)
	return ""
}

// Changed returns how many paths of the workspace (bottle's own files
// aside) the watcher reported as changed, once Use trusted it.
func (w *Watch) Changed() int { return w.nChanged }

// Watch returns the file watcher's part of this run (set by Watch.Use), or
// nil.
func (ix *Index) Watch() *Watch { return ix.watch }

// relevant reports whether a change at p may matter: not bottle's own
// files, nor what lies below a version-control folder (never vouched for,
// never in a reused walk).
func relevant(p string) bool {
	if p == "" || workspace.Reserved(p) {
		return false
	}
	dir, _ := path.Split(p)
	return dir == "" || watchable(strings.TrimSuffix(dir, "/"))
}

// watchable reports whether a change at p would be reported: not below
// .bottle/ (ignored here) nor a version-control folder (ignored by the
// watcher).
func watchable(p string) bool {
	if workspace.Reserved(p) {
		return false
	}
	for _, vcs := range [...]string{".git", ".hg", ".svn"} {
		if p == vcs || strings.HasPrefix(p, vcs+"/") || strings.Contains(p, "/"+vcs+"/") || strings.HasSuffix(p, "/"+vcs) {
			return false
		}
	}
	return true
}

// dropChanged returns sorted minus the changed paths, and minus everything
// below a changed path that is no folder now (it was one, or a link to
// one, or is gone).
func dropChanged(sorted []string, changed []Changed) []string {
	drop := make([]bool, len(sorted))
	any := false
	for _, c := range changed {
		if i, found := slices.BinarySearch(sorted, c.Path); found {
			drop[i], any = true, true
		}
		if c.Exists && c.Kind == 'd' {
			continue
		}
		for i, end := below(sorted, c.Path); i < end; i++ {
			drop[i], any = true, true
		}
	}
	if !any {
		return sorted
	}
	out := make([]string, 0, len(sorted))
	for i, p := range sorted {
		if !drop[i] {
			out = append(out, p)
		}
	}
	return out
}

// below returns the range of sorted that lies below the folder p. It
// starts where p+"/" would be, not right after p: "p.txt" and "p-x" sort
// between p and p's contents.
func below(sorted []string, p string) (start, end int) {
	prefix := p + "/"
	start, _ = slices.BinarySearch(sorted, prefix)
	end = start
	for end < len(sorted) && strings.HasPrefix(sorted[end], prefix) {
		end++
	}
	return start, end
}

// walkValid reports whether a stored walk still lists what a walk now
// would: nothing below its folder was created, deleted or changed in
// kind, and neither was the folder or one above it.
func walkValid(e *walkEntry, changed []Changed) bool {
	for _, c := range changed {
		plainDir := c.Exists && !c.New && c.Kind == 'd'
		switch {
		case e.base == "." || strings.HasPrefix(c.Path, e.base+"/"):
			if !c.Exists || c.New || c.Kind != 'f' && c.Kind != 'l' && c.Kind != 'd' {
				return false
			}
			_, listed := slices.BinarySearch(e.files, c.Path)
			if c.Kind == 'd' && listed {
				return false // a listed file or link is a folder now
			}
		case c.Path == e.base || strings.HasPrefix(e.base, c.Path+"/"):
			if !plainDir {
				return false
			}
		}
	}
	return true
}

// untouched reports whether no change reaches sorted: none is one of its
// paths, or a folder above one that is no plain folder now (dropChanged's
// rule, for one list).
func untouched(sorted []string, changed []Changed) bool {
	for _, c := range changed {
		if _, found := slices.BinarySearch(sorted, c.Path); found {
			return false
		}
		if c.Exists && c.Kind == 'd' {
			continue
		}
		if i, end := below(sorted, c.Path); i < end {
			return false
		}
	}
	return true
}

// Memo returns the bytes kept (KeepMemo) for the step name by the run
// whose clock the watcher answered since, when that run's source paths
// were exactly sources and the watcher vouches that none of them changed
// since; the memo is then kept for the next run too. Planning uses it to
// take a step's source lines from that run instead of looking the files up
// and hashing the lines again: see graph's keyMemo for what the bytes are.
//
// Why that is sound: KeepMemo is given the lines of entries that its run
// looked at after its clock C, or took from records vouched for at C (see
// the file comment); Save stores a memo only when every one of its paths
// is among the vouched paths stored with C, that is, watchable and below
// real folders. Use drops every memo a change since C reaches, by
// dropChanged's rule. So each of a memo's paths is vouched for now, and
// the entry the memo was made of still describes it, as the record it came
// from would.
func (w *Watch) Memo(root, name string, sources []string) ([]byte, bool) {
	if w == nil || !w.trustOn.Load() || root != w.root {
		return nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.memos[name]
	if m == nil || !sameList(m.files, sources) {
		return nil, false
	}
	w.usedMemos[name] = m
	return m.data, true
}

// sameList reports whether a and b hold the same paths; lists taken from
// one walk share their memory, and compare at once.
func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b) {
		return true
	}
	return slices.Equal(a, b)
}

// KeepMemo keeps data for the step name, whose source paths (below root,
// sorted) this run hashed after its clock, for the next run's Memo. A memo
// whose paths are not all vouched for when Save stores the clock is
// dropped there. sources and data are kept as they are.
func (w *Watch) KeepMemo(root, name string, sources []string, data []byte) {
	if w == nil || !w.keepOn.Load() || root != w.root || !slices.IsSorted(sources) {
		return
	}
	w.mu.Lock()
	w.usedMemos[name] = &memoEntry{files: sources, data: data}
	w.changed = true
	w.mu.Unlock()
}

// trusts returns, for hashAll's paths below root, which may use their
// records without an lstat; nil when none may.
func (w *Watch) trusts(root string, paths []string) []bool {
	if w == nil || !w.trustOn.Load() || root != w.root || len(w.vouched) == 0 {
		return nil
	}
	out := make([]bool, len(paths))
	v := w.vouched
	if slices.IsSorted(paths) {
		j := 0
		for i, p := range paths {
			for j < len(v) && v[j] < p {
				j++
			}
			out[i] = j < len(v) && v[j] == p
		}
		return out
	}
	for i, p := range paths {
		_, out[i] = slices.BinarySearch(v, p)
	}
	return out
}

// saw notes the paths below root that this run looked at (those found).
func (w *Watch) saw(root string, paths []string, found []bool) {
	if w == nil || root != w.root || len(paths) == 0 {
		return
	}
	var s []string
	if found == nil {
		s = slices.Clone(paths)
	} else {
		s = make([]string, 0, len(paths))
		for i, p := range paths {
			if found[i] {
				s = append(s, p)
			}
		}
	}
	w.mu.Lock()
	w.seen = append(w.seen, s)
	w.mu.Unlock()
}

// walk returns the files a walk of base lists (key names the walk: the
// folder, the pattern and the exclusions), from the stored walks when the
// watcher vouches for it, else by calling do, keeping its answer for the
// next run when the watcher will be able to vouch for it. The result is
// shared: the caller must not change it.
func (w *Watch) walk(key, base string, do func() ([]string, error)) ([]string, error) {
	if w == nil {
		return do()
	}
	w.mu.Lock()
	e := w.used[key]
	if e == nil && w.trustOn.Load() {
		if e = w.walks[key]; e != nil {
			w.used[key] = e
		}
	}
	w.mu.Unlock()
	if e != nil {
		return e.files, nil
	}
	files, err := do()
	if err != nil {
		return nil, err
	}
	if w.root != "" && cacheable(w.root, base, files) {
		w.mu.Lock()
		w.used[key] = &walkEntry{base: base, files: files}
		w.changed = true
		w.mu.Unlock()
	}
	return files, nil
}

// cacheable reports whether the watcher sees every change a walk of base
// depends on: base is below real folders, and nothing listed is in a
// folder the watcher ignores.
func cacheable(root, base string, files []string) bool {
	if base != "." && (!watchable(base) || !realDirs(root, path2dir(base), map[string]bool{})) {
		return false
	}
	for _, f := range files {
		if !watchable(f) {
			return false
		}
	}
	return true
}

func path2dir(p string) string {
	if p == "." {
		return ""
	}
	return p
}

// realDirs reports whether the workspace folder dir ("" for the root) and
// every folder above it is a folder, not a link to one. ok memoizes.
func realDirs(root, dir string, ok map[string]bool) bool {
	if dir == "" {
		return true
	}
	if v, seen := ok[dir]; seen {
		return v
	}
	parent := ""
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		parent = dir[:i]
	}
	v := realDirs(root, parent, ok)
	if v {
		var st unix.Stat_t
		err := unix.Lstat(join(root, dir), &st)
		v = err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
	}
	ok[dir] = v
	return v
}

// Save saves the index, then the clock with the paths this run looked at
// (and those vouched for that it did not), unless nothing changed. It ends
// the trust: what is hashed afterwards (apply's outputs) is looked at.
func (w *Watch) Save(ix *Index) error {
	w.trustOn.Store(false)
	w.keepOn.Store(false)
	lf, err := os.OpenFile(w.lock, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("opening %s: %w", w.lock, err)
	}
	defer lf.Close()
	for {
		err := unix.Flock(int(lf.Fd()), unix.LOCK_EX)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("locking %s: %w", w.lock, err)
		}
		break
	}
	if err := ix.Save(); err != nil {
		return err
	}
	id, err := StatID(ix.path)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.changed && id == w.storedIndex && !w.sawNew() {
		return nil
	}
	vouched, _ := w.merged()
	walks := w.used
	if w.clock == "" {
		return nil
	}
	b, memos := encodeWatch(w.watcher, w.clock, id, vouched, walks, w.usedMemos)
	if err := atomicfile.Write(w.file, b, 0o644); err != nil {
		return fmt.Errorf("saving the watcher's clock: %w", err)
	}
	w.storedClock, w.storedWatcher, w.storedIndex, w.stored = w.clock, w.watcher, id, vouched
	w.walks, w.changed = maps.Clone(walks), false
	w.memos = memos
	w.vouched = vouched
	return nil
}

// sawNew reports whether this run looked at a path not vouched for. The
// caller holds w.mu.
func (w *Watch) sawNew() bool {
	v := w.vouched
	dirs := map[string]bool{}
	addable := func(p string) bool {
		dir, _ := path.Split(p)
		return watchable(p) && realDirs(w.root, strings.TrimSuffix(dir, "/"), dirs)
	}
	for _, s := range w.seen {
		if slices.IsSorted(s) {
			j := 0
			for _, p := range s {
				for j < len(v) && v[j] < p {
					j++
				}
				if (j == len(v) || v[j] != p) && addable(p) {
					return true
				}
			}
			continue
		}
		for _, p := range s {
			if _, ok := slices.BinarySearch(v, p); !ok && addable(p) {
				return true
			}
		}
	}
	return false
}

// merged returns the vouched paths to store: those vouched for this run,
// and those it looked at below real folders; added tells whether any is
// new. The caller holds w.mu.
func (w *Watch) merged() (out []string, added bool) {
	var seen []string
	for _, s := range w.seen {
		seen = append(seen, s...)
	}
	if !slices.IsSorted(seen) {
		slices.Sort(seen)
	}
	seen = slices.Compact(seen)
	dirs := map[string]bool{}
	v := w.vouched
	out = make([]string, 0, max(len(v), len(seen)))
	i, j := 0, 0
	for i < len(v) || j < len(seen) {
		switch {
		case j == len(seen) || i < len(v) && v[i] < seen[j]:
			out = append(out, v[i])
			i++
		case i < len(v) && v[i] == seen[j]:
			out = append(out, v[i])
			i++
			j++
		default:
			p := seen[j]
			j++
			dir := ""
			if k := strings.LastIndexByte(p, '/'); k >= 0 {
				dir = p[:k]
			}
			if watchable(p) && realDirs(w.root, dir, dirs) {
				out = append(out, p)
				added = true
			}
		}
	}
	return out, added
}

func putStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func putList(b []byte, list []string) []byte {
	n := 0
	for _, s := range list {
		n += len(s) + 1
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(list)))
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	for _, s := range list {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// The file: watchMagic; the watcher's name, the clock (u32 length, bytes);
// the index's FileID (4 × i64); the vouched paths; the number of walks
// (u32), each its key and its folder (u32 length, bytes), then either 0
// (u8) and its files as a list, or 1 and a bitmap over the vouched paths
// (⌈n/8⌉ bytes, bit i of byte i/8 for path i) when they hold every file;
// last a CRC-32C of everything before it (u32). A list of paths is its
// count (u32), its length in bytes (u32) and the paths, each followed by a
// NUL byte. Then the number of memos (u32), each the step's name (u32
// length, bytes), a bitmap over the vouched paths for its source paths
// (every one is vouched) and its bytes (u32 length, bytes).
// Little-endian. The writer sorts the lists; the checksum stands for
// checking the order on every load.
//
// It returns the memos it stored: those whose paths are all vouched for.
func encodeWatch(watcher, clock string, id FileID, vouched []string, walks map[string]*walkEntry, memos map[string]*memoEntry) ([]byte, map[string]*memoEntry) {
	b := []byte(watchMagic)
	b = putStr(b, watcher)
	b = putStr(b, clock)
	for _, v := range [...]int64{id.Ino, id.Size, id.Mtime, id.Ctime} {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	b = putList(b, vouched)
	keys := make([]string, 0, len(walks))
	for k := range walks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		e := walks[k]
		b = putStr(b, k)
		b = putStr(b, e.base)
		if bits, ok := bitmapOf(vouched, e.files); ok {
			b = append(b, 1)
			b = append(b, bits...)
		} else {
			b = append(b, 0)
			b = putList(b, e.files)
		}
	}
	type memoBits struct {
		name string
		bits []byte
		data []byte
	}
	var ms []memoBits
	kept := map[string]*memoEntry{}
	for _, k := range slices.Sorted(maps.Keys(memos)) {
		if bits, ok := bitmapOf(vouched, memos[k].files); ok {
			ms = append(ms, memoBits{k, bits, memos[k].data})
			kept[k] = memos[k]
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ms)))
	for _, m := range ms {
		b = putStr(b, m.name)
		b = append(b, m.bits...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(m.data)))
		b = append(b, m.data...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), kept
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bitmapOf marks the paths of all (sorted) that files (sorted) holds; ok
// is false when all lacks one of files.
func bitmapOf(all, files []string) ([]byte, bool) {
	bits := make([]byte, (len(all)+7)/8)
	j := 0
	for _, f := range files {
		for j < len(all) && all[j] < f {
			j++
		}
		if j == len(all) || all[j] != f {
			return nil, false
		}
		bits[j/8] |= 1 << (j % 8)
		j++
	}
	return bits, true
}

var errShort = errors.New("short")

type reader struct {
	b   []byte
	err error
}

func (r *reader) u32() uint32 {
	if r.err != nil || len(r.b) < 4 {
		r.err = errShort
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) i64() int64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errShort
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return int64(v)
}

func (r *reader) bytes(n uint32) []byte {
	if r.err != nil || uint64(len(r.b)) < uint64(n) {
		r.err = errShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// str returns a string that shares the file's buffer (never written).
func (r *reader) str() string {
	v := r.bytes(r.u32())
	if len(v) == 0 {
		return ""
	}
	return unsafe.String(&v[0], len(v))
}

// list reads a list of paths (sorted and distinct, as written: the file's
// checksum vouches for it).
func (r *reader) list() []string {
	n, size := r.u32(), r.u32()
	v := r.bytes(size)
	if r.err != nil || uint64(n) > uint64(size) {
		r.err = errShort
		return nil
	}
	out := make([]string, 0, n)
	for len(v) > 0 {
		i := bytes.IndexByte(v, 0)
		if i <= 0 {
			r.err = errShort
			return nil
		}
		out = append(out, unsafe.String(&v[0], i))
		v = v[i+1:]
	}
	if len(out) != int(n) {
		r.err = errShort
		return nil
	}
	return out
}

func (w *Watch) decode(b []byte) bool {
	if len(b) < len(watchMagic)+4 || string(b[:len(watchMagic)]) != watchMagic {
		return false
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return false
	}
	r := &reader{b: body[len(watchMagic):]}
	w.storedWatcher = r.str()
	w.storedClock = r.str()
	w.storedIndex = FileID{r.i64(), r.i64(), r.i64(), r.i64()}
	w.stored = r.list()
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		k := r.str()
		e := &walkEntry{base: r.str()}
		switch form := r.bytes(1); {
		case r.err != nil:
		case form[0] == 0:
			e.files = r.list()
		case form[0] == 1:
			bits := r.bytes(uint32((len(w.stored) + 7) / 8))
			if r.err == nil {
				e.files = fromBitmap(w.stored, bits)
			}
		default:
			r.err = errShort
		}
		w.walks[k] = e
	}
	n = r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		k := r.str()
		bits := r.bytes(uint32((len(w.stored) + 7) / 8))
		data := r.bytes(r.u32())
		if r.err == nil {
			w.memos[k] = &memoEntry{files: fromBitmap(w.stored, bits), data: data}
		}
	}
	return r.err == nil && len(r.b) == 0 && w.storedClock != ""
}

// fromBitmap returns the paths of all that bits marks.
func fromBitmap(all []string, bits []byte) []string {
	n := 0
	for _, c := range bits {
		n += mathbits.OnesCount8(c)
	}
	if n == len(all) && len(bits) == (len(all)+7)/8 && (len(all)%8 == 0 || bits[len(bits)-1]>>(len(all)%8) == 0) {
		// Every path and nothing past them (one walk over the whole
		// workspace): shared, read only.
		return all[:n:n]
	}
	if i, ok := oneRun(bits, n); ok && i+n <= len(all) {
		// One run of paths (a walk of one folder, and the memo of the
		// step that reads it): shared too, so that those lists compare
		// at once (sameList).
		return all[i : i+n : i+n]
	}
	out := make([]string, 0, n)
	for i, c := range bits {
		for c != 0 {
			k := mathbits.TrailingZeros8(c)
			c &= c - 1
			if j := i*8 + k; j < len(all) {
				out = append(out, all[j])
			}
		}
	}
	return out
}

// oneRun returns where the n bits set in bits start, when they are
// consecutive.
func oneRun(bits []byte, n int) (int, bool) {
	if n == 0 {
		return 0, false
	}
	i := 0
	for i < len(bits) && bits[i] == 0 {
		i++
	}
	start := i*8 + mathbits.TrailingZeros8(bits[i])
	// The bits from start on, n of them, must all be set.
	for k := start; k < start+n; k++ {
		if k/8 >= len(bits) || bits[k/8]&(1<<(k%8)) == 0 {
			return 0, false
		}
	}
	return start, true
}

// walkKey names a walk: its folder, the pattern that keeps files (empty:
// all) and the exclusions.
func walkKey(base, glob string, excl []string) string {
	return base + "\x00" + glob + "\x00" + strings.Join(excl, "\x00")
}
