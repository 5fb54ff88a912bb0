package run

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/graph"
)

// TestRestoreRefusesTamperedEntries: a result is data from a cache that
// someone else may write. Each entry below, planted in the cache under the
// step's key, would have restore write outside the step's declared output
// (outside the workspace, or elsewhere inside it, or through a link). None
// may be written; the result is moved aside and the step runs instead.
func TestRestoreRefusesTamperedEntries(t *testing.T) {
	const cfg = `
[steps.gen]
kind = "exec"
run = "write fresh"
outputs = ["out"]
`
	tests := []struct {
		name  string
		files func(outside string, blob cache.Digest, size int64) []cache.File
		// written is where the tampered entry would write, relative to the
		// workspace, or absolute ("" for the outside folder's pwned).
		written string
		reason  string
	}{
		{"parent path", func(_ string, d cache.Digest, n int64) []cache.File {
			return []cache.File{{Path: "../pwned", Digest: d, Size: n, Mode: 0o644}}
		}, "../pwned", "not a clean path"},
		{"dot-dot inside", func(_ string, d cache.Digest, n int64) []cache.File {
			return []cache.File{{Path: "out/../../pwned", Digest: d, Size: n, Mode: 0o644}}
		}, "../pwned", "not a clean path"},
		{"absolute", func(outside string, d cache.Digest, n int64) []cache.File {
			return []cache.File{{Path: filepath.Join(outside, "pwned"), Digest: d, Size: n, Mode: 0o644}}
		}, "", "not a workspace-relative path"},
		{"elsewhere in the workspace", func(_ string, d cache.Digest, n int64) []cache.File {
			return []cache.File{{Path: ".git/hooks/pre-commit", Digest: d, Size: n, Mode: 0o755}}
		}, ".git/hooks/pre-commit", "outside the step's declared outputs"},
		{"through a link it makes", func(outside string, d cache.Digest, n int64) []cache.File {
			return []cache.File{
				{Path: "out", Mode: fs.ModeDir | 0o755},
				{Path: "out/l", Mode: fs.ModeSymlink | 0o777, Link: outside},
				{Path: "out/l/pwned", Digest: d, Size: n, Mode: 0o644},
			}
		}, "", "which the result makes a link"},
		{"a device", func(_ string, d cache.Digest, n int64) []cache.File {
			return []cache.File{{Path: "out", Mode: fs.ModeDevice | 0o644}}
		}, "nowhere", "neither a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outside := t.TempDir()
			fr := &fakeRunner{}
			a, p := setup(t, cfg, fr, Options{Jobs: 1})
			root := a.Planner.Graph.Root
			store := a.Store.(*cache.Disk)
			payload := filepath.Join(t.TempDir(), "payload")
			os.WriteFile(payload, []byte("attacker's bytes"), 0o644)
			d, n, err := store.PutFile(payload)
			if err != nil {
				t.Fatal(err)
			}
			key := p.Step("gen").Key
			if err := store.PutResult(&cache.Result{Key: key, Step: "gen", Kind: "exec", Files: tt.files(outside, d, n)}); err != nil {
				t.Fatal(err)
			}
			// Plan again: the planted result makes gen a restore.
			a, p = plan(t, root, fr, Options{Jobs: 1})
			if st := p.Step("gen").Status; st != graph.Restore {
				t.Fatalf("gen is %s, want restore (the planted result)", st)
			}
			rep := &recordingReporter{}
			a.Reporter = rep
			sum, err := a.Apply(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Ran != 1 || sum.Restored != 0 {
				t.Errorf("ran %d, restored %d: want the step run instead of restored", sum.Ran, sum.Restored)
			}
			if !strings.Contains(rep.detail, tt.reason) || !strings.Contains(rep.detail, "moved to") {
				t.Errorf("report says %q, want it to say why (%q) and where the result went", rep.detail, tt.reason)
			}
			target := filepath.Join(outside, "pwned")
			if tt.written != "" && tt.written != "nowhere" {
				target = filepath.Join(root, filepath.FromSlash(tt.written))
			}
			if b, err := os.ReadFile(target); err == nil {
				t.Errorf("restore wrote %s: %q", target, b)
			}
			// The tampered result was moved aside; what the key finds now
			// is the result of the run.
			if res, err := store.PeekResult(key); err != nil || len(res.Files) != 1 || res.Files[0].Path != "out" || res.Files[0].Mode&fs.ModeType != 0 {
				t.Errorf("the key now finds %+v, %v; want the run's own result", res, err)
			}
			if moved, _ := filepath.Glob(filepath.Join(store.Dir(), "corrupt", key.String()+".json.*")); len(moved) != 1 {
				t.Errorf("corrupt/ holds %v, want the tampered result", moved)
			}
			if b, _ := os.ReadFile(filepath.Join(root, "out")); string(b) != "fresh" {
				t.Errorf("out = %q, want the step's own output", b)
			}
		})
	}
}

// TestRestoreRefusesALinkAbove: an output whose folder in the workspace is
// a link is not restored into (the restore would write where it points).
func TestRestoreRefusesALinkAbove(t *testing.T) {
	const cfg = `
[steps.gen]
kind = "exec"
run = "write v1"
outputs = ["build/out"]
`
	fr := &fakeRunner{}
	a, p := setup(t, cfg, fr, Options{Jobs: 1})
	root := a.Planner.Graph.Root
	os.Mkdir(filepath.Join(root, "build"), 0o755)
	if _, err := a.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	a.State.Compact()
	// Someone swaps build/ for a link to a folder outside the workspace and
	// removes the output: the cached result would be restored through it.
	outside := t.TempDir()
	os.RemoveAll(filepath.Join(root, "build"))
	if err := os.Symlink(outside, filepath.Join(root, "build")); err != nil {
		t.Fatal(err)
	}
	a, p = plan(t, root, fr, Options{Jobs: 1})
	if st := p.Step("gen").Status; st != graph.Restore {
		t.Fatalf("gen is %s, want restore", st)
	}
	rep := &recordingReporter{}
	a.Reporter = rep
	sum, _ := a.Apply(context.Background(), p)
	if sum.Restored != 0 {
		t.Errorf("restored through a link: %+v", sum)
	}
	if !strings.Contains(rep.detail, "build is a link") {
		t.Errorf("report says %q, want it to name the link", rep.detail)
	}
}

// recordingReporter keeps the detail of the last step that ended.
type recordingReporter struct{ detail string }

func (r *recordingReporter) Started(*graph.StepPlan) {}
func (r *recordingReporter) Finished(_ *graph.StepPlan, rep Report) {
	r.detail = rep.Detail
}
