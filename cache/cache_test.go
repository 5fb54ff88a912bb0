package cache

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newCache(t *testing.T) *Disk {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// storeResult stores files (name → content) as a result under key k.
func storeResult(t *testing.T, c *Disk, k Key, step string, files map[string]string) *Result {
	t.Helper()
	dir := t.TempDir()
	r := &Result{Key: k, Step: step, Kind: "exec", Created: time.Now()}
	for name, content := range files {
		d, n, err := c.PutFile(writeFile(t, dir, name, content))
		if err != nil {
			t.Fatal(err)
		}
		r.Files = append(r.Files, File{Path: name, Digest: d, Size: n, Mode: 0o644})
	}
	if err := c.PutResult(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func key(s string) Key { return Key(SumString(s)) }

func TestRoundTrip(t *testing.T) {
	c := newCache(t)
	r := storeResult(t, c, key("k1"), "gen", map[string]string{"a.txt": "alpha", "b.txt": "beta"})
	got, err := c.GetResult(key("k1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != r.Digest() || got.Step != "gen" {
		t.Errorf("got %+v, want %+v", got, r)
	}
	dst := filepath.Join(t.TempDir(), "sub", "a.txt")
	if err := c.RestoreFile(got.Files[0].Digest, dst, "", 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dst)
	fi, _ := os.Stat(dst)
	if string(b) != map[string]string{"a.txt": "alpha", "b.txt": "beta"}[got.Files[0].Path] || fi.Mode().Perm() != 0o755 {
		t.Errorf("restored %q mode %v", b, fi.Mode())
	}
	fi, err = os.Stat(c.BlobPath(got.Files[0].Digest))
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("blob mode %v, %v; want read-only", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), "README")); err != nil {
		t.Errorf("no README: %v", err)
	}
}

func TestMissReasons(t *testing.T) {
	c := newCache(t)
	r := storeResult(t, c, key("k"), "s", map[string]string{"f": "content"})
	tests := []struct {
		name  string
		setup func()
		want  string
	}{
		{"not found", func() {}, "result not found"},
		{"blob missing", func() {
			os.Remove(c.BlobPath(r.Files[0].Digest))
		}, "blob " + r.Files[0].Digest.Short() + " missing"},
		{"manifest corrupt", func() {
			p := resultPath(c.dir, key("k"))
			os.Chmod(p, 0o644)
			os.WriteFile(p, []byte("{not json"), 0o644)
		}, "result manifest corrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			k := key("k")
			if tt.name == "not found" {
				k = key("other")
			}
			_, err := c.GetResult(k)
			if !errors.Is(err, ErrMiss) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a miss saying %q", err, tt.want)
			}
		})
	}
}

func TestCorruptBlobIsNeverRestored(t *testing.T) {
	c := newCache(t)
	d, _, err := c.PutFile(writeFile(t, t.TempDir(), "f", "precious bytes"))
	if err != nil {
		t.Fatal(err)
	}
	p := c.BlobPath(d)
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte("precious bytez"), 0o444)
	dst := filepath.Join(t.TempDir(), "out")
	os.WriteFile(dst, []byte("old"), 0o644)
	err = c.RestoreFile(d, dst, "", 0o644)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrMiss) {
		t.Fatalf("err = %v, want a CorruptError that is a miss", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "old" {
		t.Errorf("dst was overwritten with %q", b)
	}
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("corrupt blob still in place")
	}
	if _, err := os.Stat(ce.MovedTo); err != nil {
		t.Errorf("corrupt blob not moved aside: %v", err)
	}
	left, _ := os.ReadDir(filepath.Dir(dst))
	if len(left) != 1 {
		t.Errorf("temporary files left beside dst: %v", left)
	}
}

func TestPutResultNeedsBlobs(t *testing.T) {
	c := newCache(t)
	r := &Result{Key: key("k"), Files: []File{{Path: "x", Digest: SumString("nope"), Mode: 0o644}}}
	if err := c.PutResult(r); err == nil {
		t.Fatal("stored a result whose blob is absent")
	}
	if _, err := c.PeekResult(key("k")); !errors.Is(err, ErrMiss) {
		t.Errorf("a result is visible: %v", err)
	}
}

func TestPeekWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "never")
	r := NewReader(dir)
	if _, err := r.PeekResult(key("k")); !errors.Is(err, ErrMiss) {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a reader created the cache folder")
	}
}

