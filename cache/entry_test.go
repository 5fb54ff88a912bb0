package cache

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMatchKeysAndEntry(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := func(hex string) Key {
		k, err := ParseKey(hex + strings.Repeat("0", 64-len(hex)))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, k := range []Key{key("abcd01"), key("abcd02"), key("abce"), key("12")} {
		if err := c.PutResult(&Result{Key: k, Step: "s", Kind: "exec", KeyLines: []string{"bottle-key 1", "field run " + k.Short()}}); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(c.Dir())
	for _, tc := range []struct {
		prefix string
		limit  int
		want   []Key
		err    string
	}{
		{"abcd", 0, []Key{key("abcd01"), key("abcd02")}, ""},
		{"ABCD01", 0, []Key{key("abcd01")}, ""},
		{"abcd", 1, []Key{key("abcd01")}, ""},
		{"abce", 0, []Key{key("abce")}, ""},
		{"abcf", 0, nil, ""},
		{"ffff", 0, nil, ""}, // no folder at all
		{key("12").String(), 0, []Key{key("12")}, ""},
		{"abc", 0, nil, "at least 4 hex digits"},
		{"abcz", 0, nil, "a key is hex digits"},
		{strings.Repeat("a", 65), 0, nil, "longer than a key"},
	} {
		got, err := r.MatchKeys(tc.prefix, tc.limit)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("MatchKeys(%q): error %v, want %q", tc.prefix, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("MatchKeys(%q, %d) = %v, %v; want %v", tc.prefix, tc.limit, got, err, tc.want)
		}
	}

	// Entry reads a result whose blobs are gone (PeekResult would miss):
	// what it records is wanted, not its files.
	k := key("abcd01")
	blobbed := &Result{Key: key("77"), Step: "b", Kind: "exec", Log: SumString("gone"), KeyLines: []string{"bottle-key 1"}}
	if err := os.MkdirAll(filepath.Dir(c.BlobPath(blobbed.Log)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.BlobPath(blobbed.Log), []byte("gone"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := c.PutResult(blobbed); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(c.BlobPath(blobbed.Log)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PeekResult(blobbed.Key); !errors.Is(err, ErrMiss) {
		t.Fatalf("PeekResult without its blob: %v", err)
	}
	got, err := r.Entry(blobbed.Key)
	if err != nil || got.Step != "b" || !reflect.DeepEqual(got.KeyLines, blobbed.KeyLines) {
		t.Errorf("Entry = %+v, %v", got, err)
	}
	if got, err := r.Entry(k); err != nil || got.KeyLines[1] != "field run "+k.Short() {
		t.Errorf("Entry(%s) = %+v, %v", k.Short(), got, err)
	}
	if _, err := r.Entry(key("99")); !errors.Is(err, ErrMiss) {
		t.Errorf("Entry of a missing key: %v, want a miss", err)
	}
}
