package watchman

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bottle-build/bottle/internal/testenv"
)

// startWatchman starts a private watchman for one test, or skips where
// there is none (fails where BOTTLE_TEST_REQUIRE names watchman).
func startWatchman(t *testing.T) *testenv.Watchman {
	t.Helper()
	if missing := testenv.WatchmanMissing(); missing != "" {
		if testenv.Required("watchman") {
			t.Fatalf("%s, and BOTTLE_TEST_REQUIRE=%s says watchman must run", missing, os.Getenv("BOTTLE_TEST_REQUIRE"))
		}
		t.Skip(missing)
	}
	// A short folder: a unix socket's path is at most ~100 bytes.
	dir, err := os.MkdirTemp("", "wm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	w, err := testenv.StartWatchman(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

func TestDialNothingRunning(t *testing.T) {
	_, err := Dial(filepath.Join(t.TempDir(), "no-sock"), time.Second)
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Dial = %v, want ErrNotRunning", err)
	}
}

func TestSocknameFromEnv(t *testing.T) {
	t.Setenv("WATCHMAN_SOCK", "/some/sock")
	s, err := Sockname(context.Background())
	if err != nil || s != "/some/sock" {
		t.Fatalf("Sockname = %q, %v", s, err)
	}
}

func TestWatchAndSince(t *testing.T) {
	w := startWatchman(t)
	c, err := Dial(w.Sock, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	top, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// A .watchmanconfig makes top the project; the workspace is below it.
	os.WriteFile(filepath.Join(top, ".watchmanconfig"), []byte("{}"), 0o644)
	ws := filepath.Join(top, "ws")
	os.MkdirAll(filepath.Join(ws, "d"), 0o755)
	os.WriteFile(filepath.Join(ws, "d", "a"), []byte("a"), 0o644)

	if _, _, ok, err := c.Find(ws); err != nil || ok {
		t.Fatalf("Find before watching = %v, %v; want not found", ok, err)
	}
	root, rel, err := c.WatchProject(ws)
	if err != nil {
		t.Fatal(err)
	}
	if root != top || rel != "ws" {
		t.Fatalf("WatchProject = %q, %q; want %q, ws", root, rel, top)
	}
	froot, frel, ok, err := c.Find(ws)
	if err != nil || !ok || froot != top || frel != "ws" {
		t.Fatalf("Find = %q, %q, %v, %v", froot, frel, ok, err)
	}
	clock, err := c.Clock(root)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "d", "a"), []byte("changed"), 0o644)
	os.WriteFile(filepath.Join(ws, "b"), []byte("b"), 0o644)
	os.WriteFile(filepath.Join(top, "outside"), []byte("x"), 0o644)
	ch, err := c.Since(root, rel, clock)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Fresh || ch.Clock == "" || ch.Clock == clock {
		t.Fatalf("Since = %+v", ch)
	}
	var names []string
	for _, f := range ch.Files {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	// "outside" is not below ws.
	if want := []string{"b", "d/a"}; !slices.Equal(names, want) {
		t.Fatalf("changed = %q, want %q", names, want)
	}
	// A clock of another instance is not understood: a fresh instance.
	ch, err = c.Since(root, rel, "c:1:2:3:4")
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Fresh || len(ch.Files) != 0 {
		t.Fatalf("Since an unknown clock = %+v, want fresh and empty", ch)
	}
	if err := c.WatchDel(root); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := c.Find(ws); ok {
		t.Fatal("still watched after WatchDel")
	}
	if _, err := c.Since(root, rel, clock); err == nil {
		t.Fatal("Since on an unwatched root did not fail")
	}
}
