package mapfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, small - 1, small, 3*small + 7} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("size %d: %d bytes, %v", size, len(got), err)
		}
		// Replaced by a rename, as bottle replaces these files: what was
		// read stays as it was.
		os.WriteFile(p+".new", bytes.Repeat([]byte("x"), size), 0o644)
		os.Rename(p+".new", p)
		if !bytes.Equal(got, want) {
			t.Errorf("size %d: changed under its reader after a rename", size)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := Read(dir); err == nil {
		t.Error("a folder: no error")
	}
}
