package kinds

// What goes into an image.build context. One decision serves both the key
// (ImpliedInputs, at plan time) and the tar sent to the engine (Run), and it
// is docker build's own: the patterns of .dockerignore, with exceptions
// added so that .dockerignore and the Dockerfile always travel, matched
// folder by folder with each folder's result handed down
// (MatchesUsingParentResults), and an excluded folder entered only when an
// exception pattern starts inside it.

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/bottle-build/bottle/workspace"
)

// buildContext is an image.build context folder and its matcher.
type buildContext struct {
	dir string                         // absolute
	pm  *patternmatcher.PatternMatcher // nil: everything goes
}

// openBuildContext reads the context's .dockerignore. dockerfile is the
// Dockerfile's path within the context; atRoot says the context is the
// workspace itself, whose .bottle/ never travels.
func openBuildContext(dir, dockerfile string, atRoot bool) (*buildContext, error) {
	var patterns []string
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading .dockerignore: %w", err)
		}
	}
	if len(patterns) > 0 {
		// As docker build does: the files that describe the build travel
		// even when a pattern would leave them out.
		for _, keep := range []string{".dockerignore", dockerfile} {
			if excluded, _ := patternmatcher.Matches(keep, patterns); excluded {
				patterns = append(patterns, "!"+keep)
			}
		}
	}
	if atRoot {
		patterns = append(patterns, workspace.DirName)
	}
	c := &buildContext{dir: dir}
	if len(patterns) > 0 {
		if c.pm, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("reading .dockerignore: %w", err)
		}
	}
	return c, nil
}

// match decides one path (slash-separated, within the context) from its
// folder's result.
func (c *buildContext) match(rel string, parent patternmatcher.MatchInfo) (excluded bool, info patternmatcher.MatchInfo) {
	if c.pm == nil {
		return false, info
	}
	excluded, info, _ = c.pm.MatchesUsingParentResults(filepath.FromSlash(rel), parent)
	return excluded, info
}

// enters reports whether an excluded folder is still looked into: only
// when an exception pattern starts inside it.
func (c *buildContext) enters(dir string) bool {
	if c.pm == nil || !c.pm.Exclusions() {
		return false
	}
	prefix := dir + "/"
	for _, p := range c.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(filepath.ToSlash(p.String())+"/", prefix) {
			return true
		}
	}
	return false
}

// keeps reports whether the file rel would be part of the context, whether
// or not it exists yet (another step's output).
func (c *buildContext) keeps(rel string) bool {
	var info patternmatcher.MatchInfo
	for i := 0; i < len(rel); i++ {
		if rel[i] != '/' {
			continue
		}
		dir := rel[:i]
		excluded, dirInfo := c.match(dir, info)
		if excluded && !c.enters(dir) {
			return false
		}
		info = dirInfo
	}
	excluded, _ := c.match(rel, info)
	return !excluded
}

// contextEntry is a folder, file or link of the context.
type contextEntry struct {
	rel  string // slash-separated, within the context
	mode fs.FileMode
}

// entries walks the context and returns what it holds, folders first.
func (c *buildContext) entries() ([]contextEntry, error) {
	var out []contextEntry
	type level struct {
		dir  string
		info patternmatcher.MatchInfo
	}
	var stack []level
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		for len(stack) > 0 && !strings.HasPrefix(rel, stack[len(stack)-1].dir+"/") {
			stack = stack[:len(stack)-1]
		}
		var parent patternmatcher.MatchInfo
		if len(stack) > 0 {
			parent = stack[len(stack)-1].info
		}
		excluded, info := c.match(rel, parent)
		if d.IsDir() {
			stack = append(stack, level{rel, info})
		}
		if excluded {
			if d.IsDir() && !c.enters(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		out = append(out, contextEntry{rel, d.Type()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the build context: %w", err)
	}
	return out, nil
}

// writeTar writes entries as the build context's tar, owned by root as
// docker build sends it.
func (c *buildContext) writeTar(w io.Writer, entries []contextEntry) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		p := filepath.Join(c.dir, filepath.FromSlash(e.rel))
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", e.rel, err)
		}
		hdr.Name = e.rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", e.rel, err)
			}
		}
	}
	return tw.Close()
}
