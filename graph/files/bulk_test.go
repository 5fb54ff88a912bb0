package files

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bottle-build/bottle/cache"
)

// TestBulk: the records of a first batch kept as a bulk are the records
// an overlay would keep, through later changes, and saved alike.
func TestBulk(t *testing.T) {
	files := []string{"a", "b", "c", "d/e", "d/f", "g"}
	sorted := slices.Clone(files)
	unsorted := slices.Clone(files)
	slices.Reverse(unsorted)
	cases := []struct {
		name string
		then func(t *testing.T, ix *Index, root string)
	}{
		{"nothing more", func(*testing.T, *Index, string) {}},
		{"a file changes", func(t *testing.T, ix *Index, root string) {
			os.WriteFile(filepath.Join(root, "b"), []byte("changed, and longer"), 0o644)
			settle()
			mustHash(t, ix, root, "b")
		}},
		{"a file goes missing", func(t *testing.T, ix *Index, root string) {
			os.Remove(filepath.Join(root, "c"))
			if _, found, err := ix.StatAll(root, []string{"c", "g"}); err != nil || found[0] || !found[1] {
				t.Fatalf("StatAll = %v, %v", found, err)
			}
		}},
		{"missing, then back", func(t *testing.T, ix *Index, root string) {
			os.Remove(filepath.Join(root, "d/e"))
			if _, ok, _ := ix.Stat(root, "d/e"); ok {
				t.Fatal("a missing file found")
			}
			os.WriteFile(filepath.Join(root, "d/e"), []byte("back"), 0o644)
			settle()
			mustHash(t, ix, root, "d/e")
		}},
		{"a folder becomes a file", func(t *testing.T, ix *Index, root string) {
			os.RemoveAll(filepath.Join(root, "d"))
			os.WriteFile(filepath.Join(root, "d"), []byte("now a file"), 0o644)
			settle()
			if _, found, err := ix.StatAll(root, []string{"d", "d/e", "d/f"}); err != nil || !slices.Equal(found, []bool{true, false, false}) {
				t.Fatalf("StatAll = %v, %v", found, err)
			}
		}},
		{"a new file besides", func(t *testing.T, ix *Index, root string) {
			os.WriteFile(filepath.Join(root, "0first"), []byte("new"), 0o644)
			os.WriteFile(filepath.Join(root, "zlast"), []byte("new"), 0o644)
			settle()
			mustHash(t, ix, root, "zlast", "0first", "a")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fastRacy(t) // records made after settle() are trusted
			var got [2][]string
			for k, first := range [][]string{sorted, unsorted} {
				root := tree(t, files...)
				settle()
				ixPath := filepath.Join(t.TempDir(), "index")
				ix, _ := OpenIndex(ixPath)
				es := mustHash(t, ix, root, first...)
				if isBulk := ix.bulk != nil; isBulk != (k == 0) {
					t.Fatalf("first batch %v: bulk = %v", first, isBulk)
				}
				for i, e := range es {
					if e.Path != first[i] || e.Digest != digestOf(t, root, first[i]) {
						t.Errorf("entry %d = %+v", i, e)
					}
				}
				c.then(t, ix, root)
				got[k] = records(ix)
				if err := ix.Save(); err != nil {
					t.Fatal(err)
				}
				again, _ := OpenIndex(ixPath)
				if saved := records(again); !slices.Equal(saved, got[k]) {
					t.Errorf("saved:\n%q\nheld:\n%q", saved, got[k])
				}
				// What was saved is trusted: nothing is read again.
				before := filesRead.Load()
				var present []string
				for _, f := range append(slices.Clone(files), "0first", "zlast", "d") {
					if st, err := os.Stat(filepath.Join(root, f)); err == nil && st.Mode().IsRegular() && again.Has(f) {
						present = append(present, f)
					}
				}
				mustHash(t, again, root, present...)
				if n := filesRead.Load() - before; n != 0 {
					t.Errorf("read %d files again of %v", n, present)
				}
			}
			if !slices.Equal(got[0], got[1]) {
				t.Errorf("bulk:\n%q\noverlay:\n%q", got[0], got[1])
			}
		})
	}
}

// TestBulkNotFromAFailedBatch: a first batch that fails keeps the records
// it made, in the overlay.
func TestBulkNotFromAFailedBatch(t *testing.T) {
	root := tree(t, "a", "b")
	ix, _ := OpenIndex(filepath.Join(t.TempDir(), "index"))
	if _, err := ix.Hash(root, []string{"a", "b", "missing"}); err == nil {
		t.Fatal("no error for a missing file")
	}
	if ix.bulk != nil {
		t.Error("a failed batch made a bulk")
	}
	if !ix.Has("a") || !ix.Has("b") || ix.Has("missing") {
		t.Errorf("records kept: a %v, b %v, missing %v", ix.Has("a"), ix.Has("b"), ix.Has("missing"))
	}
}

func mustHash(t *testing.T, ix *Index, root string, paths ...string) []Entry {
	t.Helper()
	es, err := ix.Hash(root, paths)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// records lists what ix holds, less what differs between two copies of
// the same tree (inode, times).
func records(ix *Index) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []string
	ix.each(ix.overList(), func(p string, r *record) {
		out = append(out, fmt.Sprintf("%s size %d mode %o link %q %x", p, r.st.size, r.st.mode, r.link, r.digest[:4]))
	})
	return out
}

func digestOf(t *testing.T, root, p string) cache.Digest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return cache.SumBytes(b)
}
