package tests

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

type fileStamp struct {
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

// snapshot records every path under root except .bottle/.
func snapshot(t *testing.T, root string) map[string]fileStamp {
	t.Helper()
	m := map[string]fileStamp{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == ".bottle" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m[rel] = fileStamp{fi.Size(), fi.Mode(), fi.ModTime()}
		return nil
	})
	return m
}

// TestPlanHasNoSideEffects runs plan, explain and graph on a workspace with
// every status present and proves that nothing ran and no file outside
// .bottle/ changed — neither in the workspace nor in the cache.
func TestPlanHasNoSideEffects(t *testing.T) {
	bin := buildBottle(t)
	ws := t.TempDir()
	cacheDir := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(ws, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ws, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bottle.toml", `
[steps.a]
kind = "exec"
inputs = ["src/*.txt"]
run = "echo a >> ran.log; cat src/*.txt > a.out"
outputs = ["a.out"]

[steps.b]
kind = "exec"
inputs = ["a.out"]
run = "echo b >> ran.log; cp a.out b.out"
outputs = ["b.out"]

[steps.c]
kind = "exec"
run = "echo c >> ran.log; echo c > c.out"
outputs = ["c.out"]

[steps.d]
kind = "exec"
inputs = ["src/d.txt"]
run = "echo d >> ran.log; cp src/d.txt d.out"
outputs = ["d.out"]
`)
	write("src/x.txt", "x\n")
	write("src/d.txt", "d\n")
	bottle := func(args ...string) string {
		cmd := exec.Command(filepath.Join(bin, "bottle"), append([]string{"-C", ws, "--cache-dir", cacheDir}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Fatalf("bottle %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return string(out)
	}
	bottle("apply", "--yes")
	// Make a run (a: input edited), a pending (b), a restore (c: output
	// deleted) and an up-to-date step (d).
	write("src/x.txt", "x2\n")
	os.Remove(filepath.Join(ws, "c.out"))
	time.Sleep(10 * time.Millisecond)

	beforeWS, beforeCache := snapshot(t, ws), snapshot(t, cacheDir)
	out := bottle("plan", "--detailed-exitcode")
	for _, want := range []string{`a +exec +run`, `b +exec +pending`, `c +exec +restore`, `1 up to date`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	bottle("plan", "--json")
	bottle("explain", "a")
	bottle("graph", "--format", "json")
	if after := snapshot(t, ws); !reflect.DeepEqual(beforeWS, after) {
		t.Errorf("planning changed the workspace outside .bottle/:\nbefore %v\nafter  %v", beforeWS, after)
	}
	if after := snapshot(t, cacheDir); !reflect.DeepEqual(beforeCache, after) {
		t.Errorf("planning changed the cache:\nbefore %v\nafter  %v", beforeCache, after)
	}
}
