// Package files reads the workspace for planning: it expands input patterns
// to files and hashes them through a file-hash index. It writes nothing but
// the index file under .bottle/ (planning must have no other side effect).
package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/bmatcuk/doublestar/v4"
)

// Expansion is what a list of patterns matched.
type Expansion struct {
	Files     []string // existing files and links, sorted, workspace-relative
	Virtual   []string // declared outputs of other steps that the patterns match
	Unmatched []string // positive, non-optional patterns that matched nothing
}

type pattern struct {
	glob     string
	optional bool
	literal  bool
}

// Virtual is a sorted set of paths that count as existing although they may
// not exist yet (other steps' declared outputs; one may be a folder).
type Virtual struct {
	sorted []string
	set    map[string]bool
}

// NewVirtual builds the set from paths.
func NewVirtual(paths []string) *Virtual {
	v := &Virtual{sorted: slices.Clone(paths), set: make(map[string]bool, len(paths))}
	sort.Strings(v.sorted)
	for _, p := range paths {
		v.set[p] = true
	}
	return v
}

// covering returns the virtual path that is p or a folder holding p.
func (v *Virtual) covering(p string) (string, bool) {
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

// under returns the virtual paths strictly below folder dir.
func (v *Virtual) under(dir string) []string {
	prefix := dir + "/"
	i := sort.SearchStrings(v.sorted, prefix)
	var out []string
	for ; i < len(v.sorted) && strings.HasPrefix(v.sorted[i], prefix); i++ {
		out = append(out, v.sorted[i])
	}
	return out
}

// Expand returns the files matched by patterns, relative to root. A pattern
// is a doublestar glob; a leading "!" excludes (folders it matches are not
// entered); a leading "?" makes a positive pattern optional. A literal
// pattern naming a folder means every file below it. Symbolic links are
// returned, never followed. The folders .bottle and .git at the root are
// entered only when a pattern names them literally.
func Expand(root string, patterns []string, virtual *Virtual) (*Expansion, error) {
	if virtual == nil {
		virtual = NewVirtual(nil)
	}
	var pos []pattern
	var excl []string
	for _, p := range patterns {
		switch {
		case strings.HasPrefix(p, "!"):
			excl = append(excl, p[1:])
		case strings.HasPrefix(p, "?"):
			pos = append(pos, pattern{glob: p[1:], optional: true})
		default:
			pos = append(pos, pattern{glob: p})
		}
	}
	for i := range pos {
		pos[i].glob = path.Clean(pos[i].glob)
		pos[i].literal = !hasMeta(pos[i].glob)
	}
	excluded := func(p string) bool {
		if len(excl) == 0 {
			return false
		}
		for _, e := range excl {
			if ok, _ := doublestar.Match(e, p); ok {
				return true
			}
		}
		return false
	}
	exp := &Expansion{}
	seen := map[string]bool{}
	seenV := map[string]bool{}
	dedupe := len(pos) > 1
	matched := false
	addFile := func(p string) {
		if excluded(p) {
			return
		}
		matched = true
		if dedupe {
			if seen[p] {
				return
			}
			seen[p] = true
		}
		exp.Files = append(exp.Files, p)
	}
	addVirtual := func(p string) bool {
		if excluded(p) {
			return false
		}
		if !seenV[p] {
			seenV[p] = true
			exp.Virtual = append(exp.Virtual, p)
		}
		return true
	}
	for _, pt := range pos {
		matched = false
		if pt.literal {
			// Another step's output: whatever the workspace holds there now
			// does not matter, so it is not even looked at.
			v, produced := virtual.covering(pt.glob)
			if produced {
				matched = addVirtual(v) || matched
			}
			var fi fs.FileInfo
			err := fs.ErrNotExist
			if !produced {
				fi, err = os.Lstat(filepath.Join(root, filepath.FromSlash(pt.glob)))
			}
			switch {
			case err == nil && fi.IsDir():
				files, err := walk(root, pt.glob, excluded, true)
				if err != nil {
					return nil, err
				}
				for _, f := range files {
					addFile(f)
				}
				for _, v := range virtual.under(pt.glob) {
					matched = addVirtual(v) || matched
				}
			case err == nil:
				addFile(pt.glob)
			case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
			default:
				return nil, fmt.Errorf("reading %s: %w", pt.glob, err)
			}
		} else {
			base, _ := doublestar.SplitPattern(pt.glob)
			files, err := walk(root, base, excluded, base != ".")
			if err != nil {
				return nil, err
			}
			// "dir/**" matches everything below dir: no need to match each.
			all := strings.HasSuffix(pt.glob, "/**") && !hasMeta(strings.TrimSuffix(pt.glob, "/**")) || pt.glob == "**"
			for _, f := range files {
				if all {
					addFile(f)
				} else if ok, _ := doublestar.Match(pt.glob, f); ok {
					addFile(f)
				}
			}
			for _, v := range virtual.sorted {
				if ok, _ := doublestar.Match(pt.glob, v); ok {
					matched = addVirtual(v) || matched
				}
			}
		}
		if !matched && !pt.optional {
			exp.Unmatched = append(exp.Unmatched, pt.glob)
		}
	}
	slices.Sort(exp.Files)
	slices.Sort(exp.Virtual)
	return exp, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[{\`) }

// walk lists every file and link below dir (workspace-relative), reading
// folders in parallel. Excluded folders are not entered; neither are .git
// and .bottle at the root unless named (explicit).
func walk(root, dir string, excluded func(string) bool, explicit bool) ([]string, error) {
	var (
		mu      sync.Mutex
		out     []string
		firstEr error
		wg      sync.WaitGroup
	)
	jobs := make(chan string, 1024)
	var pending sync.WaitGroup
	workers := runtime.NumCPU()
	var enqueue func(rel string)
	enqueue = func(rel string) {
		pending.Add(1)
		select {
		case jobs <- rel:
		default:
			// The queue is full: read this folder on the caller's goroutine
			// later, so workers never block each other.
			go func() { jobs <- rel }()
		}
	}
	process := func(rel string) {
		defer pending.Done()
		abs := root
		if rel != "." {
			abs = filepath.Join(root, filepath.FromSlash(rel))
		}
		f, err := os.Open(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && rel == dir {
				return
			}
			mu.Lock()
			if firstEr == nil {
				firstEr = fmt.Errorf("reading folder %s: %w", rel, err)
			}
			mu.Unlock()
			return
		}
		ents, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			mu.Lock()
			if firstEr == nil {
				firstEr = fmt.Errorf("reading folder %s: %w", rel, err)
			}
			mu.Unlock()
			return
		}
		local := make([]string, 0, len(ents))
		for _, e := range ents {
			name := e.Name()
			p := name
			if rel != "." {
				p = rel + "/" + name
			}
			if e.IsDir() {
				if rel == "." && !explicit && (name == ".git" || name == ".bottle") {
					continue
				}
				if excluded(p) {
					continue
				}
				enqueue(p)
				continue
			}
			if t := e.Type(); t.IsRegular() || t&fs.ModeSymlink != 0 {
				local = append(local, p)
			}
		}
		mu.Lock()
		out = append(out, local...)
		mu.Unlock()
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rel := range jobs {
				process(rel)
			}
		}()
	}
	enqueue(dir)
	pending.Wait()
	close(jobs)
	wg.Wait()
	return out, firstEr
}
