package kinds

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunVarCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte("1.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		command string
		timeout time.Duration
		out     string // stdout, untrimmed (graph trims)
		err     string // a part of the error; "" for none
	}{
		{"reads the workspace", "cat VERSION", time.Minute, "1.2.3\n", ""},
		{"stdout only", "echo out; echo noise >&2", time.Minute, "out\n", ""},
		{"no stdin", "cat", time.Minute, "", ""},
		{"exit status with stderr", "echo 'fatal: No names found' >&2; exit 128", time.Minute, "", "exit status 128: fatal: No names found"},
		{"timeout", "sleep 30", 100 * time.Millisecond, "", "took longer than 100ms and was stopped"},
		{"too much output", "head -c 100000 /dev/zero", time.Minute, "", "printed more than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := RunVarCommand(dir, tt.command, tt.timeout)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to hold %q", err, tt.err)
				}
				if tt.name == "timeout" && time.Since(start) > 20*time.Second {
					t.Errorf("the command was not stopped at its timeout")
				}
				return
			}
			if err != nil || out != tt.out {
				t.Fatalf("got %q, %v; want %q", out, err, tt.out)
			}
		})
	}
}
