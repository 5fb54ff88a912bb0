package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ContextTree is a build context's files, for tests of image.build.
var ContextTree = []string{
	"Dockerfile", "a.txt", "a.go",
	"dir/keep.go", "dir/drop.txt",
	"dir/sub/keep.go", "dir/sub/x.txt",
	"other/y.txt", "other/z.go",
	"deep/er/est/f.go",
}

// WriteContext makes a context folder holding files (each holding its own
// name), with a .dockerignore of patterns unless they are nil.
func WriteContext(t testing.TB, patterns []string, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if patterns != nil {
		os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(strings.Join(patterns, "\n")+"\n"), 0o644)
	}
	return dir
}

// CountingWriter is a buffer that counts the writes it takes.
type CountingWriter struct {
	bytes.Buffer
	Writes int
}

func (w *CountingWriter) Write(p []byte) (int, error) {
	w.Writes++
	return w.Buffer.Write(p)
}
