// Package files reads the workspace for planning: it expands input patterns
// to files and hashes them through a file-hash index. It reads the workspace
// and writes nothing but the index file under .bottle/ (it is used by
// planning, which must have no other side effect).
//
// Expand lists files: a literal path costs one lstat, a glob walks only the
// folder its literal prefix names, reading folders in parallel without a
// stat per file. Index.Hash then looks at each file once (lstat, and a read
// only when its stat data changed), see index.go.
package files

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/workspace"
	"golang.org/x/sys/unix"
)

// Expansion is what a list of patterns matched.
type Expansion struct {
	Files     []string // existing files and links, sorted, workspace-relative
	Virtual   []string // declared outputs of other steps that the patterns match, sorted
	Unmatched []string // positive, non-optional patterns that matched nothing
}

// Virtual is a set of paths that count as existing although they may not
// exist yet: other steps' declared outputs. One may be a folder, in which
// case it stands for everything below it. Build it once and share it between
// the Expand calls of all steps.
type Virtual struct {
	sorted []string
	set    map[string]bool
}

// NewVirtual builds the set from workspace-relative slash paths.
func NewVirtual(paths []string) *Virtual {
	v := &Virtual{set: make(map[string]bool, len(paths))}
	for _, p := range paths {
		p = path.Clean(p)
		if !v.set[p] {
			v.set[p] = true
			v.sorted = append(v.sorted, p)
		}
	}
	sort.Strings(v.sorted)
	return v
}

// covering returns the virtual path that is p or a folder holding p.
func (v *Virtual) covering(p string) (string, bool) {
	if len(v.set) == 0 {
		return "", false
	}
	for {
		if v.set[p] {
			return p, true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return "", false
		}
		p = p[:i]
	}
}

// under returns the virtual paths strictly below folder dir ("." is the
// workspace).
func (v *Virtual) under(dir string) []string {
	if dir == "." {
		return v.sorted
	}
	prefix := dir + "/"
	i := sort.SearchStrings(v.sorted, prefix)
	j := i
	for j < len(v.sorted) && strings.HasPrefix(v.sorted[j], prefix) {
		j++
	}
	return v.sorted[i:j]
}

type pattern struct {
	glob     string
	optional bool
}

// Expand returns the sorted, de-duplicated workspace-relative slash paths of
// the files matched by patterns.
//
// A pattern is a doublestar glob relative to root. A leading "!" excludes:
// exclusions apply after all positive patterns, whatever their order, and a
// folder an exclusion matches is not entered (so "!vendor" and "!vendor/**"
// both drop everything below vendor). A leading "?" makes a positive pattern
// optional. A literal pattern (no glob meta) naming a folder means every file
// below it. Only regular files and symbolic links are returned; links are
// never followed. The folders .bottle and .git at the root are entered only
// when a pattern's literal prefix names them.
//
// virtual (may be nil) holds paths that count as existing files although
// they may not exist yet; those a pattern matches are returned in
// Expansion.Virtual, so a fresh checkout plans cleanly. A virtual folder
// "out/dir" is matched by "out/dir", "out/dir/**", by any pattern whose
// literal prefix lies inside it (such as "out/dir/*.o"), and by a literal
// folder holding it ("out").
//
// Expansion.Unmatched lists the positive, non-optional patterns that matched
// nothing that survived the exclusions, neither a file nor a virtual path.
func Expand(root string, patterns []string, virtual *Virtual) (*Expansion, error) {
	return ExpandKnown(root, patterns, virtual, nil)
}

// ExpandKnown is Expand where known(p) tells that the literal path p was a
// file when last seen (the index has it): such a path is taken as a file
// without looking at it, since hashing it looks anyway. A caller that finds
// it missing or changed in kind when hashing expands again without known.
func ExpandKnown(root string, patterns []string, virtual *Virtual, known func(string) bool) (*Expansion, error) {
	return ExpandWatched(root, patterns, virtual, known, nil)
}

