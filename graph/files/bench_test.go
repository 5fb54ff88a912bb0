package files

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The W1 workload of /work/shared/bench (100,000 files of 1-4 KiB in 1,000
// folders under src/). Generate it with
//
//	cd /work/shared/bench && go run ./gen -out /tmp/benchwork -only w1
//
// and run
//
//	go test -bench W1 -benchtime 5x -run XXX ./graph/files
//
// BOTTLE_BENCH_W1 names another copy of the workload.
func w1Root(b *testing.B) string {
	root := os.Getenv("BOTTLE_BENCH_W1")
	if root == "" {
		root = "/tmp/benchwork/w1"
	}
	if _, err := os.Stat(filepath.Join(root, "src")); err != nil {
		b.Skipf("no W1 workload at %s (see bench_test.go)", root)
	}
	return root
}

// planW1 is what planning does for W1's one step: expand src/**, hash every
// file through the index.
func planW1(b *testing.B, root, indexPath string) (*Index, int) {
	ix, err := OpenIndex(indexPath)
	if err != nil {
		b.Fatal(err)
	}
	exp, err := Expand(root, []string{"src/**"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if len(exp.Files) == 0 {
		b.Fatal("src/** matched nothing")
	}
	if _, err := ix.Hash(root, exp.Files); err != nil {
		b.Fatal(err)
	}
	return ix, len(exp.Files)
}

func reportW1(b *testing.B, files int, cpu0 time.Duration) {
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(files)/per, "files/s")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-MiB") // of the whole test process so far
	}
}

// BenchmarkW1NoOp: nothing changed since the index was saved. Each
// iteration loads the index, expands src/** and stats every file.
func BenchmarkW1NoOp(b *testing.B) {
	root := w1Root(b)
	indexPath := filepath.Join(b.TempDir(), "index")
	ix, _ := planW1(b, root, indexPath)
	if err := ix.Save(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := cpuTime()
	var n int
	for i := 0; i < b.N; i++ {
		ix, n = planW1(b, root, indexPath)
		if ix.dirty {
			b.Fatal("a no-op run changed the index")
		}
	}
	reportW1(b, n, cpu)
}

// BenchmarkW1Cold: no index. Each iteration expands src/** and reads and
// hashes every file (256 MB), page cache warm.
func BenchmarkW1Cold(b *testing.B) {
	root := w1Root(b)
	indexPath := filepath.Join(b.TempDir(), "index")
	cpu := cpuTime()
	var n int
	for i := 0; i < b.N; i++ {
		_, n = planW1(b, root, indexPath) // never saved: always empty
	}
	reportW1(b, n, cpu)
}

// BenchmarkW1Parts times the pieces of a no-op apart: the index load, the
// expansion, the stat pass, and the save of a full index.
func BenchmarkW1Parts(b *testing.B) {
	root := w1Root(b)
	indexPath := filepath.Join(b.TempDir(), "index")
	ix, _ := planW1(b, root, indexPath)
	if err := ix.Save(); err != nil {
		b.Fatal(err)
	}
	exp, _ := Expand(root, []string{"src/**"}, nil)
	b.Run("OpenIndex", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := OpenIndex(indexPath); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Expand", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := Expand(root, []string{"src/**"}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("HashWarm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := ix.Hash(root, exp.Files); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Save", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ix.dirty = true
			if err := ix.Save(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkW1Floor is /work/shared/bench/walk in process (sequential
// ReadDir, 2 workers for the per-file work), to compare with on the same
// machine at the same moment: "lstat" is the floor of a no-op, "sha256" of a
// cold run.
func BenchmarkW1Floor(b *testing.B) {
	root := filepath.Join(w1Root(b), "src")
	for _, mode := range []string{"lstat", "sha256"} {
		b.Run(mode, func(b *testing.B) {
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				floorWalk(root, mode, 2)
			}
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

func floorWalk(root, mode string, jobs int) {
	paths := make(chan string, 4096)
	var wg sync.WaitGroup
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64*1024)
			h := sha256.New()
			for p := range paths {
				if mode == "lstat" {
					if _, err := os.Lstat(p); err != nil {
						panic(err)
					}
					continue
				}
				f, err := os.Open(p)
				if err != nil {
					panic(err)
				}
				h.Reset()
				for {
					k, err := f.Read(buf)
					h.Write(buf[:k])
					if err == io.EOF {
						break
					}
					if err != nil {
						panic(err)
					}
				}
				f.Close()
				h.Sum(nil)
			}
		}()
	}
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			panic(err)
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() {
				walk(p)
				continue
			}
			paths <- p
		}
	}
	walk(root)
	close(paths)
	wg.Wait()
}
