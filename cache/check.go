package cache

// What a result may say about where its files go. A cache can be shared,
// restored from an artifact or written by someone else: a result is data
// from outside, and restore writes nothing until the result passes here.

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// BadEntryError is a result whose files cannot be restored safely. It is a
// miss: errors.Is(err, ErrMiss).
type BadEntryError struct {
	Path   string // the entry's path as the result gives it
	Reason string
}

func (e *BadEntryError) Error() string {
	return fmt.Sprintf("result entry %q %s", e.Path, e.Reason)
}

func (e *BadEntryError) Is(target error) bool { return target == ErrMiss }

// CheckFiles checks every entry of r before anything is written:
//
//   - its path is clean, relative and stays inside the workspace;
//   - it lies at or under one of outputs, the step's declared outputs as
//     planned now (nil skips this rule: cache verify does not know them);
//   - no entry lies below another entry that is a link, which restore would
//     otherwise write through;
//   - it is a regular file, a folder or a link, nothing else;
//   - no path is listed twice.
func (r *Result) CheckFiles(outputs []string) error {
	links := map[string]bool{}
	for _, f := range r.Files {
		if f.Mode&fs.ModeSymlink != 0 {
			links[f.Path] = true
		}
	}
	seen := map[string]bool{}
	for _, f := range r.Files {
		p := f.Path
		bad := func(format string, args ...any) error {
			return &BadEntryError{Path: p, Reason: fmt.Sprintf(format, args...)}
		}
		switch {
		case p == "" || strings.HasPrefix(p, "/"):
			return bad("is not a workspace-relative path")
		case path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../"):
			return bad("is not a clean path inside the workspace")
		case strings.ContainsRune(p, 0):
			return bad("holds a NUL byte")
		case seen[p]:
			return bad("is listed twice")
		}
		seen[p] = true
		if outputs != nil && !under(p, outputs) {
			return bad("lies outside the step's declared outputs (%s)", strings.Join(outputs, ", "))
		}
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if links[dir] {
				return bad("lies below %s, which the result makes a link", dir)
			}
		}
		switch {
		case f.Mode&fs.ModeSymlink != 0:
			if f.Mode&^(fs.ModeSymlink|fs.ModePerm) != 0 {
				return bad("has mode %v", f.Mode)
			}
		case f.Mode.IsDir(), f.Mode.IsRegular():
		default:
			return bad("is neither a file, a folder nor a link (mode %v)", f.Mode)
		}
	}
	return nil
}

// under reports whether p is one of outputs or inside one of them.
func under(p string, outputs []string) bool {
	for _, o := range outputs {
		if p == o || strings.HasPrefix(p, o+"/") {
			return true
		}
	}
	return false
}

// Quarantine moves the result stored for k to corrupt/, where no lookup
// finds it again, and returns where it went ("" if it was removed or gone).
// Restore calls it for a result whose entries fail CheckFiles.
func (c *Disk) Quarantine(k Key) string {
	p := resultPath(c.dir, k)
	if _, err := os.Lstat(p); err != nil {
		return ""
	}
	return moveAside(c.dir, p, k.String()+".json")
}
