package config

import (
	"strings"
	"testing"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		path string
		want string // "" valid; else part of the error
	}{
		{"a", ""},
		{"a/b/c.txt", ""},
		{"a..b", ""},
		{"..a/b", ""},
		{"a/b..", ""},
		{"./a", ""},
		{"a/./b", ""},
		{"", "empty path"},
		{"/etc/passwd", "is absolute"},
		{"..", "leaves the workspace"},
		{"../a", "leaves the workspace"},
		{"a/../b", "leaves the workspace"},
		{"a/..", "leaves the workspace"},
		{"a/b/../../..", "leaves the workspace"},
		{".", "names the workspace itself"},
		{"./", "names the workspace itself"},
		{"a/.", ""},
	}
	for _, tt := range tests {
		err := CheckPath(tt.path)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckPath(%q) = %v, want ok", tt.path, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckPath(%q) = %v, want %q", tt.path, err, tt.want)
		}
	}
}

func BenchmarkCheckPath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		CheckPath("src/layer12/step0042/input07.txt")
	}
}
