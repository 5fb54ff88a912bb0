package config

import (
	"fmt"
	"sort"
	"strings"
)

// The errors of a config: each positioned at its file, line, column and
// field path, and all of a file's problems together.

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

// Errors is every problem Parse found in a file, in the order of their
// positions. Parse always returns its errors as an Errors, even when there is
// only one; errors.As finds each *Error in it.
type Errors []*Error

// Error returns one line per error, sorted by position.
func (es Errors) Error() string {
	sorted := append(Errors(nil), es...)
	sortErrors(sorted)
	lines := make([]string, len(sorted))
	for i, e := range sorted {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the errors, so that errors.As finds an *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors orders errors by position; errors without one come first.
// Ties are broken by path and message, so that the order never depends on
// the order of a map.
func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		switch {
		case a.Pos != b.Pos:
			return a.Pos.before(b.Pos)
		case a.Path != b.Path:
			return a.Path < b.Path
		}
		return a.Msg < b.Msg
	})
}

func (p Pos) before(q Pos) bool {
	if p.Line != q.Line {
		return p.Line < q.Line
	}
	return p.Col < q.Col
}
