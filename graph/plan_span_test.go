package graph

import "testing"

func TestSpan(t *testing.T) {
	all := []string{"a", "b/1", "b/2", "b/3", "c", "d"}
	cases := []struct {
		part []string
		at   int
		ok   bool
	}{
		{nil, 0, true},
		{[]string{"a"}, 0, true},
		{[]string{"b/1", "b/2", "b/3"}, 1, true},
		{all, 0, true},
		{[]string{"c", "d"}, 4, true},
		{[]string{"b/1", "b/3"}, 0, false},  // a gap
		{[]string{"d", "e"}, 0, false},      // runs past the end
		{[]string{"b/2", "b/1"}, 0, false},  // out of order
		{[]string{"bb"}, 0, false},          // not there
		{[]string{"c", "d", "a"}, 0, false}, // wraps
	}
	for _, c := range cases {
		at, ok := span(all, c.part)
		if ok != c.ok || ok && at != c.at {
			t.Errorf("span(%q) = %d, %v; want %d, %v", c.part, at, ok, c.at, c.ok)
		}
	}
}
