// Package binrec is the one compact binary encoding of bottle's own files
// under .bottle/ that are loaded on every plan (the state, the parsed
// config): varints, length-prefixed strings and fixed-size byte arrays,
// with no reflection and no per-field allocation.
//
// A Reader hands out strings that share the memory of the buffer it reads
// (never copied, never modified), so a decoded value keeps the whole
// buffer alive. It never panics on damaged input: the first problem sets
// Err, and every read after it returns zero values.
package binrec

import (
	"encoding/binary"
	"errors"
	"math"
	"unsafe"
)

// ErrDamaged is the error of a Reader whose input ends early or holds an
// impossible length.
var ErrDamaged = errors.New("damaged record")

// Writer appends values to B.
type Writer struct{ B []byte }

// Uint appends v as a varint.
func (w *Writer) Uint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// Int appends v as a zig-zag varint.
func (w *Writer) Int(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Bool appends v as one byte.
func (w *Writer) Bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	w.B = append(w.B, b)
}

// String appends s, its length first.
func (w *Writer) String(s string) {
	w.Uint(uint64(len(s)))
	w.B = append(w.B, s...)
}

// Strings appends a list of strings, its length first. nil and empty
// read back alike, as nil.
func (w *Writer) Strings(ss []string) {
	w.Uint(uint64(len(ss)))
	for _, s := range ss {
		w.String(s)
	}
}

// Fixed appends b as it is: its length is known to the reader.
func (w *Writer) Fixed(b []byte) { w.B = append(w.B, b...) }

// Reader reads values from a buffer written by a Writer.
type Reader struct {
	b   []byte
	Err error
}

// NewReader reads b, which must not be modified afterwards: strings read
// from it share its memory.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) fail() {
	if r.Err == nil {
		r.Err = ErrDamaged
	}
	r.b = nil
}

// Done reports whether every byte was read, without error.
func (r *Reader) Done() bool { return r.Err == nil && len(r.b) == 0 }

// Uint reads a varint.
func (r *Reader) Uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Int reads a zig-zag varint.
func (r *Reader) Int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Bool reads one byte, 0 or 1.
func (r *Reader) Bool() bool {
	if len(r.b) == 0 || r.b[0] > 1 {
		r.fail()
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

// Len reads a count of things at least min bytes each, checked against
// what is left so that a damaged count cannot make a huge allocation.
func (r *Reader) Len(min int) int {
	n := r.Uint()
	if n > math.MaxInt32 || min > 0 && n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

// String reads a string; it shares the buffer's memory.
func (r *Reader) String() string {
	n := r.Len(1)
	if n == 0 {
		return ""
	}
	s := unsafe.String(&r.b[0], n)
	r.b = r.b[n:]
	return s
}

// Strings reads a list of strings: nil when empty.
func (r *Reader) Strings() []string {
	n := r.Len(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.String()
	}
	if r.Err != nil {
		return nil
	}
	return ss
}

// Fixed fills b from the buffer.
func (r *Reader) Fixed(b []byte) {
	if len(r.b) < len(b) {
		r.fail()
		return
	}
	copy(b, r.b)
	r.b = r.b[len(b):]
}
