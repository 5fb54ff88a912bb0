// Package config reads bottle.toml into plain structs. Parse is strict: an
// unknown table, field or kind is an error, with "did you mean" where a known
// name is close, and every error carries the file, line, column and field path
// where they can be known:
//
//	bottle.toml:12:3: steps.build: unknown field "dockerfle" (did you mean "dockerfile"?)
//
// The package knows the fields common to every step; the fields of each kind
// come from a KindInfo, so that new kinds need no change here.
package config

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// File is a parsed bottle.toml.
type File struct {
	Name     string // the file name used in messages, e.g. "bottle.toml"
	Settings Settings
	Vars     map[string]string
	VarPos   map[string]Pos
	Steps    []*Step // in the order they appear in the file
}

// Settings is the [settings] table.
type Settings struct {
	CacheDir    string // cache_dir
	Jobs        int    // jobs; 0 when unset
	RemoteCache string // remote_cache
}

// Pos is a 1-based line and column. The zero Pos means unknown.
type Pos struct{ Line, Col int }

func (p Pos) IsValid() bool { return p.Line > 0 }

// Step is one [steps.NAME] table.
type Step struct {
	Name        string
	Kind        string
	Pos         Pos // of the [steps.NAME] header
	Needs       []string
	Inputs      []string
	Env         []string
	Tools       []string
	Description string
	Timeout     time.Duration // 0 when unset
	Always      bool

	// Spec holds the kind's own fields: the value returned by the kind's
	// NewSpec, decoded from the table. References in its strings are kept as
	// written; see Refs and Expand.
	Spec any

	// FieldPos is the position of each key written in the table, by its TOML
	// name ("needs", "run", ...).
	FieldPos map[string]Pos
}

// FieldPosOr returns the position of field, or of the step's header when the
// field was not written.
func (s *Step) FieldPosOr(field string) Pos {
	if p, ok := s.FieldPos[field]; ok {
		return p
	}
	return s.Pos
}

// KindInfo describes a step kind to the parser. steps.Kind implements it.
type KindInfo interface {
	// NewSpec returns a pointer to a new zero struct whose `toml` tags name the
	// kind's own fields. Its string, []string and map[string]string fields may
	// hold references.
	NewSpec() any
	// Results names the values ${step.NAME.FIELD} may refer to.
	Results() []string
}

// A Checker is a spec that validates itself after decoding. It returns a
// *FieldError (or a joined list of them) naming the offending field.
type Checker interface {
	Check() error
}

// FieldError is a problem with one field of a step's kind-specific spec,
// returned by Checker.Check. Parse positions it.
type FieldError struct {
	Field string // TOML name of the field, e.g. "outputs"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Error is one positioned problem in a config file.
type Error struct {
	File string
	Pos  Pos    // zero when unknown
	Path string // field path, e.g. "steps.build.tags"; may be empty for syntax errors
	Msg  string
}

func (e *Error) Error() string {
	s := e.File
	if e.Pos.IsValid() {
		s += fmt.Sprintf(":%d:%d", e.Pos.Line, e.Pos.Col)
	}
	s += ": "
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Msg
}

// ExitCode makes config errors exit 1.

// CheckPath reports whether p is a clean workspace-relative path that stays
// inside the workspace. It is bottle's one path check, with one wording:
// for input patterns, for the kinds' path fields, and for outputs once
// their references are expanded.
func CheckPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path: give a path relative to the workspace")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is absolute: give a path relative to the workspace", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("%q leaves the workspace: give a path relative to the workspace, without ..", p)
		}
	}
	if path.Clean(p) == "." {
		return fmt.Errorf("%q names the workspace itself: give a path inside it", p)
	}
	return nil
}