// TestConcurrentWriters puts the same and different blobs from goroutines
// and from other processes at once.
func TestConcurrentWriters(t *testing.T) {
	if os.Getenv("BOTTLE_CACHE_CHILD") != "" {
		return
	}
	c := newCache(t)
	src := t.TempDir()
	same := writeFile(t, src, "same", strings.Repeat("same content ", 30000)) // more than one copy buffer
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, _, err := c.PutFile(same); err != nil {
				errs <- err
			}
			if _, err := c.PutBytes([]byte(fmt.Sprintf("blob %d", i%4))); err != nil {
				errs <- err
			}
		}(i)
	}
	var cmds []*exec.Cmd
	for i := 0; i < 3; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=TestChildPut$")
		cmd.Env = append(os.Environ(), "BOTTLE_CACHE_CHILD="+c.Dir(), "BOTTLE_CACHE_FILE="+same, fmt.Sprintf("BOTTLE_CACHE_N=%d", i))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	wg.Wait()
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rep, err := c.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Sound() || rep.Blobs != 8 {
		t.Errorf("verify: %d blobs, corrupt %v; want 8 sound blobs", rep.Blobs, rep.Corrupt)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "tmp")); len(ents) != 0 {
		t.Errorf("temporary files left: %d", len(ents))
	}
}

