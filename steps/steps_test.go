package steps

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookPath(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(p string, mode os.FileMode) {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a, "tool"), 0o755)
	write(filepath.Join(b, "tool"), 0o755)
	write(filepath.Join(a, "plain"), 0o644)
	write(filepath.Join(b, "plain"), 0o755)
	os.Mkdir(filepath.Join(a, "dir"), 0o755)
	write(filepath.Join(b, "dir"), 0o755)
	list := strings.Join([]string{"", "relative", a, b}, string(filepath.ListSeparator))
	tests := []struct {
		name, program, path string
		want                string // "" for an error
		notFound            bool
	}{
		{"first folder wins", "tool", list, filepath.Join(a, "tool"), false},
		{"not executable is passed over", "plain", list, filepath.Join(b, "plain"), false},
		{"a folder is passed over", "dir", list, filepath.Join(b, "dir"), false},
		{"missing", "nope", list, "", true},
		{"empty PATH", "tool", "", "", true},
		{"relative entries are skipped", "tool", "relative", "", true},
		{"absolute path", filepath.Join(a, "tool"), "", filepath.Join(a, "tool"), false},
		{"absolute, not executable", filepath.Join(a, "plain"), "", "", false},
		{"relative path with a slash", "bin/tool", list, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LookPath(tt.program, tt.path)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("LookPath = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("LookPath = %q, want an error", got)
			}
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, !tt.notFound, tt.notFound)
			}
		})
	}
}
