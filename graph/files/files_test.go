package files

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/internal/testenv"
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
		"vendor/x/x.go", ".git/config", ".bottle/index", "docs/readme.md", "out/keep.txt",
		"sub/.git/HEAD", "z/a-b", "z/a.txt", "z/a/c", "z/a0")
	for link, target := range map[string]string{"link.go": "lib/a.go", "linkdir": "lib"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	virtual := NewVirtual([]string{"gen/types.go", "out/dir", "build/app", "vendor/gen.go"})
	all := []string{"cmd/app/main.go", "cmd/app/main_test.go", "docs/readme.md", "go.mod", "lib/a.go", "lib/b.txt", "link.go", "linkdir", "out/keep.txt", "sub/.git/HEAD", "vendor/x/x.go", "z/a-b", "z/a.txt", "z/a/c", "z/a0"}
	tests := []struct {
		name      string
		patterns  []string
		files     []string
		virtual   []string
		unmatched []string
	}{
		{"literal file", []string{"go.mod"}, []string{"go.mod"}, nil, nil},
		{"literal file, dot slash", []string{"./lib/../go.mod"}, []string{"go.mod"}, nil, nil},
		{"literal dir", []string{"lib"}, []string{"lib/a.go", "lib/b.txt"}, nil, nil},
		{"literal dir, trailing slash", []string{"lib/"}, []string{"lib/a.go", "lib/b.txt"}, nil, nil},
		{"star at root", []string{"*.go"}, []string{"link.go"}, nil, nil},
		{"star", []string{"lib/*"}, []string{"lib/a.go", "lib/b.txt"}, nil, nil},
		{"double star", []string{"**/*.go"}, []string{"cmd/app/main.go", "cmd/app/main_test.go", "lib/a.go", "link.go", "vendor/x/x.go"}, []string{"gen/types.go", "vendor/gen.go"}, nil},
		{"everything, .git and .bottle skipped at the root only", []string{"**"}, all, []string{"build/app", "gen/types.go", "out/dir", "vendor/gen.go"}, nil},
		{"dir/**", []string{"cmd/**"}, []string{"cmd/app/main.go", "cmd/app/main_test.go"}, nil, nil},
		{"exclude", []string{"**/*.go", "!**/*_test.go", "!vendor/**"}, []string{"cmd/app/main.go", "lib/a.go", "link.go"}, []string{"gen/types.go"}, nil},
		{"exclude order does not matter", []string{"!**/*_test.go", "cmd/**"}, []string{"cmd/app/main.go"}, nil, nil},
		// "vendor" matches the folder only: its files go because it is pruned.
		{"exclude prunes a folder", []string{"**", "!vendor", "!z", "!sub"}, []string{"cmd/app/main.go", "cmd/app/main_test.go", "docs/readme.md", "go.mod", "lib/a.go", "lib/b.txt", "link.go", "linkdir", "out/keep.txt"}, []string{"build/app", "gen/types.go", "out/dir"}, nil},
		{"exclude covers literal files below", []string{"vendor/x/x.go", "!vendor"}, nil, nil, []string{"vendor/x/x.go"}},
		{"unmatched", []string{"src/**/*.c", "go.mod"}, []string{"go.mod"}, nil, []string{"src/**/*.c"}},
		{"optional unmatched", []string{"?src/**/*.c", "?nope"}, nil, nil, nil},
		{"optional matched", []string{"?go.mod"}, []string{"go.mod"}, nil, nil},
		{"missing literal", []string{"nope.txt"}, nil, nil, []string{"nope.txt"}},
		{"under a file", []string{"go.mod/x"}, nil, nil, []string{"go.mod/x"}},
		{"all excluded is unmatched", []string{"lib/*.go", "!lib/a.go"}, nil, nil, []string{"lib/*.go"}},
		{"virtual literal", []string{"build/app"}, nil, []string{"build/app"}, nil},
		{"virtual under dir output", []string{"out/dir/x.txt"}, nil, []string{"out/dir"}, nil},
		{"virtual dir by glob", []string{"out/dir/**"}, nil, []string{"out/dir"}, nil},
		{"glob inside virtual dir", []string{"out/dir/*.o"}, nil, []string{"out/dir"}, nil},
		{"glob not matching virtual", []string{"build/*.o"}, nil, nil, []string{"build/*.o"}},
		{"existing dir holding virtual", []string{"out"}, []string{"out/keep.txt"}, []string{"out/dir"}, nil},
		{"missing dir holding virtual", []string{"gen"}, nil, []string{"gen/types.go"}, nil},
		{"virtual excluded", []string{"gen/**", "!gen/*.go"}, nil, nil, []string{"gen/**"}},
		{"link returned, not followed", []string{"linkdir"}, []string{"linkdir"}, nil, nil},
		{"glob does not enter linked dir", []string{"linkdir/**"}, nil, nil, []string{"linkdir/**"}},
		{".git named", []string{".git/config"}, []string{".git/config"}, nil, nil},
		{".git named by prefix", []string{".git/**"}, []string{".git/config"}, nil, nil},
		{".bottle named", []string{".bottle"}, []string{".bottle/index"}, nil, nil},
		{"root literal skips .git", []string{"."}, all, []string{"build/app", "gen/types.go", "out/dir", "vendor/gen.go"}, nil},
		{"duplicates once", []string{"lib/*.go", "**/a.go", "lib/a.go"}, []string{"lib/a.go"}, nil, nil},
		{"sorted as full paths", []string{"z"}, []string{"z/a-b", "z/a.txt", "z/a/c", "z/a0"}, nil, nil},
		{"braces", []string{"lib/*.{go,txt}"}, []string{"lib/a.go", "lib/b.txt"}, nil, nil},
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

func TestExpandBadPatterns(t *testing.T) {
	root := tree(t, "a")
	for _, p := range []string{"[a", "../x", "/etc/passwd", "!../x", "a/{b"} {
		if _, err := Expand(root, []string{p}, nil); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("pattern %q: err = %v, want an error naming it", p, err)
		}
	}
}

// TestExpandSortedWalk checks the parallel walk against a plain sorted
// listing on a tree of names that sort differently as names and as paths.
func TestExpandSortedWalk(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "b", "-", ".", "_", "0", "A", "~"}
	name := func() string {
		var b strings.Builder
		for i := 0; i < 1+rng.Intn(3); i++ {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		if s := b.String(); s != "." && s != ".." {
			return s
		}
		return "x"
	}
	root := t.TempDir()
	var want []string
	var mk func(dir string, depth int)
	mk = func(dir string, depth int) {
		for i := 0; i < 6; i++ {
			n := name()
			p := filepath.Join(dir, n)
			if _, err := os.Lstat(p); err == nil {
				continue
			}
			if depth < 3 && rng.Intn(3) == 0 {
				os.Mkdir(p, 0o755)
				mk(p, depth+1)
				continue
			}
			os.WriteFile(p, nil, 0o644)
			rel, _ := filepath.Rel(root, p)
			want = append(want, filepath.ToSlash(rel))
		}
	}
	mk(root, 0)
	slices.Sort(want)
	exp, err := Expand(root, []string{"**"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(exp.Files, want) {
		t.Errorf("walk order:\n got %q\nwant %q", exp.Files, want)
	}
}

func TestExpandUnreadableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// Root reads any folder, and CI runs as root: check it as nobody.
		testenv.RunAsNobody(t, "TestExpandUnreadableDir")
		return
	}
	root := tree(t, "d/x")
	os.Chmod(filepath.Join(root, "d"), 0)
	defer os.Chmod(filepath.Join(root, "d"), 0o755)
	_, err := Expand(root, []string{"**"}, nil)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "d")) || !errors.Is(err, fs.ErrPermission) {
		t.Errorf("err = %v, want a permission error naming the folder", err)
	}
}