func TestChildPut(t *testing.T) {
	dir := os.Getenv("BOTTLE_CACHE_CHILD")
	if dir == "" {
		t.Skip("run by TestConcurrentWriters")
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, _, err := c.PutFile(os.Getenv("BOTTLE_CACHE_FILE")); err != nil {
			t.Fatal(err)
		}
		// The same small blobs as the parent's goroutines, and one of its own.
		if _, err := c.PutBytes([]byte(fmt.Sprintf("blob %d", i%4))); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutBytes([]byte("child " + os.Getenv("BOTTLE_CACHE_N"))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerify(t *testing.T) {
	c := newCache(t)
	r := storeResult(t, c, key("k"), "gen", map[string]string{"a": "aaa", "b": "bbb"})
	rep, err := c.Verify()
	if err != nil || len(rep.Corrupt) != 0 || rep.Blobs != 2 {
		t.Fatalf("sound cache: %+v, %v", rep, err)
	}
	bad := r.Files[0].Digest
	os.Chmod(c.BlobPath(bad), 0o644)
	os.WriteFile(c.BlobPath(bad), []byte("xxx"), 0o444)
	rep, err = c.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Corrupt) != 1 || rep.Corrupt[0].Digest != bad {
		t.Fatalf("corrupt = %+v", rep.Corrupt)
	}
	if got := rep.Corrupt[0].String(); !strings.Contains(got, "used by gen (key "+key("k").Short()) {
		t.Errorf("report %q does not name the result", got)
	}
	if c.HasBlob(bad) {
		t.Error("corrupt blob not moved aside")
	}
	if _, err := c.GetResult(key("k")); !errors.Is(err, ErrMiss) {
		t.Errorf("the result is still a hit: %v", err)
	}
	st, _ := c.Stats()
	if st.Quarantined != 1 {
		t.Errorf("quarantined = %d", st.Quarantined)
	}
}

func TestPrune(t *testing.T) {
	c := newCache(t)
	old := time.Now().Add(-48 * time.Hour)
	big := strings.Repeat("x", 10000)
	storeResult(t, c, key("oldest"), "a", map[string]string{"f": big + "1", "shared": "shared"})
	storeResult(t, c, key("middle"), "b", map[string]string{"f": big + "2", "shared": "shared"})
	storeResult(t, c, key("newest"), "c", map[string]string{"f": big + "3"})
	for i, k := range []string{"oldest", "middle", "newest"} {
		tm := old.Add(time.Duration(i) * time.Hour)
		os.Chtimes(resultPath(c.dir, key(k)), tm, tm)
	}
	st, _ := c.Stats()
	// Room for about two results: the oldest goes.
	rep, err := c.Prune(st.Bytes-5000, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Results != 1 {
		t.Errorf("removed %d results, want 1", rep.Results)
	}
	if _, err := c.GetResult(key("oldest")); !errors.Is(err, ErrMiss) {
		t.Error("the least recently used result survived")
	}
	for _, k := range []string{"middle", "newest"} {
		if _, err := c.GetResult(key(k)); err != nil {
			t.Errorf("%s: %v (a shared blob must survive with its other user)", k, err)
		}
	}
	if rep.After > st.Bytes-5000 || rep.Freed <= 0 {
		t.Errorf("report %+v", rep)
	}
}

func TestPruneSkipsHeldResults(t *testing.T) {
	if os.Getenv("BOTTLE_HOLD_CHILD") != "" {
		return
	}
	c := newCache(t)
	storeResult(t, c, key("held"), "a", map[string]string{"f": "held content"})
	storeResult(t, c, key("free"), "b", map[string]string{"f": "free content"})
	// Another process holds "held" until we tell it to stop.
	cmd := exec.Command(os.Args[0], "-test.run=TestChildHold$")
	cmd.Env = append(os.Environ(), "BOTTLE_HOLD_CHILD="+c.Dir())
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the child says it holds the key.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if !strings.Contains(line, "holding") {
		t.Fatalf("child said %q, %v", line, err)
	}
	// And a stale hold file from a dead process.
	os.WriteFile(filepath.Join(c.Dir(), "holds", "99999-stale"), []byte(key("free").String()+"\n"), 0o644)
	rep, err := c.Prune(0, time.Now())
	stdin.Close()
	cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetResult(key("held")); err != nil {
		t.Errorf("a held result was pruned: %v", err)
	}
	if _, err := c.GetResult(key("free")); !errors.Is(err, ErrMiss) {
		t.Errorf("an unheld result survived prune to 0")
	}
	if rep.Held != 1 {
		t.Errorf("held = %d, want 1", rep.Held)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), "holds", "99999-stale")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("stale hold file kept")
	}
}

func TestChildHold(t *testing.T) {
	dir := os.Getenv("BOTTLE_HOLD_CHILD")
	if dir == "" {
		t.Skip("run by TestPruneSkipsHeldResults")
	}
	c, _ := Open(dir)
	h, err := c.Hold()
	if err != nil {
		t.Fatal(err)
	}
	h.Add(key("held"))
	fmt.Println("holding")
	b := make([]byte, 1)
	os.Stdin.Read(b) // until the parent closes stdin
	h.Release()
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"1048576", 1048576, false},
		{"500MB", 500e6, false},
		{"2GiB", 2 << 30, false},
		{"1G", 1e9, false},
		{"1.5 KiB", 1536, false},
		{"0", 0, false},
		{"", 0, true},
		{"MB", 0, true},
		{"3 parsecs", 0, true},
		{"1.2.3MB", 0, true},
		{"-1", 0, true},
		{"9999999999 TiB", 0, true},
		{" 2 mb ", 2e6, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestResultDigestIgnoresLogAndTime(t *testing.T) {
	a := &Result{Files: []File{{Path: "x", Digest: SumString("1"), Mode: 0o644}}, Values: map[string]string{"v": "1"}}
	b := *a
	b.Log, b.Duration, b.Created, b.KeyLines = SumString("log"), time.Second, time.Now(), []string{"l"}
	if a.Digest() != b.Digest() {
		t.Error("log, time or key lines changed the result digest")
	}
	c := *a
	c.Files = []File{{Path: "x", Digest: SumString("1"), Mode: 0o755}}
	if a.Digest() == c.Digest() {
		t.Error("the executable bit did not change the result digest")
	}
	d := *a
	d.Values = map[string]string{"v": "2"}
	if a.Digest() == d.Digest() {
		t.Error("a value did not change the result digest")
	}
}

// TestResultDigestIgnoresLocation: the values a result names as locations
// (where a push put the image) do not enter its digest; every other value
// still does, and so does a location value once it is not named.
func TestResultDigestIgnoresLocation(t *testing.T) {
	push := func(digest, ref string) *Result {
		return &Result{
			Values:   map[string]string{"digest": digest, "ref": ref},
			Location: []string{"ref"},
		}
	}
	laptop := push("sha256:aa", "localhost:5000/app@sha256:aa")
	ci := push("sha256:aa", "registry.example.com/team/app@sha256:aa")
	if laptop.Digest() != ci.Digest() {
		t.Error("pushing one image to two registries gave two result digests")
	}
	if other := push("sha256:bb", "localhost:5000/app@sha256:bb"); other.Digest() == laptop.Digest() {
		t.Error("another image digest gave the same result digest")
	}
	unnamed := *ci
	unnamed.Location = nil
	if unnamed.Digest() == laptop.Digest() || unnamed.Digest() == ci.Digest() {
		t.Error("a value not named as a location was left out of the digest")
	}
	// A location value that is not there changes nothing.
	extra := *laptop
	extra.Location = []string{"ref", "mirror"}
	if extra.Digest() != laptop.Digest() {
		t.Error("naming a missing value as a location changed the digest")
	}
}