// ExpandWatched is ExpandKnown that takes the files below a folder from
// watch (nil: none) when the file watcher vouches that nothing was created,
// deleted or renamed there since they were listed (see watch.go).
func ExpandWatched(root string, patterns []string, virtual *Virtual, known func(string) bool, watch *Watch) (*Expansion, error) {
	if virtual == nil {
		virtual = &Virtual{}
	}
	pos := make([]pattern, 0, len(patterns))
	var excl []string
	for _, raw := range patterns {
		p, neg, opt := raw, false, false
		switch {
		case strings.HasPrefix(p, "!"):
			p, neg = p[1:], true
		case strings.HasPrefix(p, "?"):
			p, opt = p[1:], true
		}
		p = path.Clean(p)
		if p != "." {
			if err := config.CheckPath(p); err != nil {
				return nil, fmt.Errorf("pattern %q: %w", raw, err)
			}
		}
		if !doublestar.ValidatePattern(p) {
			return nil, fmt.Errorf("pattern %q: bad glob syntax", raw)
		}
		if neg {
			excl = append(excl, p)
		} else {
			pos = append(pos, pattern{glob: p, optional: opt})
		}
	}
	excluded := func(p string) bool {
		for _, e := range excl {
			if ok, _ := doublestar.Match(e, p); ok {
				return true
			}
		}
		return false
	}
	// underExcluded reports whether p or a folder holding it is excluded.
	underExcluded := func(p string) bool {
		if len(excl) == 0 {
			return false
		}
		for {
			if excluded(p) {
				return true
			}
			i := strings.LastIndexByte(p, '/')
			if i < 0 {
				return false
			}
			p = p[:i]
		}
	}

	exp := &Expansion{Files: make([]string, 0, len(pos))} // one each, when literal
	// Another step's outputs, each once: looked for in exp.Virtual while
	// there are few (a map each was 7 MB at 20,000 steps), in a map after.
	var seenV map[string]bool
	addVirtual := func(v string) bool {
		if underExcluded(v) {
			return false
		}
		switch {
		case seenV != nil:
			if seenV[v] {
				return true
			}
			seenV[v] = true
		case slices.Contains(exp.Virtual, v):
			return true
		case len(exp.Virtual) >= 16:
			seenV = make(map[string]bool, 2*len(exp.Virtual))
			for _, x := range exp.Virtual {
				seenV[x] = true
			}
			seenV[v] = true
		}
		exp.Virtual = append(exp.Virtual, v)
		return true
	}
	for _, pt := range pos {
		matched := false
		if !hasMeta(pt.glob) {
			// Another step's output: what the workspace holds there now does
			// not matter, so it is not even looked at.
			if v, ok := virtual.covering(pt.glob); ok {
				if addVirtual(v) {
					continue
				}
			}
			if known != nil && known(pt.glob) && !underExcluded(pt.glob) {
				exp.Files = append(exp.Files, pt.glob)
				continue
			}
			mode, err := lstatMode(root, pt.glob)
			exists, isDir := err == nil, err == nil && mode.IsDir()
			switch {
			case isDir:
				if !underExcluded(pt.glob) {
					found, err := watch.walk(walkKey(pt.glob, "", excl), pt.glob, func() ([]string, error) {
						return walk(root, pt.glob, excluded, nil, nil)
					})
					if err != nil {
						return nil, err
					}
					if len(pos) == 1 {
						// The only pattern: its walk, sorted, is the
						// expansion, shared (read only; an append copies).
						exp.Files = found[:len(found):len(found)]
					} else {
						exp.Files = append(exp.Files, found...)
					}
					matched = len(found) > 0
				}
			case exists && (mode.IsRegular() || mode&fs.ModeSymlink != 0):
				if !underExcluded(pt.glob) {
					exp.Files = append(exp.Files, pt.glob)
					matched = true
				}
			case exists:
				return nil, fmt.Errorf("%s is %s: an input must be a file, a folder or a link", pt.glob, oddKind(mode))
			case errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR):
			default:
				return nil, fmt.Errorf("reading %s: %w", pt.glob, err)
			}
			if isDir || !exists {
				for _, v := range virtual.under(pt.glob) {
					matched = addVirtual(v) || matched
				}
			}
			if v, ok := virtual.covering(pt.glob); ok {
				matched = addVirtual(v) || matched
			}
		} else {
			base, _ := doublestar.SplitPattern(pt.glob)
			if base == "." || !underExcluded(base) {
				// "dir/**" and "**" match every file below: no need to
				// match each one.
				var keep func(string) bool
				if !(pt.glob == "**" || strings.HasSuffix(pt.glob, "/**") && !hasMeta(pt.glob[:len(pt.glob)-3])) {
					glob := pt.glob
					keep = func(p string) bool {
						ok, _ := doublestar.Match(glob, p)
						return ok
					}
				}
				found, err := watch.walk(walkKey(base, pt.glob, excl), base, func() ([]string, error) {
					return walk(root, base, excluded, keep, nil)
				})
				if err != nil {
					return nil, err
				}
				if len(pos) == 1 {
					// As for a folder: the only pattern's walk is the
					// expansion, shared (100,000 paths for W1's src/**).
					exp.Files = found[:len(found):len(found)]
				} else {
					exp.Files = append(exp.Files, found...)
				}
				matched = len(found) > 0
			}
			for _, v := range virtual.under(base) {
				if ok, _ := doublestar.Match(pt.glob, v); ok {
					matched = addVirtual(v) || matched
				}
			}
			if v, ok := virtual.covering(base); ok && base != "." {
				// The pattern looks inside a folder another step makes.
				matched = addVirtual(v) || matched
			}
		}
		if !matched && !pt.optional {
			exp.Unmatched = append(exp.Unmatched, pt.glob)
		}
	}
	if len(pos) > 1 {
		slices.Sort(exp.Files)
		exp.Files = slices.Compact(exp.Files)
	}
	slices.Sort(exp.Virtual)
	if len(exp.Files) == 0 {
		exp.Files = nil
	}
	return exp, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[{\`) }

func join(root, rel string) string {
	switch {
	case rel == "" || rel == ".":
		return root
	case strings.HasSuffix(root, "/"):
		return root + rel
	default:
		return root + "/" + rel
	}
}

// lstatMode returns the type and permission bits of rel below root, as
// os.Lstat's FileInfo.Mode would, without allocating a FileInfo: a first
// plan looks at every literal input this way.
func lstatMode(root, rel string) (fs.FileMode, error) {
	var st unix.Stat_t
	abs := join(root, rel)
	for {
		err := unix.Lstat(abs, &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "lstat", Path: abs, Err: err}
		}
		break
	}
	m := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	default:
		m |= fs.ModeIrregular
	}
	return m, nil
}

// A dirNode is one folder of a walk: its files and subfolders in the order
// of their full paths, so that a depth-first pass yields sorted paths.
type dirNode struct {
	rel   string
	items []dirItem
}

type dirItem struct {
	path  string   // a file
	child *dirNode // or a folder
}

// walk appends to out every file and link below folder dir (workspace
// relative, "." for the root) that keep accepts (all when keep is nil), in
// sorted order. Folders are read in parallel; folders excluded matches are
// not entered; neither are .git and .bottle when dir is the root.
func walk(root, dir string, excluded func(string) bool, keep func(string) bool, out []string) ([]string, error) {
	top := &dirNode{rel: dir}
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		queue   = []*dirNode{top}
		pending = 1
		firstEr error
		wg      sync.WaitGroup
	)
	workers := runtime.NumCPU()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &dirReader{}
			for {
				mu.Lock()
				for len(queue) == 0 && pending > 0 {
					cond.Wait()
				}
				if pending == 0 {
					mu.Unlock()
					return
				}
				d := queue[len(queue)-1]
				queue = queue[:len(queue)-1]
				stop := firstEr != nil
				mu.Unlock()
				var children []*dirNode
				var err error
				if !stop {
					children, err = r.read(root, d, dir == ".", excluded, keep)
				}
				mu.Lock()
				if err != nil && firstEr == nil {
					firstEr = err
				}
				queue = append(queue, children...)
				pending += len(children) - 1
				if len(children) > 0 || pending == 0 {
					cond.Broadcast()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstEr != nil {
		return out, firstEr
	}
	var count func(d *dirNode) int
	count = func(d *dirNode) int {
		n := 0
		for _, it := range d.items {
			if it.child != nil {
				n += count(it.child)
			} else {
				n++
			}
		}
		return n
	}
	out = slices.Grow(out, count(top))
	var flatten func(d *dirNode)
	flatten = func(d *dirNode) {
		for _, it := range d.items {
			if it.child != nil {
				flatten(it.child)
			} else {
				out = append(out, it.path)
			}
		}
	}
	flatten(top)
	return out, nil
}

type dirent struct {
	off, len uint32 // of the name in dirReader.names
	typ      uint8  // unix.DT_DIR, DT_REG or DT_LNK
}

// dirReader reads folders for one walk worker, reusing its buffers.
type dirReader struct {
	buf   []byte // for getdents (Linux)
	names []byte
	ents  []dirent
}

// read lists folder d into d.items and returns its subfolders to walk.
func (r *dirReader) read(root string, d *dirNode, atRoot bool, excluded func(string) bool, keep func(string) bool) ([]*dirNode, error) {
	if err := r.list(join(root, d.rel)); err != nil {
		return nil, err
	}
	// All full paths of this folder in one string, in sorted order: a
	// folder's name sorts as if it ended in "/", so that a depth-first
	// pass gives the order of the full paths.
	names := r.names
	nameOf := func(e dirent) []byte { return names[e.off : e.off+e.len] }
	slices.SortFunc(r.ents, func(a, b dirent) int {
		return compareNames(nameOf(a), a.typ == unix.DT_DIR, nameOf(b), b.typ == unix.DT_DIR)
	})
	prefix := ""
	if d.rel != "." {
		prefix = d.rel + "/"
	}
	size := 0
	for _, e := range r.ents {
		size += len(prefix) + int(e.len)
	}
	all := make([]byte, 0, size)
	for _, e := range r.ents {
		all = append(all, prefix...)
		all = append(all, nameOf(e)...)
	}
	s := unsafe.String(unsafe.SliceData(all), len(all)) // all is never written again
	var children []*dirNode
	d.items = make([]dirItem, 0, len(r.ents))
	at := 0
	for _, e := range r.ents {
		p := s[at : at+len(prefix)+int(e.len)]
		at += len(p)
		if e.typ == unix.DT_DIR {
			name := p[len(prefix):]
			if atRoot && d.rel == "." && (name == ".git" || name == workspace.DirName) {
				continue
			}
			if excluded(p) {
				continue
			}
			c := &dirNode{rel: p}
			d.items = append(d.items, dirItem{child: c})
			children = append(children, c)
			continue
		}
		if keep != nil && !keep(p) || excluded(p) {
			continue
		}
		d.items = append(d.items, dirItem{path: p})
	}
	return children, nil
}

// compareNames orders two names of one folder as their full paths order:
// a folder's name compares as if followed by "/".
func compareNames(a []byte, aDir bool, b []byte, bDir bool) int {
	n := min(len(a), len(b))
	if c := strings.Compare(unsafe.String(unsafe.SliceData(a), n), unsafe.String(unsafe.SliceData(b), n)); c != 0 {
		return c
	}
	next := func(s []byte, dir bool) int {
		if len(s) > n {
			return int(s[n])
		}
		if dir {
			return '/'
		}
		return -1
	}
	return next(a, aDir) - next(b, bDir)
}

// openDir opens folder abs for reading, not following a link at its end.
// It returns -1 and no error when there is nothing below abs: it is gone, is
// not a folder, or is a link (to a folder or not).
func openDir(abs string) (int, error) {
	for {
		fd, err := unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR:
			continue
		case unix.ENOENT, unix.ENOTDIR, unix.ELOOP:
			return -1, nil
		default:
			return -1, &fs.PathError{Op: "open", Path: abs, Err: err}
		}
	}
}

// oddKind names a file that is neither a file, a folder nor a link.
func oddKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file (mode " + m.String() + ")"
}
