package graph

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// TestPlanFromKeyMemo: with the file watcher's word, an up-to-date step is
// decided from the memo of its key, its files not looked up; an edit, a new
// file, a folder swapped for a file or another command, reported by the
// watcher, decide it from its files, as a plan without the watcher does.
func TestPlanFromKeyMemo(t *testing.T) {
	root := writeTree(t, map[string]string{
		"bottle.toml": "[steps.s]\nkind = \"exec\"\ninputs = [\"src/**\"]\nrun = \"true\"\n",
		"src/a.txt":   "a\n",
		"src/b.txt":   "b\n",
		"src/d/c.txt": "c\n",
		"other.txt":   "o\n",
	})
	if err := os.MkdirAll(filepath.Join(root, ".bottle"), 0o755); err != nil {
		t.Fatal(err)
	}
	clocks := 0
	var applied *workspace.Step
	plan := func(watched bool, changed ...files.Changed) *StepPlan {
		t.Helper()
		pl, err := newPlanner(t, LoadOptions{Root: root, Kinds: kinds.Descriptions()}, noCache{})
		if err != nil {
			t.Fatal(err)
		}
		var w *files.Watch
		if watched {
			ix, id, err := files.OpenIndexID(workspace.IndexPath(root))
			if err != nil {
				t.Fatal(err)
			}
			pl.Index = ix
			w = files.LoadWatch(workspace.WatchPath(root))
			clocks++
			w.Use(ix, root, id, "w", files.Changes{Since: w.Clock(), Clock: "c:" + strconv.Itoa(clocks), Paths: changed})
			pl.SkipSources = true
		}
		if applied != nil {
			pl.State.Steps["s"] = applied
		}
		p, err := pl.Plan(nil)
		if err != nil {
			t.Fatal(err)
		}
		if w != nil {
			err = w.Save(pl.Index)
		} else {
			err = pl.Index.Save()
		}
		if err != nil {
			t.Fatal(err)
		}
		return p.Step("s")
	}
	first := plan(true)
	applied = &workspace.Step{Name: "s", Key: first.Key}
	if sp := plan(true); sp.Status != UpToDate || sp.Sources != nil || !sp.memo || sp.KeyLines() != nil {
		t.Fatalf("nothing changed: %s, %d sources, from the memo %v; want up to date from the memo", sp.Status, len(sp.Sources), sp.memo)
	}
	if sp := plan(true, files.Changed{Path: "other.txt", Exists: true, Kind: 'f'}); sp.Status != UpToDate || !sp.memo {
		t.Fatalf("another file changed: %s, from the memo %v; want up to date from the memo", sp.Status, sp.memo)
	}
	steps := []struct {
		name    string
		do      func()
		changed []files.Changed
	}{
		{"edit", func() { write(t, root, "src/a.txt", "A\n") }, []files.Changed{{Path: "src/a.txt", Exists: true, Kind: 'f'}}},
		{"new file", func() { write(t, root, "src/e.txt", "e\n") }, []files.Changed{{Path: "src/e.txt", Exists: true, New: true, Kind: 'f'}}},
		{"folder swapped for a file", func() {
			must(t, os.RemoveAll(filepath.Join(root, "src/d")))
			write(t, root, "src/d", "now a file\n")
		}, []files.Changed{{Path: "src/d", Exists: true, New: true, Kind: 'f'}}}, // its file not reported
		{"command", func() {
			write(t, root, "bottle.toml", "[steps.s]\nkind = \"exec\"\ninputs = [\"src/**\"]\nrun = \"true \"\n")
		}, []files.Changed{{Path: "bottle.toml", Exists: true, Kind: 'f'}}},
	}
	for _, s := range steps {
		s.do()
		got := plan(true, s.changed...)
		want := plan(false)
		if got.Status != Run || got.memo || got.Key != want.Key || len(got.Sources) != len(want.Sources) || got.Reason != want.Reason {
			t.Fatalf("%s: %s (%s), key %s, %d sources, from the memo %v; without the watcher %s (%s), key %s, %d sources",
				s.name, got.Status, got.Reason, got.Key, len(got.Sources), got.memo, want.Status, want.Reason, want.Key, len(want.Sources))
		}
		// Applied: up to date again, from the memo the watched plan kept
		// (the plain plan saved the index without the clock: one plan
		// scans in full and keeps it).
		applied = &workspace.Step{Name: "s", Key: got.Key}
		plan(true)
		if sp := plan(true); sp.Status != UpToDate || !sp.memo {
			t.Fatalf("%s, applied: %s (%s), from the memo %v", s.name, sp.Status, sp.Reason, sp.memo)
		}
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
