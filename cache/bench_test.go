package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkPutFile(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, present := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dKiB/present=%v", size>>10, present), func(b *testing.B) {
				c, err := Open(filepath.Join(b.TempDir(), "cache"))
				if err != nil {
					b.Fatal(err)
				}
				dir := b.TempDir()
				content := make([]byte, size)
				b.SetBytes(int64(size))
				n := 0
				for b.Loop() {
					// New content each time, unless measuring a blob already present.
					if !present || n == 0 {
						b.StopTimer()
						copy(content, fmt.Sprintf("%d", n))
						p := filepath.Join(dir, "f")
						if err := os.WriteFile(p, content, 0o644); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					n++
					if _, _, err := c.PutFile(filepath.Join(dir, "f")); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkRestoreFile(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			c, err := Open(filepath.Join(b.TempDir(), "cache"))
			if err != nil {
				b.Fatal(err)
			}
			d, err := c.PutBytes(make([]byte, size))
			if err != nil {
				b.Fatal(err)
			}
			dst := filepath.Join(b.TempDir(), "out")
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := c.RestoreFile(d, dst, "", 0o644); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoreResult5000 stores, stores again and restores a result of
// 5,000 small files, the size of a large step's output.
func BenchmarkStoreResult5000(b *testing.B) {
	src := b.TempDir()
	var paths []string
	for i := range 5000 {
		p := filepath.Join(src, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(p, fmt.Appendf(nil, "file %d\n", i), 0o644); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	store := func(c *Disk) *Result {
		r := &Result{Key: key("many"), Step: "many"}
		for i, p := range paths {
			d, n, err := c.PutFile(p)
			if err != nil {
				b.Fatal(err)
			}
			r.Files = append(r.Files, File{Path: fmt.Sprintf("f%d", i), Digest: d, Size: n, Mode: 0o644})
		}
		if err := c.PutResult(r); err != nil {
			b.Fatal(err)
		}
		return r
	}
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			c, err := Open(filepath.Join(b.TempDir(), "cache"))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			store(c)
		}
	})
	c, err := Open(filepath.Join(b.TempDir(), "cache"))
	if err != nil {
		b.Fatal(err)
	}
	r := store(c)
	b.Run("present", func(b *testing.B) {
		for b.Loop() {
			store(c)
		}
	})
	b.Run("restore", func(b *testing.B) {
		dst := b.TempDir()
		for b.Loop() {
			for _, f := range r.Files {
				if err := c.RestoreFile(f.Digest, filepath.Join(dst, f.Path), "", 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
