// Package workspace owns a workspace's .bottle/ folder: it alone knows the
// paths in it (paths.go), and it keeps the state, the journal and the lock.
// Other packages own the formats of the files they keep there (the file-hash
// index, the parsed-config cache) and ask this one where they go.
//
// The state is the last applied key and result of each step. It is never
// the only copy of a result (the cache is); losing it costs a restore, not
// a rebuild. It is a snapshot file plus an append-only journal: apply appends one
// line per finished step (cheap, and a kill loses at most the line being
// written, which is ignored on load), and compacts the two at the end.
package workspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/internal/atomicfile"
	"github.com/bottle-build/bottle/internal/jsonbytes"
	"github.com/bottle-build/bottle/internal/mapfile"
)

// Step is what the workspace last applied for one step.
type Step struct {
	Name    string        `json:"name"`
	Key     cache.Key     `json:"key"`
	Result  cache.Digest  `json:"result"` // Result.Digest() of what was applied
	Files   []cache.File  `json:"files,omitempty"`
	Values  jsonbytes.Map `json:"values,omitempty"`
	Log     cache.Digest  `json:"log"`
	Applied time.Time     `json:"applied"`
	// Deleted marks a journal line that forgets the step.
	Deleted bool `json:"deleted,omitempty"`
}

// State is the loaded bookkeeping of one workspace.
type State struct {
	root  string
	Steps map[string]*Step
	jf    *os.File // journal, open for append while applying
}

// gobSnapshot is the snapshot as bottle wrote it before statefile.go: a
// gob of this, Version 1. Load still reads it; Compact replaces it.
type gobSnapshot struct {
	Version int
	Steps   []*Step
}

// Load reads the state of the workspace at root. A missing state is empty. A damaged snapshot
// is treated as empty too (the cache still holds every result), with the
// error returned alongside so the caller can warn.
func Load(root string) (*State, error) {
	dir := Dir(root)
	s := &State{root: root, Steps: map[string]*Step{}}
	var warn error
	snapPath := filepath.Join(dir, snapshotName)
	b, err := mapfile.Read(snapPath)
	if errors.Is(err, fs.ErrNotExist) {
		snapPath = filepath.Join(dir, oldSnapshotName)
		b, err = mapfile.Read(snapPath)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading state: %w", err)
	default:
		steps, ok := decodeSnapshot(b)
		if !ok {
			warn = fmt.Errorf("ignoring damaged state %s", snapPath)
		}
		s.Steps = make(map[string]*Step, len(steps))
		for _, st := range steps {
			s.Steps[st.Name] = st
		}
	}
	j, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading state journal: %w", err)
	}
	for len(j) > 0 {
		line, rest, ok := bytes.Cut(j, []byte("\n"))
		j = rest
		if !ok {
			break // a line cut short by a kill: ignore it
		}
		var st Step
		if json.Unmarshal(line, &st) != nil || st.Name == "" {
			continue
		}
		if st.Deleted {
			delete(s.Steps, st.Name)
		} else {
			s.Steps[st.Name] = &st
		}
	}
	return s, warn
}

// Record stores st as applied: in memory and, durably, in the journal.
func (s *State) Record(st *Step) error {
	if s.jf == nil {
		if err := Init(s.root); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(Dir(s.root), journalName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("opening state journal: %w", err)
		}
		s.jf = f
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := s.jf.Write(b); err != nil {
		return fmt.Errorf("writing state journal: %w", err)
	}
	if st.Deleted {
		delete(s.Steps, st.Name)
	} else {
		s.Steps[st.Name] = st
	}
	return nil
}

// Forget removes a step's record (its effect is gone, or it was replaced).
func (s *State) Forget(name string) error {
	if _, ok := s.Steps[name]; !ok {
		return nil
	}
	return s.Record(&Step{Name: name, Deleted: true})
}

// Compact writes a fresh snapshot and empties the journal. Call it while
// holding the workspace lock.
func (s *State) Compact() error {
	if s.jf != nil {
		s.jf.Close()
		s.jf = nil
	}
	if err := Init(s.root); err != nil {
		return err
	}
	steps := slices.Collect(maps.Values(s.Steps))
	sortSteps(steps)
	if err := atomicfile.Write(filepath.Join(Dir(s.root), snapshotName), encodeSnapshot(steps), 0o644); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(Dir(s.root), oldSnapshotName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the old state: %w", err)
	}
	if err := os.Remove(filepath.Join(Dir(s.root), journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing state journal: %w", err)
	}
	return nil
}

// Close closes the journal without compacting.
func (s *State) Close() error {
	if s.jf != nil {
		err := s.jf.Close()
		s.jf = nil
		return err
	}
	return nil
}
