package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name   string
		before string // existing content; "" for none
		data   string
		perm   os.FileMode
	}{
		{"new file", "", "hello", 0o644},
		{"replaces", "old content, longer than the new", "new", 0o600},
		{"read-only result", "", "blob", 0o444},
		{"empty", "x", "", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "f")
			if tt.before != "" {
				os.WriteFile(dst, []byte(tt.before), 0o644)
			}
			if err := Write(dst, []byte(tt.data), tt.perm); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(dst)
			if err != nil || string(b) != tt.data {
				t.Fatalf("content = %q, %v; want %q", b, err, tt.data)
			}
			fi, _ := os.Stat(dst)
			if fi.Mode().Perm() != tt.perm {
				t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tt.perm)
			}
			if es, _ := os.ReadDir(dir); len(es) != 1 {
				t.Errorf("folder holds %d entries, want only the file (no temporary left)", len(es))
			}
		})
	}
}

// TestAbortLeavesNothing: an aborted write leaves the destination as it
// was and no temporary file; Abort after Commit is a no-op.
func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "f")
	os.WriteFile(dst, []byte("kept"), 0o644)
	f, err := Create(dst, "", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half a write"))
	f.Abort()
	if b, _ := os.ReadFile(dst); string(b) != "kept" {
		t.Errorf("destination = %q after Abort, want it untouched", b)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("%d entries after Abort, want 1", len(es))
	}
	f, _ = Create(dst, "", 0o644)
	f.Write([]byte("whole"))
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	if b, _ := os.ReadFile(dst); string(b) != "whole" {
		t.Errorf("Abort after Commit changed the file: %q", b)
	}
	if err := f.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
}

// TestCreateInMissingFolder fails clearly rather than writing elsewhere.
func TestCreateInMissingFolder(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "f"), "", 0o644); err == nil {
		t.Error("Create in a missing folder succeeded")
	}
}
