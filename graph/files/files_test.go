package files

import (
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bottle-build/bottle/cache"
)

func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestExpand(t *testing.T) {
	root := tree(t,
		"go.mod", "cmd/app/main.go", "cmd/app/main_test.go", "lib/a.go", "lib/b.txt",
		"vendor/x/x.go", ".git/config", ".bottle/index", "docs/readme.md", "out/keep.txt")
	if err := os.Symlink("lib/a.go", filepath.Join(root, "link.go")); err != nil {
		t.Fatal(err)
	}
	virtual := NewVirtual([]string{"gen/types.go", "out/dir", "build/app"})
	tests := []struct {
		name      string
		patterns  []string
		files     []string
		virtual   []string
		unmatched []string
	}{
		{"literal file", []string{"go.mod"}, []string{"go.mod"}, nil, nil},
		{"literal dir", []string{"lib"}, []string{"lib/a.go", "lib/b.txt"}, nil, nil},
		{"double star", []string{"**/*.go"}, []string{"cmd/app/main.go", "cmd/app/main_test.go", "lib/a.go", "link.go", "vendor/x/x.go"}, []string{"gen/types.go"}, nil},
		{"exclude", []string{"**/*.go", "!**/*_test.go", "!vendor/**"}, []string{"cmd/app/main.go", "lib/a.go", "link.go"}, []string{"gen/types.go"}, nil},
		{"star", []string{"lib/*"}, []string{"lib/a.go", "lib/b.txt"}, nil, nil},
		{"unmatched", []string{"src/**/*.c", "go.mod"}, []string{"go.mod"}, nil, []string{"src/**/*.c"}},
		{"optional unmatched", []string{"?src/**/*.c"}, nil, nil, nil},
		{"missing literal", []string{"nope.txt"}, nil, nil, []string{"nope.txt"}},
		{"virtual literal", []string{"build/app"}, nil, []string{"build/app"}, nil},
		{"virtual under dir output", []string{"out/dir/x.txt"}, nil, []string{"out/dir"}, nil},
		{"virtual dir by glob", []string{"out/dir/**"}, nil, []string{"out/dir"}, nil},
		{"dir holding virtual", []string{"out"}, []string{"out/keep.txt"}, []string{"out/dir"}, nil},
		{"git and bottle skipped", []string{"**"}, []string{"cmd/app/main.go", "cmd/app/main_test.go", "docs/readme.md", "go.mod", "lib/a.go", "lib/b.txt", "link.go", "out/keep.txt", "vendor/x/x.go"}, []string{"build/app", "gen/types.go", "out/dir"}, nil},
		{"git named", []string{".git/config"}, []string{".git/config"}, nil, nil},
		{"duplicates once", []string{"lib/*.go", "**/a.go"}, []string{"lib/a.go"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := Expand(root, tt.patterns, virtual)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(exp.Files, tt.files) {
				t.Errorf("files = %q, want %q", exp.Files, tt.files)
			}
			if !reflect.DeepEqual(exp.Virtual, tt.virtual) {
				t.Errorf("virtual = %q, want %q", exp.Virtual, tt.virtual)
			}
			if !reflect.DeepEqual(exp.Unmatched, tt.unmatched) {
				t.Errorf("unmatched = %q, want %q", exp.Unmatched, tt.unmatched)
			}
		})
	}
}