func TestIndexHash(t *testing.T) {
	root := tree(t, "a.txt", "b/c.txt", "empty")
	os.WriteFile(filepath.Join(root, "empty"), nil, 0o644)
	os.Symlink("a.txt", filepath.Join(root, "l"))
	os.Chmod(filepath.Join(root, "b/c.txt"), 0o755)
	big := bytes.Repeat([]byte("0123456789"), 100_000) // bigger than the read buffer
	os.WriteFile(filepath.Join(root, "big"), big, 0o644)
	ix, err := OpenIndex(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	es, err := ix.Hash(root, []string{"a.txt", "b/c.txt", "l", "empty", "big"})
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Path != "a.txt" || es[0].Digest != cache.SumString("content of a.txt") || es[0].Executable() || es[0].Size != 16 {
		t.Errorf("a.txt: %+v", es[0])
	}
	if !es[1].Executable() || es[1].Mode != 0o755 {
		t.Errorf("b/c.txt is not executable: %v", es[1].Mode)
	}
	if es[2].Link != "a.txt" || es[2].Digest != cache.SumString("a.txt") || es[2].Executable() || es[2].Mode&fs.ModeSymlink == 0 {
		t.Errorf("link: %+v", es[2])
	}
	if es[3].Digest != cache.SumString("") {
		t.Errorf("empty file: %+v", es[3])
	}
	if es[4].Digest != cache.SumBytes(big) {
		t.Errorf("big file: wrong digest")
	}
	// An absolute path under root "/", as tools are hashed.
	abs := strings.TrimPrefix(filepath.Join(root, "a.txt"), "/")
	if es, err := ix.Hash("/", []string{abs}); err != nil || es[0].Digest != cache.SumString("content of a.txt") {
		t.Errorf("absolute path: %v %v", es, err)
	}
}

func TestIndexMissing(t *testing.T) {
	root := tree(t, "a", "d/b")
	ixPath := filepath.Join(t.TempDir(), "index")
	ix, _ := OpenIndex(ixPath)
	if _, err := ix.Hash(root, []string{"a", "d/b"}); err != nil {
		t.Fatal(err)
	}
	ix.Save()
	os.Remove(filepath.Join(root, "a"))
	os.RemoveAll(filepath.Join(root, "d"))
	ix, _ = OpenIndex(ixPath)
	for _, p := range []string{"a", "d/b", "a/under-a-file"} {
		_, err := ix.Hash(root, []string{p})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want not-exist naming it", p, err)
		}
	}
	if n := ix.count(); n != 0 {
		t.Errorf("%d records kept for missing files", n)
	}
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	if ix, _ = OpenIndex(ixPath); ix.count() != 0 {
		t.Errorf("saved index holds %d records of missing files", ix.count())
	}
}

