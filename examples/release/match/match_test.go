package match

import "testing"

func TestScore(t *testing.T) {
	tests := []struct {
		text, query string
		ok          bool
	}{
		{"main.go", "mgo", true},
		{"main.go", "gom", false},
		{"Makefile", "make", true},
		{"makefile", "Make", false},
		{"anything", "", true},
	}
	for _, tt := range tests {
		if _, ok := Score(tt.text, tt.query); ok != tt.ok {
			t.Errorf("Score(%q, %q) matched = %v, want %v", tt.text, tt.query, ok, tt.ok)
		}
	}
	adjacent, _ := Score("abc", "ab")
	apart, _ := Score("axb", "ab")
	if adjacent <= apart {
		t.Errorf("adjacent matches score %d, apart %d: want adjacent higher", adjacent, apart)
	}
	start, _ := Score("x_build", "b")
	mid, _ := Score("xbuild", "b")
	if start <= mid {
		t.Errorf("a word start scores %d, the middle %d: want the start higher", start, mid)
	}
}
