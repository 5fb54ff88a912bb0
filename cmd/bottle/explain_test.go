package main

import (
	"reflect"
	"testing"
)

func TestKeyLinesOf(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"plain", "bottle-key 1\nkind exec 1\n\n# a comment\nenv MODE 00\n", []string{"bottle-key 1", "kind exec 1", "env MODE 00"}},
		{"crlf", "bottle-key 1\r\nkind exec 1\r\n", []string{"bottle-key 1", "kind exec 1"}},
		{"debug output, this step's lines only",
			"HASH step gen key 11\nHASH gen: bottle-key 1\nHASH gen: kind exec 1\nHASH step build key 22\nHASH build: bottle-key 1\nHASH build: env MODE 00\n",
			[]string{"bottle-key 1", "env MODE 00"}},
		{"debug output of other steps", "HASH gen: bottle-key 1\n", nil},
		{"not key lines", "hello\nworld\n", nil},
		{"empty", "", nil},
	} {
		if got := keyLinesOf([]byte(tc.text), "build"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