func TestExecutable(t *testing.T) {
	for mode, want := range map[fs.FileMode]bool{0o644: false, 0o755: true, 0o700: true, 0o010: true, fs.ModeSymlink | 0o777: false} {
		if got := (Entry{Mode: mode}).Executable(); got != want {
			t.Errorf("%v: %v, want %v", mode, got, want)
		}
	}
}

// fastRacy shortens the racy window so tests need not wait seconds.
func fastRacy(t *testing.T) {
	old := racySlack
	racySlack = int64(50 * time.Millisecond)
	t.Cleanup(func() { racySlack = old })
}

func settle() { time.Sleep(120 * time.Millisecond) }

// hashCounting hashes paths with a fresh index from ixPath, saves it, and
// returns the entries and how many files were read.
func hashCounting(t *testing.T, ixPath, root string, paths ...string) ([]Entry, int64) {
	t.Helper()
	ix, err := OpenIndex(ixPath)
	if err != nil {
		t.Fatal(err)
	}
	before := filesRead.Load()
	es, err := ix.Hash(root, paths)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	return es, filesRead.Load() - before
}

// TestIndexReusesDigests: an unchanged file whose record is not racy is
// not read again; changes of content, mode, size or ctime are seen.
func TestIndexReusesDigests(t *testing.T) {
	fastRacy(t)
	root := tree(t, "a", "b", "c")
	settle()
	ixPath := filepath.Join(t.TempDir(), "index")
	es, n := hashCounting(t, ixPath, root, "a", "b", "c")
	if n != 3 {
		t.Fatalf("first run read %d files, want 3", n)
	}
	es2, n := hashCounting(t, ixPath, root, "a", "b", "c")
	if n != 0 {
		t.Errorf("second run read %d files, want 0", n)
	}
	if !reflect.DeepEqual(es, es2) {
		t.Errorf("entries differ:\n%+v\n%+v", es, es2)
	}

	// Same size, same mtime, new content: only ctime tells.
	pa := filepath.Join(root, "a")
	fi, _ := os.Stat(pa)
	os.WriteFile(pa, []byte("CONTENT of a"), 0o644)
	os.Chtimes(pa, fi.ModTime(), fi.ModTime())
	// A mode change.
	os.Chmod(filepath.Join(root, "b"), 0o755)
	settle()
	es3, n := hashCounting(t, ixPath, root, "a", "b", "c")
	if n != 2 {
		t.Errorf("after changing a and b, %d files read, want 2", n)
	}
	if es3[0].Digest != cache.SumString("CONTENT of a") {
		t.Errorf("a: stale digest after a same-size, same-mtime edit")
	}
	if !es3[1].Executable() {
		t.Errorf("b: mode change missed")
	}
}