func TestIndexHash(t *testing.T) {
	root := tree(t, "a.txt", "b/c.txt")
	os.Symlink("a.txt", filepath.Join(root, "l"))
	os.Chmod(filepath.Join(root, "b/c.txt"), 0o755)
	ixPath := filepath.Join(t.TempDir(), "index")
	ix, err := OpenIndex(ixPath)
	if err != nil {
		t.Fatal(err)
	}
	es, err := ix.Hash(root, []string{"a.txt", "b/c.txt", "l"})
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Digest != cache.SumString("content of a.txt") || es[0].Executable() {
		t.Errorf("a.txt: %+v", es[0])
	}
	if !es[1].Executable() {
		t.Errorf("b/c.txt is not executable: %v", es[1].Mode)
	}
	if es[2].Link != "a.txt" || es[2].Digest != cache.SumString("a.txt") || es[2].Executable() {
		t.Errorf("link: %+v", es[2])
	}
	if _, err := ix.Hash(root, []string{"missing"}); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestIndexReusesDigests proves that an unchanged, non-racy file is not
// read again: its record's digest is returned even after we tamper with it,
// while a file whose stat data changed is re-read.
func TestIndexReusesDigests(t *testing.T) {
	defer func(old int64) { racySlack = old }(racySlack)
	racySlack = int64(50 * time.Millisecond)
	root := tree(t, "old.txt", "new.txt")
	past := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, "old.txt"), past, past)
	time.Sleep(100 * time.Millisecond) // old.txt's ctime is now well before the hash
	ixPath := filepath.Join(t.TempDir(), "index")
	ix, _ := OpenIndex(ixPath)
	os.WriteFile(filepath.Join(root, "new.txt"), []byte("just written"), 0o644)
	if _, err := ix.Hash(root, []string{"old.txt", "new.txt"}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	// Make the recorded digests wrong, so a reuse is visible.
	fake := cache.SumString("fake")
	ix2, _ := OpenIndex(ixPath)
	for _, r := range ix2.recs {
		r.digest = fake
	}
	es, _ := ix2.Hash(root, []string{"old.txt", "new.txt"})
	if es[0].Digest != fake {
		t.Errorf("old.txt was re-read although unchanged and not racy")
	}
	if es[1].Digest == fake {
		t.Errorf("new.txt (modified within a second of hashing) was trusted: the racy rule failed")
	}
	// A changed file is re-read even with an old mtime (size and ctime move).
	os.WriteFile(filepath.Join(root, "old.txt"), []byte("changed!"), 0o644)
	os.Chtimes(filepath.Join(root, "old.txt"), past, past)
	es, _ = ix2.Hash(root, []string{"old.txt"})
	if es[0].Digest != cache.SumString("changed!") {
		t.Errorf("a modified file was not re-hashed")
	}
}

// TestIndexRacy: an edit in the same clock tick as the hash, which leaves
// size and mtime unchanged, is still seen on the next use.
func TestIndexRacy(t *testing.T) {
	root := tree(t, "f")
	p := filepath.Join(root, "f")
	os.WriteFile(p, []byte("AAAA"), 0o644)
	ixPath := filepath.Join(t.TempDir(), "index")
	ix, _ := OpenIndex(ixPath)
	es, _ := ix.Hash(root, []string{"f"})
	fi, _ := os.Stat(p)
	ix.Save()
	// Same size, same mtime, new content (ctime moves, but keep the test
	// honest about mtime: the racy rule must catch it even if ctime did not).
	os.WriteFile(p, []byte("BBBB"), 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	ix2, _ := OpenIndex(ixPath)
	es2, _ := ix2.Hash(root, []string{"f"})
	if es2[0].Digest == es[0].Digest {
		t.Fatalf("a same-tick edit was missed")
	}
	if es2[0].Digest != cache.SumString("BBBB") {
		t.Errorf("digest %s is not of the new content", es2[0].Digest.Short())
	}
}

func TestIndexCorruptIsEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "index")
	for _, content := range []string{"", "garbage", indexMagic + "\xff\xff\xff\xff\xff\xff\xff\x7f"} {
		os.WriteFile(p, []byte(content), 0o644)
		ix, err := OpenIndex(p)
		if err != nil || len(ix.recs) != 0 {
			t.Errorf("index %q: %v, %d records", content, err, len(ix.recs))
		}
	}
}

func TestIndexRoundTripAndConcurrentSave(t *testing.T) {
	root := tree(t, "a", "b", "c")
	p := filepath.Join(t.TempDir(), "index")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ix, _ := OpenIndex(p)
			if _, err := ix.Hash(root, []string{"a", "b", "c"}); err != nil {
				t.Error(err)
			}
			if err := ix.Save(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	ix, _ := OpenIndex(p)
	if len(ix.recs) != 3 {
		t.Fatalf("%d records after concurrent saves, want 3", len(ix.recs))
	}
	if ix.recs["b"].digest != cache.SumString("content of b") {
		t.Error("wrong digest after round trip")
	}
}

func TestStatMissing(t *testing.T) {
	root := tree(t, "x")
	ix, _ := OpenIndex(filepath.Join(t.TempDir(), "index"))
	if _, ok, err := ix.Stat(root, "x"); !ok || err != nil {
		t.Errorf("x: %v %v", ok, err)
	}
	os.Remove(filepath.Join(root, "x"))
	if _, ok, err := ix.Stat(root, "x"); ok || err != nil {
		t.Errorf("removed x: ok=%v err=%v", ok, err)
	}
	if _, has := ix.recs["x"]; has {
		t.Error("record of a removed file kept")
	}
}
