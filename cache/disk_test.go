package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPutKinds(t *testing.T) {
	c := newCache(t)
	small := []byte("small content")
	big := bytes.Repeat([]byte("0123456789abcdef"), bufSize/16*3+7) // several buffers, not a whole one
	for _, tt := range []struct {
		name    string
		content []byte
		put     func(b []byte) (Digest, error)
	}{
		{"bytes small", small, func(b []byte) (Digest, error) { return c.PutBytes(b) }},
		{"bytes big", big, func(b []byte) (Digest, error) { return c.PutBytes(b) }},
		{"reader small", small, func(b []byte) (Digest, error) { d, _, err := c.PutReader(bytes.NewReader(b)); return d, err }},
		{"reader big", big, func(b []byte) (Digest, error) { d, _, err := c.PutReader(bytes.NewReader(b)); return d, err }},
		{"file empty", nil, func(b []byte) (Digest, error) {
			d, _, err := c.PutFile(writeFile(t, t.TempDir(), "f", string(b)))
			return d, err
		}},
		{"file exactly one buffer", bytes.Repeat([]byte{'x'}, bufSize), func(b []byte) (Digest, error) {
			d, _, err := c.PutFile(writeFile(t, t.TempDir(), "f", string(b)))
			return d, err
		}},
		{"file big", big, func(b []byte) (Digest, error) {
			d, _, err := c.PutFile(writeFile(t, t.TempDir(), "f", string(b)))
			return d, err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second put finds the blob present
				d, err := tt.put(tt.content)
				if err != nil {
					t.Fatal(err)
				}
				if d != SumBytes(tt.content) {
					t.Fatalf("digest %s, want %s", d.Short(), SumBytes(tt.content).Short())
				}
				got, err := c.ReadBlob(d)
				if err != nil || !bytes.Equal(got, tt.content) {
					t.Fatalf("read back %d bytes, %v", len(got), err)
				}
				fi, err := os.Stat(c.BlobPath(d))
				if err != nil || fi.Mode().Perm() != 0o444 {
					t.Errorf("blob mode %v, %v; want read-only", fi.Mode(), err)
				}
			}
			if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "tmp")); len(ents) != 0 {
				t.Errorf("temporary files left: %v", ents)
			}
		})
	}
}

