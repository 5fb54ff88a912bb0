package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bottle-build/bottle/cache"
)

// TestPrestat: the early looks vouch for untouched files (nothing read,
// nothing looked at twice), a file changed before them is read again, a
// file gone before them is missing, and once the plan ends them a change
// is seen.
func TestPrestat(t *testing.T) {
	fastRacy(t)
	var names []string
	for i := 0; i < 3*preChunk; i++ {
		names = append(names, fmt.Sprintf("d%d/f%04d", i%7, i))
	}
	slices.Sort(names)
	root := tree(t, names...)
	ixPath := filepath.Join(t.TempDir(), "index")
	settle() // so that the records are trusted
	want, _ := hashCounting(t, ixPath, root, names...)

	edited, gone := names[10], names[preChunk+5]
	os.WriteFile(filepath.Join(root, edited), []byte("edited before the early look"), 0o644)
	os.Remove(filepath.Join(root, gone))
	ix, _ := OpenIndex(ixPath)
	ix.Prestat(root)
	ix.pre.wg.Wait() // let it finish
	for c := range ix.pre.done {
		if !ix.pre.done[c].Load() {
			t.Fatalf("chunk %d not done", c)
		}
	}
	if n := ix.pre.looks.Load(); n != int64(len(names)-1) {
		t.Errorf("%d early looks, want %d", n, len(names)-1)
	}
	before, looks := filesRead.Load(), lateLooks.Load()
	es, found, err := ix.StatAll(root, names)
	if err != nil {
		t.Fatal(err)
	}
	if n := filesRead.Load() - before; n != 1 {
		t.Errorf("read %d files, want 1 (the edited one)", n)
	}
	if n := lateLooks.Load() - looks; n != 2 {
		t.Errorf("looked again at %d files, want 2 (the edited one and the removed one)", n)
	}
	for i, p := range names {
		switch p {
		case gone:
			if found[i] {
				t.Errorf("%s was removed, and found", p)
			}
		case edited:
			if es[i].Digest != cache.SumString("edited before the early look") {
				t.Errorf("%s: the old digest", p)
			}
		default:
			if !found[i] || es[i] != want[i] {
				t.Errorf("%s: %+v, want %+v", p, es[i], want[i])
			}
		}
	}

	// The plan is made: the looks are dropped, and a later change shows.
	ix.EndPrestat()
	later := names[2*preChunk+1]
	os.WriteFile(filepath.Join(root, later), []byte("edited after the plan"), 0o644)
	es, err = ix.Hash(root, []string{later})
	if err != nil || es[0].Digest != cache.SumString("edited after the plan") {
		t.Errorf("a change after EndPrestat: %v, %v", es, err)
	}
	if _, err := ix.Hash(root, []string{gone}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the removed file: %v", err)
	}
}

// TestPrestatStopsWhenHashingStarts: hashing does not wait for the early
// pass, and gets the same entries whether the pass got far or not.
func TestPrestatStopsWhenHashingStarts(t *testing.T) {
	var names []string
	for i := 0; i < 20*preChunk; i++ {
		names = append(names, fmt.Sprintf("d%02d/f%05d", i%40, i))
	}
	slices.Sort(names)
	root := tree(t, names...)
	ixPath := filepath.Join(t.TempDir(), "index")
	want, _ := hashCounting(t, ixPath, root, names...)
	ix, _ := OpenIndex(ixPath)
	ix.Prestat(root)
	got, err := ix.Hash(root, names)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("entries differ with an early pass cut short")
	}
	if !ix.pre.stop.Load() {
		t.Error("hashing left the early pass running")
	}
}
