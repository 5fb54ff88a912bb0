//go:build unix

package testenv

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopBuildkitd()
	os.Exit(code)
}

// serve listens on a unix socket in a short folder and answers every
// connection with answer (after reading the client's first bytes).
func serve(t *testing.T, answer []byte) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bkt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 33)
			c.Read(buf)
			c.Write(answer)
			c.Close()
		}
	}()
	return "unix://" + filepath.Join(dir, "s.sock")
}

func TestDialBuildkit(t *testing.T) {
	settings := []byte{0, 0, 0, 0x4, 0, 0, 0, 0, 0}
	goaway := []byte{0, 0, 0, 0x7, 0, 0, 0, 0, 0}
	for _, tc := range []struct {
		name, addr, err string
	}{
		{"HTTP/2 server", serve(t, settings), ""},
		{"other frame", serve(t, goaway), "frame type 7"},
		{"closes at once", serve(t, nil), "no HTTP/2 answer"},
		{"nothing listens", "unix:///nonexistent/bk.sock", "no such file"},
		{"no scheme", "/run/buildkit.sock", "not a unix:// or tcp:// address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := dialBuildkit(tc.addr, 2*time.Second)
			if tc.err == "" && err != nil {
				t.Fatalf("dialBuildkit(%s) = %v, want it to answer", tc.addr, err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("dialBuildkit(%s) = %v, want an error with %q", tc.addr, err, tc.err)
			}
		})
	}
}

// TestBuildkitd starts the real builder (or skips, saying what is missing)
// and checks that what it returns answers, and that a second call gets the
// same builder.
func TestBuildkitd(t *testing.T) {
	addr := Buildkitd(t)
	if err := dialBuildkit(addr, 2*time.Second); err != nil {
		t.Fatalf("Buildkitd returned %s, which does not answer: %v", addr, err)
	}
	if again := Buildkitd(t); again != addr {
		t.Fatalf("second call: %s, want the same builder %s", again, addr)
	}
}