// TestIndexRacy: a file looked at within the racy window of its last change
// is read again next time although its stat data is unchanged, and then
// trusted once it has stayed put.
func TestIndexRacy(t *testing.T) {
	fastRacy(t)
	root := tree(t, "f")
	ixPath := filepath.Join(t.TempDir(), "index")
	if _, n := hashCounting(t, ixPath, root, "f"); n != 1 {
		t.Fatalf("read %d", n)
	}
	// Nothing changed, but the record was made within the window: a write
	// right after it could have left the stat data as it was.
	if _, n := hashCounting(t, ixPath, root, "f"); n != 1 {
		t.Errorf("a racy record was trusted (read %d files, want 1)", n)
	}
	settle()
	if _, n := hashCounting(t, ixPath, root, "f"); n != 1 {
		t.Errorf("read %d files, want 1 (the record was still racy)", n)
	}
	if _, n := hashCounting(t, ixPath, root, "f"); n != 0 {
		t.Errorf("read %d files, want 0 (the file stayed put)", n)
	}
}

// TestIndexRacyDefault uses the real window: an edit in the same second as
// the index write, that keeps size and mtime, is seen on the next open.
func TestIndexRacyDefault(t *testing.T) {
	root := tree(t, "f")
	p := filepath.Join(root, "f")
	os.WriteFile(p, []byte("AAAA"), 0o644)
	ixPath := filepath.Join(t.TempDir(), "index")
	es, _ := hashCounting(t, ixPath, root, "f")
	fi, _ := os.Stat(p)
	os.WriteFile(p, []byte("BBBB"), 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	es2, n := hashCounting(t, ixPath, root, "f")
	if n != 1 || es2[0].Digest == es[0].Digest || es2[0].Digest != cache.SumString("BBBB") {
		t.Fatalf("a same-tick edit was missed")
	}
}

func TestRecordTrusted(t *testing.T) {
	const s = int64(time.Second)
	hashed := 100 * s
	for _, tc := range []struct {
		mtime, ctime int64
		want         bool
	}{
		{50 * s, 50 * s, true},
		{hashed - racySlack - 1, hashed - racySlack - 1, true},
		{hashed - racySlack, 50 * s, false},
		{50 * s, hashed - racySlack, false},
		{hashed, hashed, false},
		{hashed + s, hashed + s, false},
	} {
		r := record{st: stat{mtime: tc.mtime, ctime: tc.ctime}, hashed: hashed}
		if got := r.trusted(); got != tc.want {
			t.Errorf("mtime %d ctime %d hashed %d: trusted = %v", tc.mtime, tc.ctime, hashed, got)
		}
	}
	if (&record{hashed: 0}).trusted() {
		t.Error("a record with no hash time is trusted")
	}
}

func saved(t *testing.T, n int) (root, ixPath string, data []byte) {
	t.Helper()
	var names []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("d%d/f%03d", i%3, i))
	}
	root = tree(t, names...)
	os.Symlink("target", filepath.Join(root, "link"))
	names = append(names, "link")
	ixPath = filepath.Join(t.TempDir(), "index")
	ix, _ := OpenIndex(ixPath)
	if _, err := ix.Hash(root, names); err != nil {
		t.Fatal(err)
	}
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ixPath)
	if err != nil {
		t.Fatal(err)
	}
	return root, ixPath, data
}

