//go:build unix

package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bottle-build/bottle/internal/testenv"
)

const roCacheEnv = "BOTTLE_TEST_RO_CACHE"

// A cache this user can read but not write (another user's, a read-only
// mount) opens read-only: results restore from it, nothing is stored, and
// nothing fails for it. Root writes anywhere, so this runs as nobody.
func TestReadOnlyCache(t *testing.T) {
	if !testenv.AsNobody() {
		dir, err := os.MkdirTemp("", "bottle-ro-cache-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		os.Chmod(dir, 0o755)
		c, err := Open(filepath.Join(dir, "cache"))
		if err != nil {
			t.Fatal(err)
		}
		if c.ReadOnly() {
			t.Fatal("a cache its owner can write opened read-only")
		}
		d, err := c.PutBytes([]byte("restored content"))
		if err != nil {
			t.Fatal(err)
		}
		r := &Result{Key: Key(SumString("k")), Kind: "exec", Files: []File{{Path: "out.txt", Digest: d, Size: 16, Mode: 0o644}}}
		if err := c.PutResult(r); err != nil {
			t.Fatal(err)
		}
		testenv.RunAsNobody(t, "TestReadOnlyCache", roCacheEnv+"="+c.Dir())
		return
	}
	dir := os.Getenv(roCacheEnv)
	c, err := Open(dir)
	if err != nil {
		t.Fatalf("Open of a cache nobody can read: %v", err)
	}
	if !c.ReadOnly() {
		t.Fatal("a cache nobody cannot write did not open read-only")
	}
	res, err := c.GetResult(Key(SumString("k")))
	if err != nil {
		t.Fatalf("GetResult: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "out.txt")
	if err := c.RestoreFile(res.Files[0].Digest, dst, "", 0o644); err != nil {
		t.Fatalf("RestoreFile: %v", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "restored content" {
		t.Errorf("restored %q", b)
	}
	h, err := c.Hold()
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if err := h.Add(res.Key); err != nil {
		t.Errorf("Hold.Add: %v", err)
	}
	// Storing only hashes: the digest is right, nothing lands.
	src := filepath.Join(t.TempDir(), "new.txt")
	os.WriteFile(src, []byte("new content"), 0o644)
	d, n, err := c.PutFile(src)
	if err != nil || d != SumString("new content") || n != 11 {
		t.Errorf("PutFile = %v, %d, %v; want the digest of new content", d, n, err)
	}
	if c.HasBlob(d) {
		t.Error("a read-only cache stored a blob")
	}
	err = c.PutResult(&Result{Key: Key(SumString("other")), Kind: "exec"})
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("PutResult = %v, want ErrReadOnly", err)
	}
	if err := h.Release(); err != nil {
		t.Errorf("Release: %v", err)
	}
	var out bytes.Buffer
	if _, err := NewReader(dir).CopyBlob(&out, res.Files[0].Digest); err != nil || out.String() != "restored content" {
		t.Errorf("CopyBlob = %q, %v", out.String(), err)
	}

	// A cache that does not exist where nobody may create it is an error.
	if _, err := Open(filepath.Join(filepath.Dir(dir), "elsewhere")); err == nil {
		t.Error("Open created a cache where nobody may not write")
	}
}