func TestPutRefreshesAndRepairsExistingBlob(t *testing.T) {
	c := newCache(t)
	d, err := c.PutBytes([]byte("content"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.BlobPath(d)
	old := time.Now().Add(-3 * time.Hour)
	os.Chtimes(p, old, old)
	if _, err := c.PutBytes([]byte("content")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); time.Since(fi.ModTime()) > time.Hour {
		t.Errorf("putting a present blob did not refresh its mtime (%v)", fi.ModTime())
	}
	// A truncated blob is replaced by the next put of its content.
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("cont"), 0o444)
	if _, err := c.PutBytes([]byte("content")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadBlob(d); err != nil {
		t.Errorf("damaged blob not replaced: %v", err)
	}
}

func TestPutSizeMismatch(t *testing.T) {
	c := newCache(t)
	for _, n := range []int{10, 2 * bufSize} {
		_, _, err := c.putBlob(bytes.NewReader(make([]byte, n)), int64(n+1))
		if err == nil || !strings.Contains(err.Error(), "size changed") {
			t.Errorf("%d bytes, want %d: err = %v", n, n+1, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestPutFileErrors(t *testing.T) {
	c := newCache(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "absent"), "storing " + filepath.Join(dir, "absent") + " in the cache: "},
		{dir, "not a regular file"},
	} {
		_, _, err := c.PutFile(tt.path)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("PutFile(%s) = %v, want an error saying %q", tt.path, err, tt.want)
		}
	}
}

func TestOpenError(t *testing.T) {
	file := writeFile(t, t.TempDir(), "file", "x")
	_, err := Open(filepath.Join(file, "cache"))
	if err == nil || !strings.HasPrefix(err.Error(), "opening cache "+filepath.Join(file, "cache")+": ") {
		t.Errorf("err = %v, want it to name the folder", err)
	}
}

func TestOpenKeepsReadme(t *testing.T) {
	c := newCache(t)
	p := filepath.Join(c.Dir(), "README")
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("mine"), 0o644)
	if _, err := Open(c.Dir()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "mine" {
		t.Errorf("README rewritten: %q", b)
	}
}

func TestRestore(t *testing.T) {
	c := newCache(t)
	content := strings.Repeat("restore me ", 50000)
	d, err := c.PutBytes([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	absent := SumString("absent")
	for _, tt := range []struct {
		name    string
		d       Digest
		perm    fs.FileMode
		old     string // dst's content before; "" for none
		wantErr string
	}{
		{"new file in new folders", d, 0o644, "", ""},
		{"replaces, executable", d, 0o755, "stale", ""},
		{"missing blob", absent, 0o644, "kept", "blob " + absent.Short() + " missing"},
		{"missing blob, no dst", absent, 0o644, "", "blob " + absent.Short() + " missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "a", "b", "out")
			if tt.old != "" {
				os.MkdirAll(filepath.Dir(dst), 0o755)
				os.WriteFile(dst, []byte(tt.old), 0o644)
			}
			err := c.RestoreFile(tt.d, dst, "", tt.perm)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrMiss) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a miss saying %q", err, tt.wantErr)
				}
				b, rerr := os.ReadFile(dst)
				if tt.old == "" && rerr == nil || tt.old != "" && string(b) != tt.old {
					t.Errorf("dst changed: %q, %v", b, rerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(dst)
			fi, _ := os.Stat(dst)
			if string(b) != content || fi.Mode().Perm() != tt.perm {
				t.Errorf("restored %d bytes, mode %v", len(b), fi.Mode())
			}
			if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 1 {
				t.Errorf("temporary files left beside dst: %v", ents)
			}
		})
	}
}

func TestCorruptError(t *testing.T) {
	c := newCache(t)
	d, _ := c.PutBytes([]byte("good"))
	p := c.BlobPath(d)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("evil"), 0o444)
	_, err := c.ReadBlob(d)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrMiss) {
		t.Fatalf("err = %v, want a CorruptError", err)
	}
	want := fmt.Sprintf("blob %s corrupt: want %s, got %s (moved to %s)", d.Short(), d.Short(), SumString("evil").Short(), ce.MovedTo)
	if err.Error() != want || ce.Path != p || ce.Got != SumString("evil") {
		t.Errorf("got %q (path %s), want %q", err, ce.Path, want)
	}
	if !strings.HasPrefix(filepath.Base(ce.MovedTo), d.String()+".") {
		t.Errorf("moved to %s, want corrupt/<hex>.<unixnano>", ce.MovedTo)
	}
	if b, _ := os.ReadFile(ce.MovedTo); string(b) != "evil" {
		t.Errorf("quarantined %q", b)
	}
	// The Reader reports without moving.
	d2, _ := c.PutBytes([]byte("good 2"))
	os.Chmod(c.BlobPath(d2), 0o644)
	os.WriteFile(c.BlobPath(d2), []byte("bad 2"), 0o444)
	if _, err := NewReader(c.Dir()).ReadBlob(d2); !errors.As(err, &ce) || ce.MovedTo != "" {
		t.Errorf("reader: %v", err)
	}
	if !c.HasBlob(d2) {
		t.Error("the reader moved a blob")
	}
}

func TestGetResultRefreshesMtime(t *testing.T) {
	c := newCache(t)
	storeResult(t, c, key("k"), "s", map[string]string{"f": "x"})
	p := resultPath(c.dir, key("k"))
	for _, tt := range []struct {
		age     time.Duration
		refresh bool
	}{
		{10 * time.Minute, false},
		{2 * time.Hour, true},
	} {
		tm := time.Now().Add(-tt.age).Truncate(time.Second)
		os.Chtimes(p, tm, tm)
		if _, err := c.PeekResult(key("k")); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(p); !fi.ModTime().Equal(tm) {
			t.Errorf("peek changed the mtime")
		}
		if _, err := c.GetResult(key("k")); err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(p)
		if refreshed := !fi.ModTime().Equal(tm); refreshed != tt.refresh {
			t.Errorf("age %v: refreshed = %v, want %v", tt.age, refreshed, tt.refresh)
		}
	}
}

func TestManifestCorruptIsQuarantined(t *testing.T) {
	c := newCache(t)
	storeResult(t, c, key("k"), "s", map[string]string{"f": "x"})
	storeResult(t, c, key("other"), "s", map[string]string{"f": "x"})
	// A manifest in the wrong place is as bad as one that does not parse.
	b, _ := os.ReadFile(resultPath(c.dir, key("other")))
	p := resultPath(c.dir, key("k"))
	os.Chmod(p, 0o644)
	os.WriteFile(p, b, 0o444)
	if _, err := c.GetResult(key("k")); !errors.Is(err, ErrMiss) || !strings.Contains(err.Error(), "result manifest corrupt: it names key") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Error("corrupt manifest left in place")
	}
	if st, _ := c.Stats(); st.Quarantined != 1 || st.QuarantinedBytes != int64(len(b)) || st.Results != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestHoldLifecycle(t *testing.T) {
	c := newCache(t)
	h, err := c.Hold()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := c.PutBytes([]byte("recorded"))
	if err := h.Add(key("a"), key("b")); err != nil {
		t.Fatal(err)
	}
	hs := readHolds(c.Dir())
	if !hs.keys[key("a")] || !hs.keys[key("b")] || !hs.blobs[d] || len(hs.keys) != 2 {
		t.Errorf("holds read back as %+v", hs)
	}
	if err := h.Release(); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
	if err := h.Add(key("c")); err == nil {
		t.Error("added to a released hold")
	}
	if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "holds")); len(ents) != 0 {
		t.Errorf("hold files left: %v", ents)
	}
	// Blobs put after the release are recorded nowhere.
	c.PutBytes([]byte("after"))
	if len(c.holds) != 0 {
		t.Errorf("released hold still registered")
	}
}