func TestIndexCorruptIsEmpty(t *testing.T) {
	_, ixPath, good := saved(t, 20)
	if ix, err := OpenIndex(ixPath); err != nil || ix.count() != 21 {
		t.Fatalf("good index: %v, %d records", err, ix.count())
	}
	swapped := slices.Clone(good)
	copy(swapped[headerSize:], good[headerSize+recSize:headerSize+2*recSize])
	copy(swapped[headerSize+recSize:], good[headerSize:headerSize+recSize])
	badOffset := slices.Clone(good)
	badOffset[headerSize+offLink] = 0xff
	badOffset[headerSize+offLink+3] = 0xff
	cases := map[string][]byte{
		"empty":       nil,
		"garbage":     []byte("garbage"),
		"old format":  []byte("bottle-index 1\n\x00\x00\x00\x00\x00\x00\x00\x00"),
		"huge count":  append([]byte(indexMagic), bytes.Repeat([]byte{0xff}, 16)...),
		"unsorted":    swapped,
		"bad offset":  badOffset,
		"extra bytes": append(slices.Clone(good), 0),
	}
	for i := 0; i < len(good); i += 7 {
		cases[fmt.Sprintf("truncated at %d", i)] = good[:i]
	}
	for name, content := range cases {
		os.WriteFile(ixPath, content, 0o644)
		ix, err := OpenIndex(ixPath)
		if err != nil || ix.count() != 0 {
			t.Errorf("%s: %v, %d records", name, err, ix.count())
		}
	}
	// A folder where the file should be is an I/O error, not an empty index.
	if _, err := OpenIndex(t.TempDir()); err == nil {
		t.Error("reading a folder as the index: no error")
	}
}

func TestIndexRoundTripAndMerge(t *testing.T) {
	fastRacy(t)
	root, ixPath, _ := saved(t, 10)
	os.WriteFile(filepath.Join(root, "d0/f000"), []byte("new content, new size"), 0o644)
	os.WriteFile(filepath.Join(root, "a-new"), []byte("added"), 0o644)
	os.WriteFile(filepath.Join(root, "zz"), []byte("added"), 0o644)
	settle()
	es, n := hashCounting(t, ixPath, root, "a-new", "d0/f000", "zz")
	if n != 3 {
		t.Errorf("read %d, want 3", n)
	}
	ix, _ := OpenIndex(ixPath)
	if ix.count() != 13 {
		t.Errorf("%d records, want 13", ix.count())
	}
	var got []string
	ix.each(ix.overList(), func(p string, r *record) {
		got = append(got, p)
		if p == "link" && r.link != "target" {
			t.Errorf("link target %q", r.link)
		}
	})
	if !slices.IsSorted(got) {
		t.Errorf("records out of order: %q", got)
	}
	r, ok := ix.find("d0/f000")
	if !ok || r.digest != es[1].Digest || r.digest != cache.SumString("new content, new size") {
		t.Errorf("merged record of d0/f000 wrong")
	}
	if _, ok := ix.find("d1/f001"); !ok {
		t.Error("an old record was dropped")
	}
}

func TestSaveOnlyWhenChanged(t *testing.T) {
	fastRacy(t)
	root := tree(t, "a")
	settle()
	ixPath := filepath.Join(t.TempDir(), "index")
	hashCounting(t, ixPath, root, "a")
	before, _ := os.Stat(ixPath)
	settle()
	hashCounting(t, ixPath, root, "a")
	after, _ := os.Stat(ixPath)
	if !os.SameFile(before, after) {
		t.Error("an unchanged index was written again")
	}
}

