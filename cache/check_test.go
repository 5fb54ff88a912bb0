package cache

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

func TestCheckFiles(t *testing.T) {
	file := func(p string) File { return File{Path: p, Mode: 0o644} }
	tests := []struct {
		name    string
		files   []File
		outputs []string
		want    string // "" for sound
	}{
		{"sound", []File{{Path: "out", Mode: fs.ModeDir | 0o755}, file("out/a"), {Path: "out/l", Mode: fs.ModeSymlink | 0o777, Link: "/etc"}}, []string{"out"}, ""},
		{"sound without outputs", []File{file("anything/here")}, nil, ""},
		{"parent", []File{file("../pwned")}, nil, "not a clean path"},
		{"dot-dot inside", []File{file("out/../../pwned")}, nil, "not a clean path"},
		{"absolute", []File{file("/etc/passwd")}, nil, "not a workspace-relative path"},
		{"empty", []File{file("")}, nil, "not a workspace-relative path"},
		{"trailing slash", []File{file("out/")}, nil, "not a clean path"},
		{"outside the outputs", []File{file(".git/hooks/pre-commit")}, []string{"out"}, "outside the step's declared outputs"},
		{"prefix is not under", []File{file("output")}, []string{"out"}, "outside the step's declared outputs"},
		{"below a link", []File{{Path: "out/l", Mode: fs.ModeSymlink | 0o777, Link: "/"}, file("out/l/x")}, []string{"out"}, "which the result makes a link"},
		{"below a link listed later", []File{file("out/l/x"), {Path: "out/l", Mode: fs.ModeSymlink | 0o777, Link: "/"}}, nil, "which the result makes a link"},
		{"twice", []File{file("out/a"), file("out/a")}, nil, "listed twice"},
		{"device", []File{{Path: "out", Mode: fs.ModeDevice | 0o644}}, nil, "neither a file"},
		{"NUL", []File{file("out/a\x00b")}, nil, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Result{Files: tt.files}).CheckFiles(tt.outputs)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			var be *BadEntryError
			if !errors.As(err, &be) || !errors.Is(err, ErrMiss) {
				t.Errorf("err = %#v: want a *BadEntryError that is a miss", err)
			}
		})
	}
}

// TestVerifyBadEntries: cache verify applies restore's rules to every
// result, and checks each file's size against its blob.
func TestVerifyBadEntries(t *testing.T) {
	c := newCache(t)
	blob, size, err := c.putBlob(strings.NewReader("twelve bytes"), -1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, want string
		files      []File
	}{
		{"escape", "not a clean path", []File{{Path: "../pwned", Digest: blob, Size: size, Mode: 0o644}}},
		{"through a link", "makes a link", []File{{Path: "l", Mode: fs.ModeSymlink | 0o777, Link: "/"}, {Path: "l/x", Digest: blob, Size: size, Mode: 0o644}}},
		{"wrong size", "holds 12", []File{{Path: "out", Digest: blob, Size: 5, Mode: 0o644}}},
	}
	for _, tt := range tests {
		k := key(tt.name)
		if err := c.PutResult(&Result{Key: k, Step: tt.name, Files: tt.files}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sound() || len(rep.BadManifests) != len(tests) {
		t.Fatalf("verify found %d bad results, want %d: %+v", len(rep.BadManifests), len(tests), rep.BadManifests)
	}
	for _, tt := range tests {
		found := false
		for _, bm := range rep.BadManifests {
			if strings.Contains(bm.Path, key(tt.name).String()) {
				found = true
				if !strings.Contains(bm.Reason, tt.want) {
					t.Errorf("%s: reason %q, want %q", tt.name, bm.Reason, tt.want)
				}
				if _, err := os.Stat(bm.MovedTo); err != nil {
					t.Errorf("%s: not moved aside: %v", tt.name, err)
				}
			}
		}
		if !found {
			t.Errorf("%s: verify did not report it", tt.name)
		}
	}
}
