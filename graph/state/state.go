// Package state keeps a workspace's bookkeeping under .bottle/: the last
// applied key and result of each step. It is never the only copy of a result
// (the cache is); losing it costs a restore, not a rebuild.
//
// The state is a snapshot file plus an append-only journal: apply appends one
// line per finished step (cheap, and a kill loses at most the line being
// written, which is ignored on load), and compacts the two at the end.
package state

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bottle-build/bottle/cache"
)

const version = 1

// The snapshot is gob (a 5,000-step state loads several times faster than
// as JSON); the journal is JSON lines, one per finished step.
const snapshotName = "state.gob"

// Step is what the workspace last applied for one step.
type Step struct {
	Name    string            `json:"name"`
	Key     cache.Key         `json:"key"`
	Result  cache.Digest      `json:"result"` // Result.Digest() of what was applied
	Files   []cache.File      `json:"files,omitempty"`
	Values  map[string]string `json:"values,omitempty"`
	Log     cache.Digest      `json:"log"`
	Applied time.Time         `json:"applied"`
	// Deleted marks a journal line that forgets the step.
	Deleted bool `json:"deleted,omitempty"`
}

// State is the loaded bookkeeping of one workspace.
type State struct {
	dir   string
	Steps map[string]*Step
	jf    *os.File // journal, open for append while applying
}

type snapshot struct {
	Version int     `json:"version"`
	Steps   []*Step `json:"steps"`
}

// Dir is the state folder of a workspace.
func Dir(workspace string) string { return filepath.Join(workspace, ".bottle") }

// Init creates .bottle/ with a .gitignore holding "*".
func Init(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating state folder: %w", err)
	}
	gi := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(gi); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(gi, []byte("*\n"), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", gi, err)
		}
	}
	return nil
}

// Load reads the state in dir. A missing state is empty. A damaged snapshot
// is treated as empty too (the cache still holds every result), with the
// error returned alongside so the caller can warn.
func Load(dir string) (*State, error) {
	s := &State{dir: dir, Steps: map[string]*Step{}}
	var warn error
	b, err := os.ReadFile(filepath.Join(dir, snapshotName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading state: %w", err)
	default:
		var snap snapshot
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&snap); err != nil || snap.Version != version {
			warn = fmt.Errorf("ignoring damaged state %s", filepath.Join(dir, snapshotName))
		} else {
			for _, st := range snap.Steps {
				s.Steps[st.Name] = st
			}
		}
	}
	j, err := os.ReadFile(filepath.Join(dir, "state.journal"))
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
		if err := Init(s.dir); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(s.dir, "state.journal"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
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
	if err := Init(s.dir); err != nil {
		return err
	}
	snap := snapshot{Version: version}
	for _, st := range s.Steps {
		snap.Steps = append(snap.Steps, st)
	}
	sortSteps(snap.Steps)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(snap); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(s.dir, snapshotName), buf.Bytes()); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.dir, "state.journal")); err != nil && !errors.Is(err, fs.ErrNotExist) {
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

// WriteFileAtomic writes b to path through a temporary file, fsync and rename.
func WriteFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
