// Package mask hides secret values in text bottle prints or stores: every
// occurrence of a secret becomes "***".
//
// A Writer masks a stream written in chunks of any size: a secret split
// across two or more writes is still found, because the writer holds back
// the end of what it was given while that end could be the start of a
// secret (at most len(longest secret)-1 bytes), and lets it go as soon as it
// knows, or on Close. Overlapping occurrences become one ***, so that no
// byte of any occurrence of any secret is passed on; a secret that is a
// prefix of a longer one is decided only when the longer one is known to
// match or not.
package mask

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"sync"
)

// Mask is what a secret is replaced by.
const Mask = "***"

// MinLen is the shortest value accepted as a secret: masking a shorter one
// would blank out ordinary text and hint at the value.
const MinLen = 4

// Set is a set of secret values to mask. The zero Set masks nothing.
type Set struct {
	secrets [][]byte // longest first
	first   [256]bool
	longest int
}

// NewSet returns the set of the given values; empty values and duplicates
// are dropped.
func NewSet(values ...string) *Set {
	s := &Set{}
	for _, v := range values {
		if v == "" || slices.ContainsFunc(s.secrets, func(b []byte) bool { return string(b) == v }) {
			continue
		}
		s.secrets = append(s.secrets, []byte(v))
		s.first[v[0]] = true
		s.longest = max(s.longest, len(v))
	}
	slices.SortStableFunc(s.secrets, func(a, b []byte) int { return len(b) - len(a) })
	return s
}

// Empty reports whether the set masks nothing.
func (s *Set) Empty() bool { return s == nil || len(s.secrets) == 0 }

// String returns str with every secret masked.
func (s *Set) String(str string) string {
	if s.Empty() {
		return str
	}
	out, _, _ := s.mask(nil, []byte(str), 0, true)
	return string(out)
}

// mask appends b, masked, to out. cover says how many bytes at the start
// of b lie inside a secret whose *** was written already. It returns out,
// the number of bytes of b it decided and, of what it left undecided, how
// many bytes lie inside that *** still. Unless final, it stops at the
// first position where what is left could still be the start of a secret.
//
// Every occurrence of every secret is covered, also where secrets overlap:
// each position is tried, and a secret starting inside a masked stretch
// extends it, so no byte of any occurrence is ever passed on.
func (s *Set) mask(out, b []byte, cover int, final bool) ([]byte, int, int) {
	end := cover // of the masked stretch; plain bytes run from here
	for i := 0; i < len(b); i++ {
		if !s.first[b[i]] {
			continue
		}
		rest := b[i:]
		if !final && s.couldStart(rest) {
			if i > end {
				out = append(out, b[end:i]...)
			}
			return out, i, max(end-i, 0)
		}
		n := s.matchAt(rest)
		switch {
		case n == 0:
		case i < end:
			end = max(end, i+n) // overlaps the stretch: extends it
		default:
			out = append(out, b[end:i]...)
			out = append(out, Mask...)
			end = i + n
		}
	}
	if len(b) > end {
		out = append(out, b[end:]...)
	}
	return out, len(b), 0
}

// couldStart reports whether rest is a proper prefix of a secret: more
// input may complete it.
func (s *Set) couldStart(rest []byte) bool {
	if len(rest) >= s.longest {
		return false
	}
	for _, sec := range s.secrets {
		if len(rest) < len(sec) && bytes.HasPrefix(sec, rest) {
			return true
		}
	}
	return false
}

// matchAt returns the length of the longest secret rest starts with, or 0.
func (s *Set) matchAt(rest []byte) int {
	for _, sec := range s.secrets { // longest first
		if len(rest) >= len(sec) && rest[len(sec)-1] == sec[len(sec)-1] && bytes.HasPrefix(rest, sec) {
			return len(sec)
		}
	}
	return 0
}

// Writer masks what is written to it before passing it on. It is safe for
// concurrent use (a command's stdout and stderr may share it). Close must be
// called to pass on what it holds back; it does not close the underlying
// writer.
type Writer struct {
	set *Set
	w   io.Writer

	mu    sync.Mutex
	held  []byte
	cover int    // bytes at the start of held inside a *** already written
	out   []byte // reused
	err   error
}

// NewWriter returns a Writer masking set's secrets on their way to w. With
// an empty set it still works, holding nothing back.
func NewWriter(w io.Writer, set *Set) *Writer {
	if set == nil {
		set = &Set{}
	}
	return &Writer{set: set, w: w}
}

// Write masks p and passes on everything known not to be part of a secret.
// It reports len(p) unless the underlying writer failed.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.set.Empty() {
		_, err := w.w.Write(p)
		w.err = err
		return len(p), err
	}
	w.held = append(w.held, p...)
	var n int
	w.out, n, w.cover = w.set.mask(w.out[:0], w.held, w.cover, false)
	w.held = w.held[:copy(w.held, w.held[n:])]
	if len(w.out) > 0 {
		if _, err := w.w.Write(w.out); err != nil {
			w.err = err
			return 0, err
		}
	}
	return len(p), nil
}

// Close passes on what was held back, masked. It does not close the
// underlying writer; writing after Close is an error.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == errClosed {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	w.err = errClosed
	if len(w.held) == 0 {
		return nil
	}
	out, _, _ := w.set.mask(w.out[:0], w.held, w.cover, true)
	w.held = nil
	if _, err := w.w.Write(out); err != nil {
		w.err = err
		return err
	}
	return nil
}

var errClosed = errors.New("mask: write after close")

// Error returns err with its message masked. errors.Is and errors.As still
// see err and what it wraps; only the text changes.
func (s *Set) Error(err error) error {
	if err == nil || s.Empty() {
		return err
	}
	msg := err.Error()
	if m := s.String(msg); m != msg {
		return &maskedError{msg: m, err: err}
	}
	return err
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }
