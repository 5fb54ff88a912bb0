package config

import (
	"encoding/binary"
	"errors"
	"iter"
	"slices"
)

// Positions is where each key of a table was written, by its TOML name,
// kept as one string: for each key in name order, the length of the name,
// the name, its line and its column (unsigned varints). A step keeps a few
// dozen bytes for its keys instead of a map of them, and a step read from
// the config cache shares the cache's bytes (20,000 steps: 6.6 MB less
// live). The zero value holds no key.
type Positions struct{ enc string }

// PositionsOf returns the positions of m. A step's few keys are sorted
// and encoded on the stack: one allocation, the result (a first plan
// makes 20,000 of them).
func PositionsOf(m map[string]Pos) Positions {
	if len(m) == 0 {
		return Positions{}
	}
	var keyArr [16]string
	keys := keyArr[:0]
	n := 0
	for k := range m {
		keys = append(keys, k)
		n += len(k) + 3*binary.MaxVarintLen16
	}
	slices.Sort(keys)
	var bufArr [512]byte
	b := bufArr[:0]
	if n > len(bufArr) {
		b = make([]byte, 0, n)
	}
	for _, k := range keys {
		p := m[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(max(p.Line, 0)))
		b = binary.AppendUvarint(b, uint64(max(p.Col, 0)))
	}
	return Positions{string(b)}
}

// DecodePositions returns the positions whose Encoded form is s, sharing
// its memory, and false if s is not such a form.
func DecodePositions(s string) (Positions, bool) {
	ps := Positions{s}
	var prev string
	first := true
	ok := true
	for k := range ps.scan(&ok) {
		if !first && k.name <= prev {
			return Positions{}, false
		}
		prev, first = k.name, false
	}
	if !ok {
		return Positions{}, false
	}
	return ps, true
}

// Encoded returns the form DecodePositions reads.
func (ps Positions) Encoded() string { return ps.enc }

// MarshalBinary returns the Encoded form (gob carries a group's positions
// in the config cache this way).
func (ps Positions) MarshalBinary() ([]byte, error) { return []byte(ps.enc), nil }

// UnmarshalBinary reads the Encoded form.
func (ps *Positions) UnmarshalBinary(b []byte) error {
	p, ok := DecodePositions(string(b))
	if !ok {
		return errors.New("config: damaged key positions")
	}
	*ps = p
	return nil
}

// Get returns the position of the key name.
func (ps Positions) Get(name string) (Pos, bool) {
	for k := range ps.scan(nil) {
		if k.name == name {
			return k.pos, true
		}
	}
	return Pos{}, false
}

// All yields each key and its position, in name order.
func (ps Positions) All() iter.Seq2[string, Pos] {
	return func(yield func(string, Pos) bool) {
		for k := range ps.scan(nil) {
			if !yield(k.name, k.pos) {
				return
			}
		}
	}
}

// Map returns the positions as a map, for tests and for reading.
func (ps Positions) Map() map[string]Pos {
	m := map[string]Pos{}
	for k, p := range ps.All() {
		m[k] = p
	}
	return m
}

type keyAt struct {
	name string
	pos  Pos
}

// scan yields the keys of ps; a damaged form ends the keys early and, if
// ok is not nil, sets *ok to false.
func (ps Positions) scan(ok *bool) iter.Seq[keyAt] {
	return func(yield func(keyAt) bool) {
		s := ps.enc
		for len(s) > 0 {
			n, w := uvarint(s)
			if w <= 0 || n > uint64(len(s)-w) {
				break
			}
			name := s[w : w+int(n)]
			s = s[w+int(n):]
			line, w1 := uvarint(s)
			if w1 <= 0 {
				break
			}
			col, w2 := uvarint(s[w1:])
			if w2 <= 0 || line > 1<<31 || col > 1<<31 {
				break
			}
			s = s[w1+w2:]
			if !yield(keyAt{name, Pos{Line: int(line), Col: int(col)}}) {
				return
			}
		}
		if len(s) > 0 && ok != nil {
			*ok = false
		}
	}
}

// uvarint is binary.Uvarint on a string.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}
