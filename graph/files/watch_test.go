package files

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// fakeWatcher answers as a file watcher would, from snapshots of the
// workspace taken at each clock: a path changed when its kind, inode,
// size or times differ, or it appeared or went. Like watchman it does not
// look through links, nor into .git at the root.
type fakeWatcher struct {
	root  string
	snaps []map[string]snapEntry
}

type snapEntry struct {
	kind byte
	st   FileID
}

func (fw *fakeWatcher) snapshot(t *testing.T) map[string]snapEntry {
	t.Helper()
	m := map[string]snapEntry{}
	err := filepath.WalkDir(fw.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fw.root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if rel == ".git" {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		kind := byte('f')
		switch {
		case fi.IsDir():
			kind = 'd'
		case fi.Mode()&fs.ModeSymlink != 0:
			kind = 'l'
		}
		id, err := StatID(p)
		if kind == 'l' {
			id = FileID{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
		}
		if err != nil {
			return err
		}
		m[rel] = snapEntry{kind, id}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// clock takes a snapshot and returns its clock.
func (fw *fakeWatcher) clock(t *testing.T) string {
	fw.snaps = append(fw.snaps, fw.snapshot(t))
	return "c:" + strconv.Itoa(len(fw.snaps)-1)
}

// since answers what changed since clock, and the clock now.
func (fw *fakeWatcher) since(t *testing.T, clock string) Changes {
	now := fw.clock(t)
	if clock == "" {
		return Changes{Clock: now}
	}
	n, err := strconv.Atoi(clock[2:])
	if err != nil {
		t.Fatal(err)
	}
	old, cur := fw.snaps[n], fw.snaps[len(fw.snaps)-1]
	var ch []Changed
	for p, e := range cur {
		if o, ok := old[p]; !ok || o != e {
			ch = append(ch, Changed{Path: p, Exists: true, New: !ok || o.kind != e.kind || o.st.Ino != e.st.Ino, Kind: e.kind})
		}
	}
	for p, o := range old {
		if _, ok := cur[p]; !ok {
			ch = append(ch, Changed{Path: p, Exists: false, Kind: o.kind})
		}
	}
	return Changes{Since: clock, Clock: now, Paths: ch}
}

type watchRun struct {
	files   []string
	entries []Entry
	scan    string // why it scanned in full
	err     error
	memo    []byte // the memo the watcher gave back (Watch.Memo), if any
}

// entriesMemo stands for the planner's memo: a digest of the entries.
func entriesMemo(es []Entry) []byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("%+v", es)))
	return h[:]
}

// plan does what planning does with a watcher: load, use, expand, hash,
// save.
func planWatched(t *testing.T, fw *fakeWatcher, dir string, patterns []string) watchRun {
	t.Helper()
	ix, id, err := OpenIndexID(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	w := LoadWatch(filepath.Join(dir, "watch"))
	why := w.Use(ix, fw.root, id, "fake", fw.since(t, w.Clock()))
	r := watchRun{scan: why}
	exp, err := ExpandWatched(fw.root, patterns, nil, ix.Has, ix.Watch())
	if err != nil {
		t.Fatal(err)
	}
	r.files = exp.Files
	r.memo, _ = w.Memo(fw.root, "step", exp.Files)
	r.entries, r.err = ix.Hash(fw.root, exp.Files)
	if r.err == nil && r.memo == nil {
		// As the planner does: a step decided from its memo keeps it.
		w.KeepMemo(fw.root, "step", exp.Files, entriesMemo(r.entries))
	}
	if err := w.Save(ix); err != nil {
		t.Fatal(err)
	}
	return r
}

// planPlain is the same without a watcher, with an index of its own.
func planPlain(t *testing.T, root, dir string, patterns []string) watchRun {
	t.Helper()
	ix, err := OpenIndex(filepath.Join(dir, "plain-index"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := Expand(root, patterns, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := watchRun{files: exp.Files}
	r.entries, r.err = ix.Hash(root, exp.Files)
	if err := ix.Save(); err != nil {
		t.Fatal(err)
	}
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), 0o644))
}

// TestWatchedPlanEqualsPlain edits, creates, deletes and renames files and
// folders between plans, and checks that what a plan with the watcher
// sees (files and their digests) is what a plan without it sees.
//
// A memo kept with the files (Watch.KeepMemo) and given back (Watch.Memo)
// must be the memo of what the plan without the watcher sees. Through
// lnk/x, a path below a link, the watcher vouches for no memo; without it,
// it vouches for one when nothing changed.
func TestWatchedPlanEqualsPlain(t *testing.T) {
	fastRacy(t)
	for _, patterns := range [][]string{
		{"src/**", "!src/skip/**", "top.txt", "lnk/x", "lib"},
		{"src/**", "!src/skip/**", "top.txt", "lib"},
	} {
		t.Run(fmt.Sprint(len(patterns)), func(t *testing.T) { testWatchedPlanEqualsPlain(t, patterns) })
	}
}

func testWatchedPlanEqualsPlain(t *testing.T, patterns []string) {
	throughLink := slices.Contains(patterns, "lnk/x")
	tests := []struct {
		name string
		op   func(t *testing.T, root string)
	}{
		{"nothing", func(t *testing.T, root string) {}},
		{"edit, same size", func(t *testing.T, root string) { write(t, root, "src/a", "CONTENT OF SRC/A") }},
		{"edit a literal input", func(t *testing.T, root string) { write(t, root, "top.txt", "other") }},
		{"edit below a literal folder", func(t *testing.T, root string) { write(t, root, "lib/l", "other") }},
		{"create", func(t *testing.T, root string) { write(t, root, "src/d/new", "new") }},
		{"create in a new folder", func(t *testing.T, root string) { write(t, root, "src/n/m/new", "new") }},
		{"create excluded", func(t *testing.T, root string) { write(t, root, "src/skip/new", "new") }},
		{"delete", func(t *testing.T, root string) { must(t, os.Remove(filepath.Join(root, "src/b"))) }},
		{"rename", func(t *testing.T, root string) {
			must(t, os.Rename(filepath.Join(root, "src/a"), filepath.Join(root, "src/a2")))
		}},
		{"rename over another", func(t *testing.T, root string) {
			must(t, os.Rename(filepath.Join(root, "src/a"), filepath.Join(root, "src/b")))
		}},
		{"rename a folder", func(t *testing.T, root string) {
			must(t, os.Rename(filepath.Join(root, "src/d"), filepath.Join(root, "src/d2")))
		}},
		{"swap a folder for a file", func(t *testing.T, root string) {
			must(t, os.RemoveAll(filepath.Join(root, "src/d")))
			write(t, root, "src/d", "now a file")
		}},
		{"swap a file for a folder", func(t *testing.T, root string) {
			must(t, os.Remove(filepath.Join(root, "src/b")))
			write(t, root, "src/b/inside", "now a folder")
		}},
		{"swap a folder for a link", func(t *testing.T, root string) {
			must(t, os.RemoveAll(filepath.Join(root, "src/d")))
			must(t, os.Symlink("../real", filepath.Join(root, "src/d")))
		}},
		{"retarget a link", func(t *testing.T, root string) {
			must(t, os.Remove(filepath.Join(root, "src/ln")))
			must(t, os.Symlink("b", filepath.Join(root, "src/ln")))
		}},
		{"edit through a linked folder", func(t *testing.T, root string) { write(t, root, "real/x", "changed through the link") }},
		{"swap the literal folder for a file", func(t *testing.T, root string) {
			must(t, os.RemoveAll(filepath.Join(root, "lib")))
			write(t, root, "lib", "a file")
		}},
		{"chmod", func(t *testing.T, root string) { must(t, os.Chmod(filepath.Join(root, "src/a"), 0o755)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			for _, f := range []string{"src/a", "src/b", "src/d/c", "src/d/e/f", "src/skip/s", "top.txt", "real/x", "lib/l"} {
				write(t, root, f, "content of "+f)
			}
			must(t, os.Symlink("a", filepath.Join(root, "src/ln")))
			must(t, os.Symlink("real", filepath.Join(root, "lnk")))
			dir := t.TempDir()
			fw := &fakeWatcher{root: root}
			settle()
			first := planWatched(t, fw, dir, patterns)
			if first.scan != "no clock stored yet" {
				t.Fatalf("first plan: scan %q", first.scan)
			}
			if r := planWatched(t, fw, dir, patterns); r.scan != "" {
				t.Fatalf("second plan scanned in full: %s", r.scan)
			}
			if tt.name == "nothing" {
				settle()
				r := planWatched(t, fw, dir, patterns)
				if r.memo == nil && !throughLink || r.memo != nil && throughLink {
					t.Fatalf("unchanged, through a link %v: memo %x", throughLink, r.memo)
				}
			}
			tt.op(t, root)
			// Twice: right after the change, and once more with the
			// records made after it.
			for i := 0; i < 2; i++ {
				got := planWatched(t, fw, dir, patterns)
				want := planPlain(t, root, dir, patterns)
				if got.scan != "" {
					t.Fatalf("plan %d after the change scanned in full: %s", i, got.scan)
				}
				if fmt.Sprint(got.err) != fmt.Sprint(want.err) {
					t.Fatalf("plan %d: error %v, want %v", i, got.err, want.err)
				}
				if !reflect.DeepEqual(got.files, want.files) || !reflect.DeepEqual(got.entries, want.entries) {
					t.Fatalf("plan %d with the watcher:\n%v\n%v\nwithout:\n%v\n%v", i, got.files, got.entries, want.files, want.entries)
				}
				if got.memo != nil && (throughLink || !bytes.Equal(got.memo, entriesMemo(want.entries))) {
					t.Fatalf("plan %d: the watcher gave back a memo of other entries than the plan without it sees", i)
				}
				settle()
			}
		})
	}
}

// TestWatchTrustsWithoutLooking shows that a vouched-for file is not looked
// at: a file deleted behind the watcher's back still hashes, from its
// record, and the walk that listed it is reused.
func TestWatchTrustsWithoutLooking(t *testing.T) {
	fastRacy(t)
	root := tree(t, "src/a", "src/b")
	settle()
	dir := t.TempDir()
	fw := &fakeWatcher{root: root}
	planWatched(t, fw, dir, []string{"src/**"})
	planWatched(t, fw, dir, []string{"src/**"})
	must(t, os.Remove(filepath.Join(root, "src/b")))
	for i := range fw.snaps {
		fw.snaps[i] = fw.snapshot(t) // the watcher misses it
	}
	r := planWatched(t, fw, dir, []string{"src/**"})
	if r.scan != "" || r.err != nil || len(r.entries) != 2 || r.entries[1].Path != "src/b" {
		t.Fatalf("plan = %+v; want src/b from its record, unlooked at", r)
	}
}

// TestWatchNoOpWritesNothing: a plan after which nothing changed keeps the
// stored clock and writes neither file.
func TestWatchNoOpWritesNothing(t *testing.T) {
	fastRacy(t)
	root := tree(t, "src/a", "src/b")
	settle()
	dir := t.TempDir()
	fw := &fakeWatcher{root: root}
	planWatched(t, fw, dir, []string{"src/**"})
	settle()
	planWatched(t, fw, dir, []string{"src/**"}) // records made racy-free
	before, _ := StatID(filepath.Join(dir, "watch"))
	clock := LoadWatch(filepath.Join(dir, "watch")).Clock()
	time.Sleep(20 * time.Millisecond)
	planWatched(t, fw, dir, []string{"src/**"})
	after, _ := StatID(filepath.Join(dir, "watch"))
	if before != after || LoadWatch(filepath.Join(dir, "watch")).Clock() != clock {
		t.Fatal("a no-op plan rewrote the watch file")
	}
}

// TestWatchDoubt: the stored clock is not used when the index was saved
// without it, when it is another watch's, or when the watcher cannot
// answer since it; and a path the clock's run did not look at is looked
// at.
func TestWatchDoubt(t *testing.T) {
	fastRacy(t)
	root := tree(t, "a", "b")
	settle()
	dir := t.TempDir()
	ixPath := filepath.Join(dir, "index")
	fw := &fakeWatcher{root: root}
	run := func(watcher string, paths ...string) (string, []Entry) {
		ix, id, err := OpenIndexID(ixPath)
		must(t, err)
		w := LoadWatch(filepath.Join(dir, "watch"))
		ch := fw.since(t, w.Clock())
		why := w.Use(ix, root, id, watcher, ch)
		es, err := ix.Hash(root, paths)
		must(t, err)
		must(t, w.Save(ix))
		return why, es
	}
	// b is hashed without the watcher, then changes; the watcher's first
	// run looks at a only.
	hashCounting(t, ixPath, root, "a", "b")
	write(t, root, "b", "changed b, another size")
	settle()
	if why, _ := run("w", "a"); why != "no clock stored yet" {
		t.Fatalf("first: %q", why)
	}
	settle()
	why, es := run("w", "a", "b")
	if why != "" {
		t.Fatalf("second: %q", why)
	}
	want, _ := hashCounting(t, filepath.Join(dir, "fresh"), root, "a", "b")
	if !reflect.DeepEqual(es, want) {
		t.Fatalf("b was trusted though the clock's run never looked at it:\n%v\nwant\n%v", es, want)
	}
	if why, _ := run("other", "a"); why != "the clock was stored for another watch (w)" {
		t.Fatalf("another watch: %q", why)
	}
	hashCounting(t, ixPath, root, "a", "b") // an index saved without the clock
	write(t, ixPath+".x", "", "")
	ix, err := OpenIndex(ixPath)
	must(t, err)
	ix.put("x", &record{hashed: 1})
	must(t, ix.Save())
	if why, _ := run("other", "a"); why != "the index was saved without the clock" {
		t.Fatalf("index saved without the clock: %q", why)
	}
	ix, id, err := OpenIndexID(ixPath)
	must(t, err)
	w := LoadWatch(filepath.Join(dir, "watch"))
	if why := w.Use(ix, root, id, "other", Changes{Clock: "c:99"}); why != "the watcher cannot answer since the stored clock" {
		t.Fatalf("fresh: %q", why)
	}
}

func TestWatchFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "watch")
	walks := map[string]*walkEntry{
		// Every file vouched for: kept as a bitmap over the vouched paths.
		walkKey("src", "src/**", []string{"a", "b"}): {base: "src", files: []string{"src/a", "src/c"}},
		// One that is not (another step's output): kept as a list.
		walkKey(".", "**", nil):  {base: ".", files: []string{"gen/x", "src/a"}},
		walkKey("none", "", nil): {base: "none", files: nil},
	}
	memos := map[string]*memoEntry{
		"step":  {files: []string{"src/a", "src/b"}, data: []byte("state")},
		"empty": {files: nil, data: nil},
		// Not every path vouched for: not stored.
		"gen": {files: []string{"gen/x"}, data: []byte("x")},
	}
	b, kept := encodeWatch("root", "c:1", FileID{1, 2, 3, 4}, []string{"a", "b/c", "src/a", "src/b", "src/c", "z"}, walks, memos)
	if len(kept) != 2 || kept["gen"] != nil {
		t.Errorf("stored memos %v: want step and empty", slices.Collect(maps.Keys(kept)))
	}
	must(t, os.WriteFile(p, b, 0o644))
	w := LoadWatch(p)
	if w.Clock() != "c:1" || w.Watcher() != "root" || w.storedIndex != (FileID{1, 2, 3, 4}) ||
		!reflect.DeepEqual(w.stored, []string{"a", "b/c", "src/a", "src/b", "src/c", "z"}) || len(w.walks) != len(walks) {
		t.Fatalf("round trip: %+v", w)
	}
	if len(w.memos) != 2 || !reflect.DeepEqual(w.memos["step"].files, memos["step"].files) || string(w.memos["step"].data) != "state" ||
		w.memos["empty"] == nil || len(w.memos["empty"].files)+len(w.memos["empty"].data) != 0 {
		t.Errorf("memos: %+v", w.memos)
	}
	for k, e := range walks {
		got := w.walks[k]
		if got == nil || got.base != e.base || len(got.files)+len(e.files) > 0 && !reflect.DeepEqual(got.files, e.files) {
			t.Errorf("walk %q: got %+v, want %+v", k, got, e)
		}
	}
	// Every truncation, and every flipped bit of a byte, reads as no file.
	for i := 0; i < len(b); i++ {
		must(t, os.WriteFile(p, b[:i], 0o644))
		if LoadWatch(p).Clock() != "" {
			t.Fatalf("truncated at %d: read a clock", i)
		}
		c := slices.Clone(b)
		c[i] ^= 0x10
		must(t, os.WriteFile(p, c, 0o644))
		if LoadWatch(p).Clock() != "" {
			t.Fatalf("byte %d changed: read a clock", i)
		}
	}
}

func TestFromBitmap(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} // 10: two bytes of bits
	cases := []struct {
		bits []byte
		want []string
	}{
		{[]byte{0xff, 0x03}, all}, // every path: shared
		{[]byte{0xf7, 0x07}, []string{"a", "b", "c", "e", "f", "g", "h", "i", "j"}}, // d left out, a stray bit past the end
		{[]byte{0x01, 0x02}, []string{"a", "j"}},
		{[]byte{0x00, 0x00}, []string{}},
		{[]byte{0xf0, 0x01}, []string{"e", "f", "g", "h", "i"}}, // one run: shared
		{[]byte{0x0c, 0x00}, []string{"c", "d"}},
		{[]byte{0x00, 0x02}, []string{"j"}},
		{[]byte{0x00, 0x06}, []string{"j"}}, // a stray bit past the end
		{[]byte{0xf0, 0x00, 0x00}, []string{"e", "f", "g", "h"}},
	}
	for _, c := range cases {
		if got := fromBitmap(all, c.bits); !slices.Equal(got, c.want) {
			t.Errorf("fromBitmap(%08b) = %q, want %q", c.bits, got, c.want)
		}
	}
}