func TestPruneBlobsAndTemp(t *testing.T) {
	c := newCache(t)
	now := time.Now()
	old := now.Add(-2 * time.Hour)
	orphanOld, _ := c.PutBytes([]byte("orphan, old"))
	orphanNew, _ := c.PutBytes([]byte("orphan, new"))
	os.Chtimes(c.BlobPath(orphanOld), old, old)
	h, err := c.Hold()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	heldBlob, _ := c.PutBytes([]byte("held: a result naming it is being written"))
	os.Chtimes(c.BlobPath(heldBlob), old, old)
	r := storeResult(t, c, key("k"), "s", map[string]string{"f": "named"})
	tmpOld := writeFile(t, filepath.Join(c.Dir(), "tmp"), "blob-old", "x")
	tmpNew := writeFile(t, filepath.Join(c.Dir(), "tmp"), "blob-new", "x")
	os.Chtimes(tmpOld, old, old)

	rep, err := c.Prune(1<<40, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		path string
		kept bool
	}{
		{"old orphan blob", c.BlobPath(orphanOld), false},
		{"new orphan blob", c.BlobPath(orphanNew), true},
		{"blob a live hold recorded", c.BlobPath(heldBlob), true},
		{"named blob", c.BlobPath(r.Files[0].Digest), true},
		{"old temporary file", tmpOld, false},
		{"new temporary file", tmpNew, true},
	} {
		_, err := os.Stat(tt.path)
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s: kept = %v, want %v", tt.name, kept, tt.kept)
		}
	}
	if rep.Results != 0 || rep.Blobs != 1 || rep.Temp != 1 {
		t.Errorf("report %+v", rep)
	}
}

