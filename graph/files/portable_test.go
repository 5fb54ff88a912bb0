// The Linux fast paths (readdir_linux.go, folder_linux.go) and the portable
// ones other systems use (readdir_portable.go, folder_portable.go) must see
// a tree the same way. These tests compare them on Linux, where both are
// built; elsewhere the two are one and the tests pass trivially.

package files

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// portableTree makes a tree of files, folders, links, an executable, a pipe,
// a big folder and, when not root, folders and a file it may not read.
func portableTree(t *testing.T) string {
	t.Helper()
	root := tree(t, "a.txt", "bin/tool", "sub/x.go", "sub/deep/f", "sub/deep/g.txt",
		"noread/f", "locked/f", "pipes/file", "secret/s")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(filepath.Join(root, "bin/tool"), 0o755))
	must(os.Mkdir(filepath.Join(root, "empty"), 0o755))
	must(os.Symlink("a.txt", filepath.Join(root, "link")))
	must(os.Symlink("nowhere", filepath.Join(root, "dangling")))
	must(os.Symlink("sub", filepath.Join(root, "linkdir")))
	must(os.Symlink("../a.txt", filepath.Join(root, "sub/up")))
	must(unix.Mkfifo(filepath.Join(root, "pipes/fifo"), 0o644))
	// More entries than one read of either path takes, with long names.
	big := filepath.Join(root, "big")
	must(os.Mkdir(big, 0o755))
	for i := range 3000 {
		name := fmt.Sprintf("%04d-%s", i, strings.Repeat("n", i%200))
		if i%10 == 0 {
			must(os.Mkdir(filepath.Join(big, name), 0o755))
			continue
		}
		must(os.WriteFile(filepath.Join(big, name), []byte(name), 0o644))
	}
	must(os.Chmod(filepath.Join(root, "noread"), 0o311)) // search, no read
	must(os.Chmod(filepath.Join(root, "locked"), 0))
	must(os.Chmod(filepath.Join(root, "secret/s"), 0))
	t.Cleanup(func() {
		os.Chmod(filepath.Join(root, "noread"), 0o755)
		os.Chmod(filepath.Join(root, "locked"), 0o755)
	})
	return root
}

// needsNonRoot skips a case about permissions when root, who has them all.
func needsNonRoot(t *testing.T, denied bool) {
	t.Helper()
	if denied && os.Geteuid() == 0 {
		t.Skip("root is never denied")
	}
}

type listed struct {
	names []string // "name/" for a folder, "name@" for a link
	err   string
}

func listWith(root, rel string, list func(*dirReader, string) error) listed {
	r := &dirReader{}
	var out listed
	if err := list(r, join(root, rel)); err != nil {
		out.err = err.Error()
	}
	for _, e := range r.ents {
		name := string(r.names[e.off : e.off+e.len])
		switch e.typ {
		case unix.DT_DIR:
			name += "/"
		case unix.DT_LNK:
			name += "@"
		}
		out.names = append(out.names, name)
	}
	slices.Sort(out.names)
	return out
}

func TestListPortable(t *testing.T) {
	root := portableTree(t)
	tests := []struct {
		dir    string
		want   []string // the first entries, sorted
		n      int      // how many in all
		denied bool     // fails with EACCES when not root
	}{
		{dir: ".", want: []string{"a.txt", "big/", "bin/", "dangling@", "empty/", "link@", "linkdir@"}, n: 12},
		{dir: "sub", want: []string{"deep/", "up@", "x.go"}, n: 3},
		{dir: "sub/deep", want: []string{"f", "g.txt"}, n: 2},
		{dir: "bin", want: []string{"tool"}, n: 1},
		{dir: "empty", n: 0},
		{dir: "pipes", want: []string{"file"}, n: 1}, // the pipe is no input
		{dir: "big", want: []string{"0000-/", "0001-n", "0002-nn"}, n: 3000},
		{dir: "linkdir", n: 0}, // a link is not entered
		{dir: "a.txt", n: 0},
		{dir: "missing", n: 0},
		{dir: "missing/below", n: 0},
		{dir: "a.txt/below", n: 0},
		{dir: "noread", denied: true},
		{dir: "locked", denied: true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			needsNonRoot(t, tt.denied)
			fast := listWith(root, tt.dir, (*dirReader).list)
			portable := listWith(root, tt.dir, (*dirReader).listPortable)
			if !reflect.DeepEqual(fast, portable) {
				t.Fatalf("fast and portable differ:\n fast     %d %q %q\n portable %d %q %q",
					len(fast.names), head(fast.names), fast.err, len(portable.names), head(portable.names), portable.err)
			}
			if tt.denied {
				if !strings.Contains(fast.err, "permission denied") {
					t.Errorf("err = %q, want permission denied", fast.err)
				}
				return
			}
			if fast.err != "" || len(fast.names) != tt.n || !slices.Equal(fast.names[:min(len(fast.names), len(tt.want))], tt.want) {
				t.Errorf("listed %d %q, err %q; want %d starting %q", len(fast.names), head(fast.names), fast.err, tt.n, tt.want)
			}
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 7)] }

// folderOps is what both folder kinds do.
type folderOps interface {
	open(abs string) error
	close()
	lstat(name string, st *unix.Stat_t) error
	openFile(name string) (int, error)
	readlink(name string, buf []byte) (int, error)
}

// looked is what the index learns of one path.
type looked struct {
	st     stat
	digest [32]byte // of a regular file's content
	link   string
	err    error // an errno, and the step that gave it
	step   string
}

