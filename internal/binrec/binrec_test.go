package binrec

import (
	"math"
	"slices"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	var w Writer
	w.Uint(0)
	w.Uint(math.MaxUint64)
	w.Int(-1)
	w.Int(math.MinInt64)
	w.Bool(true)
	w.Bool(false)
	w.String("")
	w.String("naïve \xff")
	w.Strings(nil)
	w.Strings([]string{"a", "", "bc"})
	w.Fixed([]byte{1, 2, 3})

	r := NewReader(w.B)
	var fixed [3]byte
	got := []any{r.Uint(), r.Uint(), r.Int(), r.Int(), r.Bool(), r.Bool(), r.String(), r.String(), r.Strings(), r.Strings()}
	r.Fixed(fixed[:])
	want := []any{uint64(0), uint64(math.MaxUint64), int64(-1), int64(math.MinInt64), true, false, "", "naïve \xff", []string(nil), []string{"a", "", "bc"}}
	for i := range want {
		if g, ok := got[i].([]string); ok {
			if !slices.Equal(g, want[i].([]string)) || (g == nil) != (want[i].([]string) == nil) {
				t.Errorf("value %d = %q, want %q", i, got[i], want[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("value %d = %v, want %v", i, got[i], want[i])
		}
	}
	if fixed != [3]byte{1, 2, 3} || !r.Done() {
		t.Errorf("fixed %v, done %v, err %v", fixed, r.Done(), r.Err)
	}
}

func TestDamaged(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		read func(r *Reader)
	}{
		{"empty varint", nil, func(r *Reader) { r.Uint() }},
		{"cut varint", []byte{0x80}, func(r *Reader) { r.Uint() }},
		{"overlong varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *Reader) { r.Uint() }},
		{"bool not 0 or 1", []byte{2}, func(r *Reader) { r.Bool() }},
		{"string longer than what is left", []byte{5, 'a', 'b'}, func(r *Reader) { _ = r.String() }},
		{"a count no buffer could hold", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, func(r *Reader) { r.Strings() }},
		{"count above what is left", []byte{3, 1, 'a'}, func(r *Reader) { r.Len(2) }},
		{"fixed cut short", []byte{1, 2}, func(r *Reader) { var b [3]byte; r.Fixed(b[:]) }},
	}
	for _, c := range cases {
		r := NewReader(c.in)
		c.read(r)
		if r.Err == nil || r.Done() {
			t.Errorf("%s: no error", c.name)
		}
		// Every read after the first error returns zero values.
		if r.Uint() != 0 || r.String() != "" || r.Strings() != nil {
			t.Errorf("%s: a read after the error returned something", c.name)
		}
	}
}