func TestConcurrentSave(t *testing.T) {
	root := tree(t, "a", "b", "c", "d")
	p := filepath.Join(t.TempDir(), "index")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// A reader sees either no index or a complete one, never a torn one.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if b, err := os.ReadFile(p); err == nil {
				if _, _, _, ok := checkIndex(b); !ok {
					t.Error("a reader saw a damaged index")
					return
				}
			}
		}
	}()
	var savers sync.WaitGroup
	for i := 0; i < 8; i++ {
		savers.Add(1)
		go func() {
			defer savers.Done()
			for j := 0; j < 20; j++ {
				ix, err := OpenIndex(p)
				if err != nil {
					t.Error(err)
					return
				}
				paths := []string{"a", "b", "c", "d"}[:1+(i+j)%4]
				if _, err := ix.Hash(root, paths); err != nil {
					t.Error(err)
				}
				ix.dirty = true
				if err := ix.Save(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	savers.Wait()
	close(stop)
	wg.Wait()
	ix, _ := OpenIndex(p)
	if ix.count() == 0 {
		t.Fatal("empty index after concurrent saves")
	}
	if r, ok := ix.find("a"); !ok || r.digest != cache.SumString("content of a") {
		t.Error("wrong digest after concurrent saves")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".index-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
}

// One Index shared by goroutines (Hash, Stat and Save at once).
func TestIndexConcurrentUse(t *testing.T) {
	var names []string
	for i := 0; i < 600; i++ {
		names = append(names, fmt.Sprintf("f%03d", i))
	}
	root := tree(t, names...)
	ix, _ := OpenIndex(filepath.Join(t.TempDir(), "index"))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ix.Hash(root, names); err != nil {
				t.Error(err)
			}
			if _, ok, err := ix.Stat(root, names[i]); !ok || err != nil {
				t.Error(ok, err)
			}
			if err := ix.Save(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ix.count() != 600 {
		t.Errorf("%d records", ix.count())
	}
}

func TestStat(t *testing.T) {
	root := tree(t, "x")
	ix, _ := OpenIndex(filepath.Join(t.TempDir(), "index"))
	e, ok, err := ix.Stat(root, "x")
	if !ok || err != nil || e.Digest != cache.SumString("content of x") {
		t.Errorf("x: %+v %v %v", e, ok, err)
	}
	os.Remove(filepath.Join(root, "x"))
	if _, ok, err := ix.Stat(root, "x"); ok || err != nil {
		t.Errorf("removed x: ok=%v err=%v", ok, err)
	}
	if _, ok, err := ix.Stat(root, "nodir/x"); ok || err != nil {
		t.Errorf("x in a missing folder: ok=%v err=%v", ok, err)
	}
	if ix.count() != 0 {
		t.Error("record of a removed file kept")
	}
}

// TestExpandKnown: a literal the caller knows as a file is taken without a
// look (so a path that no longer exists is returned, for Hash to find
// missing), while unknown literals and globs are looked at as usual.
func TestExpandKnown(t *testing.T) {
	root := tree(t, "real.txt", "dir/x.txt")
	known := func(p string) bool { return p == "ghost.txt" || p == "dir" }
	exp, err := ExpandKnown(root, []string{"ghost.txt", "real.txt", "nothing.txt"}, nil, known)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ghost.txt", "real.txt"}; !reflect.DeepEqual(exp.Files, want) {
		t.Errorf("files = %q, want %q", exp.Files, want)
	}
	if want := []string{"nothing.txt"}; !reflect.DeepEqual(exp.Unmatched, want) {
		t.Errorf("unmatched = %q, want %q", exp.Unmatched, want)
	}
	plain, _ := Expand(root, []string{"ghost.txt"}, nil)
	if len(plain.Files) != 0 || len(plain.Unmatched) != 1 {
		t.Errorf("without known: %+v", plain)
	}
}

// TestFindNear asks a loaded index for held and missing paths in several
// orders, with one hint carried across, as a hashing worker does: the hint
// may only make look-ups cheaper, never change their answers.
func TestFindNear(t *testing.T) {
	_, ixPath, _ := saved(t, 30)
	ix, _ := OpenIndex(ixPath)
	var held []string
	ix.each(nil, func(p string, _ *record) { held = append(held, p) })
	missing := []string{"", "a", "d0", "d0/f000x", "d1/f000", "d2/f0", "e", "link0", "zz"}
	asked := slices.Concat(held, missing)
	sorted := slices.Sorted(slices.Values(asked))
	reversed := slices.Clone(sorted)
	slices.Reverse(reversed)
	every3 := []string{}
	for i := 0; i < len(sorted); i += 3 {
		every3 = append(every3, sorted[i])
	}
	for name, order := range map[string][]string{"sorted": sorted, "reversed": reversed, "every third": every3, "held then missing": asked} {
		hint := 0
		for _, p := range order {
			want, wantOK := ix.find(p)
			got, ok := ix.findNear(p, &hint)
			if ok != wantOK || got.digest != want.digest || got.link != want.link {
				t.Errorf("%s: findNear(%q) = %v, %v; find says %v, %v", name, p, got.digest, ok, want.digest, wantOK)
			}
			if ok != slices.Contains(held, p) {
				t.Errorf("%s: findNear(%q) found = %v", name, p, ok)
			}
		}
	}
}

// TestFewOrManyInFolder looks at a folder's files both ways the hasher
// does (by path from the root when a folder holds few of the paths asked
// for, from the opened folder when it holds many) and checks that they
// see the same changes: an edit, a folder swapped for a file, a folder
// swapped for a link to a folder.
func TestFewOrManyInFolder(t *testing.T) {
	fastRacy(t)
	for _, n := range []int{1, fewInFolder - 1, fewInFolder, fewInFolder + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var names []string
			for i := 0; i < n; i++ {
				names = append(names, fmt.Sprintf("d/f%d", i))
			}
			root := tree(t, append(slices.Clone(names), "z")...)
			ix, _ := OpenIndex(filepath.Join(t.TempDir(), "index"))
			if _, err := ix.Hash(root, names); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(root, names[n-1]), []byte("edited"), 0o644)
			settle()
			es, err := ix.Hash(root, names)
			if err != nil || es[n-1].Digest != cache.SumString("edited") {
				t.Fatalf("after an edit: %v, %v", es, err)
			}
			// A link to a folder with the same names: followed, as
			// opening the folder follows it.
			os.Rename(filepath.Join(root, "d"), filepath.Join(root, "real"))
			os.Symlink("real", filepath.Join(root, "d"))
			if es, err = ix.Hash(root, names); err != nil || es[n-1].Digest != cache.SumString("edited") {
				t.Fatalf("through a linked folder: %v, %v", es, err)
			}
			os.Remove(filepath.Join(root, "d"))
			os.WriteFile(filepath.Join(root, "d"), []byte("a file now"), 0o644)
			_, found, err := ix.StatAll(root, append(slices.Clone(names), "z"))
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(found[:n], true) || !found[n] {
				t.Errorf("folder swapped for a file: found = %v", found)
			}
			if _, err := ix.Hash(root, names); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Hash under a file: %v, want not-exist", err)
			}
		})
	}
}

