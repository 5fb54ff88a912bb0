package cache

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// PutVerified stores a blob only when its bytes are the ones named: the
// remote cache relies on it to keep anything unverified out of the CAS.
func TestPutVerified(t *testing.T) {
	small := []byte("small content")
	big := bytes.Repeat([]byte("0123456789abcdef"), bufSize/16*3+7)
	other := append([]byte(nil), big...)
	other[len(other)-1] ^= 1
	for _, tt := range []struct {
		name    string
		content []byte // what the reader yields
		want    []byte // the blob it claims to be
		size    int64
		ok      bool
	}{
		{"small", small, small, int64(len(small)), true},
		{"big", big, big, int64(len(big)), true},
		{"empty", nil, nil, 0, true},
		{"small wrong bytes", []byte("smalL content"), small, int64(len(small)), false},
		{"big wrong last byte", other, big, int64(len(big)), false},
		{"short", small[:5], small, int64(len(small)), false},
		{"long", append(append([]byte(nil), big...), 'x'), big, int64(len(big)), false},
		{"right bytes, wrong size", small, small, int64(len(small)) + 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t)
			want := SumBytes(tt.want)
			err := c.PutVerified(io.MultiReader(bytes.NewReader(tt.content)), want, tt.size)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.ReadBlob(want)
				if err != nil || !bytes.Equal(got, tt.want) {
					t.Fatalf("read back %d bytes, %v", len(got), err)
				}
				// Again: the blob is present and kept.
				if err := c.PutVerified(bytes.NewReader(tt.content), want, tt.size); err != nil {
					t.Fatal(err)
				}
			} else {
				if err == nil {
					t.Fatal("stored bytes that are not the blob")
				}
				if !errors.Is(err, ErrMiss) {
					t.Errorf("error %v does not wrap ErrMiss", err)
				}
				if c.HasBlob(want) || c.HasBlob(SumBytes(tt.content)) {
					t.Error("a refused blob is in the CAS")
				}
			}
			if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "tmp")); len(ents) != 0 {
				t.Errorf("temporary files left: %v", ents)
			}
		})
	}
}

func TestPutVerifiedCorruptError(t *testing.T) {
	c := newCache(t)
	want := SumBytes([]byte("right"))
	err := c.PutVerified(bytes.NewReader([]byte("wrong")), want, 5)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Digest != want || ce.Got != SumBytes([]byte("wrong")) {
		t.Fatalf("error %v, want a CorruptError naming both digests", err)
	}
}

// A blob PutVerified stored is restored without hashing it again, and a
// blob whose size changed since is refused, never restored.
func TestRestoreVerified(t *testing.T) {
	big := bytes.Repeat([]byte("verified content "), bufSize/8)
	for _, tt := range []struct {
		name   string
		damage bool
	}{{"as stored", false}, {"truncated since", true}} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(t)
			d := SumBytes(big)
			if err := c.PutVerified(bytes.NewReader(big), d, int64(len(big))); err != nil {
				t.Fatal(err)
			}
			if tt.damage {
				p := c.BlobPath(d)
				os.Chmod(p, 0o644)
				if err := os.Truncate(p, 10); err != nil {
					t.Fatal(err)
				}
			}
			ws := t.TempDir()
			tmp := filepath.Join(ws, "tmp")
			os.Mkdir(tmp, 0o700)
			dst := filepath.Join(ws, "out", "file.bin")
			err := c.RestoreFile(d, dst, tmp, 0o755)
			if tt.damage {
				if !errors.Is(err, ErrMiss) {
					t.Fatalf("restore of a damaged blob: %v, want a miss", err)
				}
				if _, err := os.Stat(dst); err == nil {
					t.Error("a damaged blob was restored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dst)
			fi, _ := os.Stat(dst)
			if !bytes.Equal(got, big) || fi.Mode().Perm() != 0o755 {
				t.Errorf("restored %d bytes, mode %v", len(got), fi.Mode())
			}
			if es, _ := os.ReadDir(tmp); len(es) != 0 {
				t.Errorf("left in tmp: %v", es)
			}
		})
	}
}
