package files

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// TestPrehash: on a first plan the early records serve Hash (nothing read
// or looked at again) and match what a late hash makes; guesses that are
// missing, folders or no input cost nothing later; a link is recorded as
// one; and once the plan ends them a change is seen.
func TestPrehash(t *testing.T) {
	var names []string
	for i := 0; i < 2*preChunk+3; i++ {
		names = append(names, fmt.Sprintf("d%d/f%04d", i%5, i))
	}
	slices.Sort(names)
	root := tree(t, append(slices.Clone(names), "notinput")...)
	if err := os.Symlink("d0/f0000", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	inputs := append(slices.Clone(names), "link")
	slices.Sort(inputs)
	want, _ := hashCounting(t, filepath.Join(t.TempDir(), "index"), root, inputs...)

	ix, _ := OpenIndex(filepath.Join(t.TempDir(), "index"))
	guesses := append(slices.Clone(inputs), "missing", "d1", "notinput", "d0/f0000/below")
	slices.Reverse(guesses) // any order
	ix.Prehash(root, guesses)
	if ix.early == nil {
		t.Fatal("no early pass on an empty index")
	}
	ix.early.wg.Wait() // let it finish
	before, looks := filesRead.Load(), lateLooks.Load()
	got, err := ix.Hash(root, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if n := filesRead.Load() - before; n != 0 {
		t.Errorf("read %d files after the early pass, want 0", n)
	}
	if n := lateLooks.Load() - looks; n != 0 {
		t.Errorf("looked again at %d files, want 0", n)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries from the early records differ from a late hash's")
	}
	if ix.Has("notinput") || ix.Has("missing") {
		t.Error("a guess that is no input was recorded")
	}
	// The first batch took what it needed: the records of the other
	// guesses go with the pass, and a later Hash looks for itself.
	if ix.early != nil {
		t.Error("the early records outlive the first batch")
	}
	before = filesRead.Load()
	if _, err := ix.Hash(root, []string{"notinput"}); err != nil {
		t.Fatal(err)
	}
	if n := filesRead.Load() - before; n != 1 {
		t.Errorf("read %d files for a guess after the first batch, want 1", n)
	}
	// Started too late, the early pass does nothing.
	ix.Prehash(root, guesses)
	if ix.early != nil {
		t.Error("a pass started after hashing did")
	}
	// The plan ends: a change is seen.
	ix.EndPrestat()
	os.WriteFile(filepath.Join(root, "notinput"), []byte("changed"), 0o644)
	e, ok, err := ix.Stat(root, "notinput")
	if err != nil || !ok || e.Size != int64(len("changed")) {
		t.Errorf("Stat after the plan = %+v, %v, %v", e, ok, err)
	}
}

// TestPrehashOnlyFirst: with records, or once hashing started, Prehash
// does nothing.
func TestPrehashOnlyFirst(t *testing.T) {
	root := tree(t, "a", "b")
	ixPath := filepath.Join(t.TempDir(), "index")
	hashCounting(t, ixPath, root, "a")
	ix, _ := OpenIndex(ixPath)
	ix.Prehash(root, []string{"b"})
	if ix.early != nil {
		t.Error("an early pass over an index with records")
	}
	ix2, _ := OpenIndex(filepath.Join(t.TempDir(), "index"))
	if _, err := ix2.Hash(root, nil); err != nil {
		t.Fatal(err)
	}
	ix2.Prehash(root, []string{"b"})
	if ix2.early != nil {
		t.Error("an early pass after hashing started")
	}
}