// TestDropChanged: a changed path drops itself, and everything below it
// unless it is still a folder, also when paths that sort between it and
// its contents ("src/a.txt" between "src/a" and "src/a/x") are vouched.
func TestDropChanged(t *testing.T) {
	v := []string{"src/a-b", "src/a.txt", "src/a/x", "src/a/y/z", "src/b"}
	cases := []struct {
		name string
		ch   []Changed
		want []string
	}{
		{"nothing", nil, v},
		{"a folder gone", []Changed{{Path: "src/a"}}, []string{"src/a-b", "src/a.txt", "src/b"}},
		{"a folder now a file", []Changed{{Path: "src/a", Exists: true, Kind: 'f'}}, []string{"src/a-b", "src/a.txt", "src/b"}},
		{"a folder changed, still one", []Changed{{Path: "src/a", Exists: true, Kind: 'd'}}, v},
		{"a file", []Changed{{Path: "src/a.txt", Exists: true, Kind: 'f'}}, []string{"src/a-b", "src/a/x", "src/a/y/z", "src/b"}},
		{"a deeper folder gone", []Changed{{Path: "src/a/y"}}, []string{"src/a-b", "src/a.txt", "src/a/x", "src/b"}},
	}
	for _, c := range cases {
		if got := dropChanged(v, c.ch); !slices.Equal(got, c.want) {
			t.Errorf("%s: dropChanged = %q, want %q", c.name, got, c.want)
		}
	}
}