// TestIndexEncodeInSmallWrites: the index written a few bytes at a time
// is the index written at once, and reads back whole.
func TestIndexEncodeInSmallWrites(t *testing.T) {
	fastRacy(t)
	root, ixPath, _ := saved(t, 10)
	os.WriteFile(filepath.Join(root, "a-new"), []byte("added"), 0o644)
	settle()
	hashCounting(t, ixPath, root, "a-new")
	ix, _ := OpenIndex(ixPath)
	var whole bytes.Buffer
	if err := ix.encode(&whole); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { encodeChunk = n }(encodeChunk)
	encodeChunk = 1
	var small testenv.CountingWriter
	if err := ix.encode(&small); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(small.Bytes(), whole.Bytes()) {
		t.Fatalf("in small writes: %d bytes, want the %d of one write", small.Len(), whole.Len())
	}
	if small.Writes < 2*ix.count() {
		t.Errorf("%d writes for %d records: want one after each record and each string at least", small.Writes, ix.count())
	}
	if err := os.WriteFile(ixPath, small.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := OpenIndex(ixPath)
	if err != nil || back.count() != ix.count() {
		t.Fatalf("read back: %v, %d records, want %d", err, back.count(), ix.count())
	}
	for _, p := range []string{"a-new", "d0/f000", "link"} {
		a, okA := ix.find(p)
		b, okB := back.find(p)
		if !okA || !okB || a.digest != b.digest || a.link != b.link || a.st != b.st {
			t.Errorf("record of %s differs after the round trip", p)
		}
	}
}