// lookWith looks at p under root the way Index.lookup does.
func lookWith(f folderOps, root, p string) looked {
	dir, name := "", p
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		dir, name = p[:i], p[i+1:]
	}
	h := &hasher{root: root}
	if err := f.open(h.abs(dir)); err != nil {
		return looked{err: err, step: "open"}
	}
	defer f.close()
	var st unix.Stat_t
	if err := f.lstat(name, &st); err != nil {
		return looked{err: err, step: "lstat"}
	}
	out := looked{st: statOf(&st)}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		buf := make([]byte, 4096)
		n, err := f.readlink(name, buf)
		if err != nil {
			return looked{st: out.st, err: err, step: "readlink"}
		}
		out.link = string(buf[:n])
	case unix.S_IFREG:
		fd, err := f.openFile(name)
		if err != nil {
			return looked{st: out.st, err: err, step: "openFile"}
		}
		defer unix.Close(fd)
		h := sha256.New()
		buf := make([]byte, 1<<16)
		for {
			n, err := unix.Read(fd, buf)
			if err != nil {
				return looked{st: out.st, err: err, step: "read"}
			}
			if n <= 0 {
				break
			}
			h.Write(buf[:n])
		}
		h.Sum(out.digest[:0])
	}
	return out
}

func TestFolderPortable(t *testing.T) {
	root := portableTree(t)
	tests := []struct {
		path   string
		errno  error // expected, nil for none
		denied bool  // fails with EACCES when not root
	}{
		{path: "a.txt"},
		{path: "bin/tool"},
		{path: "sub/deep/f"},
		{path: "link"},
		{path: "dangling"},
		{path: "linkdir"},
		{path: "linkdir/x.go"}, // a link to a folder is followed above the file
		{path: "sub/up"},
		{path: "sub"},
		{path: "empty"},
		{path: "pipes/fifo"},
		{path: "big/0001-n"},
		{path: "noread/f"}, // no read permission is needed on the folder
		{path: "missing", errno: unix.ENOENT},
		{path: "missing/x", errno: unix.ENOENT},
		{path: "a.txt/x", errno: unix.ENOTDIR},
		{path: "link/x", errno: unix.ENOTDIR},
		{path: "locked/f", errno: unix.EACCES, denied: true},
		{path: "secret/s", errno: unix.EACCES, denied: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			needsNonRoot(t, tt.denied)
			for _, r := range []struct{ root, path string }{
				{root, tt.path},
				{"/", strings.TrimPrefix(filepath.Join(root, tt.path), "/")}, // as tools are hashed
			} {
				fast := lookWith(&folder{}, r.root, r.path)
				portable := lookWith(&pathFolder{}, r.root, r.path)
				if fast != portable {
					t.Fatalf("%s under %s: fast and portable differ:\n fast     %+v\n portable %+v", r.path, r.root, fast, portable)
				}
				if tt.errno == nil && fast.err != nil || tt.errno != nil && !errors.Is(fast.err, tt.errno) {
					t.Errorf("%s under %s: err = %v at %s, want %v", r.path, r.root, fast.err, fast.step, tt.errno)
				}
				if fast.err == nil && fast.st.ino == 0 {
					t.Errorf("%s under %s: no stat data", r.path, r.root)
				}
			}
		})
	}
}

// TestLookOpen checks that looking at a file by opening it first
// (lookOpen, for a file read next) learns what an lstat then a read do,
// from the path's folder and from the root, and leaves no file open: a
// pipe, a folder and a link included.
func TestLookOpen(t *testing.T) {
	root := portableTree(t)
	paths := []string{
		"a.txt", "bin/tool", "sub/deep/f", "link", "dangling", "linkdir", "linkdir/x.go",
		"sub/up", "sub", "empty", "pipes/fifo", "pipes/file", "big/0001-n", "noread/f",
		"missing", "missing/x", "a.txt/x", "link/x", "locked/f", "secret/s",
	}
	fds := openFiles(t)
	for _, p := range paths {
		for _, inFolder := range []bool{false, true} {
			want, wantErr, _ := readVia(root, p, inFolder, false)
			got, gotErr, opened := readVia(root, p, inFolder, true)
			if got != want || gotErr != wantErr {
				t.Errorf("%s (in its folder: %v):\n open first %+v %q\n lstat first %+v %q", p, inFolder, got, gotErr, want, wantErr)
			}
			// A regular file is read from the open that gave its stat
			// data, not looked at again.
			if regular := wantErr == "" && got.st.mode&unix.S_IFMT == unix.S_IFREG; opened != regular {
				t.Errorf("%s (in its folder: %v): read from lookOpen's open file: %v, want %v", p, inFolder, opened, regular)
			}
		}
	}
	if n := openFiles(t); n != fds {
		t.Errorf("%d files open after, %d before", n, fds)
	}
}

// readVia makes the record of p as Index.lookup does, looking at it from
// its folder or from the root, with lookOpen or look; opened is whether
// lookOpen gave an open file.
func readVia(root, p string, inFolder, open bool) (rec record, errText string, opened bool) {
	h := newHasher(root)
	defer h.done()
	if inFolder {
		h.batch = slices.Repeat([]string{p}, fewInFolder)
	}
	dir, name := splitDir(p)
	var (
		f   *folder
		fd  = -1
		err error
	)
	if open {
		f, name, fd, err = h.lookOpen(p, dir, name)
	} else {
		f, name, err = h.look(p, dir, name)
	}
	if err != nil {
		return record{}, err.Error(), false
	}
	opened = fd >= 0
	r, err := h.read(f, name, p, statOf(&h.st), fd)
	if err != nil {
		return record{}, err.Error(), opened
	}
	return *r, "", opened
}

// openFiles counts this process's open files, where /proc tells.
func openFiles(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count open files in")
	}
	return len(ents)
}