func TestPruneLRUOrder(t *testing.T) {
	c := newCache(t)
	base := time.Now().Add(-48 * time.Hour)
	names := []string{"r0", "r1", "r2", "r3", "r4"}
	// Stored in an order unlike their use order.
	use := map[string]int{"r0": 3, "r1": 0, "r2": 4, "r3": 1, "r4": 2}
	for _, n := range names {
		storeResult(t, c, key(n), n, map[string]string{"f": strings.Repeat(n, 1000)})
		tm := base.Add(time.Duration(use[n]) * time.Hour)
		os.Chtimes(resultPath(c.dir, key(n)), tm, tm)
	}
	st, _ := c.Stats()
	per := st.Bytes / 5
	for _, tt := range []struct {
		max  int64
		gone []string
	}{
		{st.Bytes, nil},
		{st.Bytes - 1, []string{"r1"}},
		{st.Bytes - 2*per, []string{"r1", "r3"}},
		{0, names},
	} {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			rep, err := c.Prune(tt.max, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if rep.After > tt.max {
				t.Errorf("after = %d, want <= %d", rep.After, tt.max)
			}
			for _, n := range tt.gone {
				if _, err := c.PeekResult(key(n)); !errors.Is(err, ErrMiss) {
					t.Errorf("%s survived", n)
				}
			}
			if got, _ := c.Stats(); got.Bytes != rep.After {
				t.Errorf("stats say %d bytes, report %d", got.Bytes, rep.After)
			}
		})
	}
}

func TestVerifyBadManifest(t *testing.T) {
	c := newCache(t)
	storeResult(t, c, key("good"), "g", map[string]string{"f": "fine"})
	storeResult(t, c, key("bad"), "b", map[string]string{"f": "fine too"})
	p := resultPath(c.dir, key("bad"))
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte(`{"key": "trunc`), 0o444)
	rep, err := c.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sound() || len(rep.BadManifests) != 1 || rep.BadManifests[0].Path != p || rep.Manifests != 2 || rep.Blobs != 2 {
		t.Fatalf("report %+v", rep)
	}
	if _, err := os.Stat(rep.BadManifests[0].MovedTo); err != nil {
		t.Errorf("bad manifest not moved aside: %v", err)
	}
	if rep, err := c.Verify(); err != nil || !rep.Sound() {
		t.Errorf("second verify: %+v, %v", rep, err)
	}
	if _, err := c.GetResult(key("good")); err != nil {
		t.Errorf("the sound result: %v", err)
	}
}

func TestCopyBlob(t *testing.T) {
	big := bytes.Repeat([]byte("log line\n"), 200_000) // larger than the copy buffer
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, c *Disk, d Digest)
		wantErr error
	}{
		{name: "sound"},
		{name: "corrupt", wantErr: ErrMiss, damage: func(t *testing.T, c *Disk, d Digest) {
			p := c.BlobPath(d)
			os.Chmod(p, 0o644)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			if err := os.WriteFile(p, b, 0o444); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "missing", wantErr: ErrMiss, damage: func(t *testing.T, c *Disk, d Digest) {
			os.Remove(c.BlobPath(d))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.PutBytes(big)
			if err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				tc.damage(t, c, d)
			}
			var out bytes.Buffer
			n, err := NewReader(c.Dir()).CopyBlob(&out, d)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if out.Len() != 0 {
					t.Errorf("%d bytes written from a bad blob", out.Len())
				}
				return
			}
			if err != nil || n != int64(len(big)) || !bytes.Equal(out.Bytes(), big) {
				t.Fatalf("CopyBlob = %d, %v; %d bytes match: %v", n, err, out.Len(), bytes.Equal(out.Bytes(), big))
			}
		})
	}
}
