package graph

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/kinds"
)

// TestFirstPlanLiterals: a first plan (no index) takes every literal input
// as a file without looking; a folder, a link and a missing path among
// them still come out as they do once the index knows the files.
func TestFirstPlanLiterals(t *testing.T) {
	cases := []struct {
		name    string
		inputs  string
		sources []string
		err     string // part of the plan's error, when it fails
	}{
		{"files", `["a.txt", "dir/x.txt"]`, []string{"a.txt", "dir/x.txt"}, ""},
		{"folder", `["a.txt", "dir"]`, []string{"a.txt", "dir/x.txt", "dir/y.txt"}, ""},
		{"link", `["a.txt", "link"]`, []string{"a.txt", "link"}, ""},
		{"optional missing", `["a.txt", "?gone.txt"]`, []string{"a.txt"}, ""},
		{"missing", `["a.txt", "gone.txt"]`, nil, `"gone.txt" matches no file`},
		{"below a file", `["a.txt", "a.txt/b"]`, nil, `"a.txt/b" matches no file`},
		{"another step's output", `["a.txt", "gen.txt"]`, []string{"a.txt"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := writeTree(t, map[string]string{
				"bottle.toml": "[steps.s]\nkind = \"exec\"\ninputs = " + c.inputs + "\nrun = \"true\"\n" +
					"[steps.gen]\nkind = \"exec\"\nrun = \"true\"\noutputs = [\"gen.txt\"]\n",
				"a.txt":     "a",
				"dir/x.txt": "x",
				"dir/y.txt": "y",
			})
			if err := os.Symlink("a.txt", filepath.Join(root, "link")); err != nil {
				t.Fatal(err)
			}
			// Twice: with no index, then with the one the first plan made.
			for attempt := range 2 {
				pl, err := newPlanner(t, LoadOptions{Root: root, Kinds: kinds.Descriptions()}, noCache{})
				if err != nil {
					t.Fatal(err)
				}
				if pl.Index.Empty() != (attempt == 0) {
					t.Fatalf("plan %d: index empty = %v", attempt, pl.Index.Empty())
				}
				p, err := pl.Plan(nil)
				if c.err != "" {
					if err == nil || !strings.Contains(err.Error(), c.err) {
						t.Fatalf("plan %d: error %v, want one saying %s", attempt, err, c.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("plan %d: %v", attempt, err)
				}
				var got []string
				for _, e := range p.Step("s").Sources {
					got = append(got, e.Path)
				}
				if !slices.Equal(got, c.sources) {
					t.Errorf("plan %d: sources %q, want %q", attempt, got, c.sources)
				}
				if err := os.MkdirAll(filepath.Join(root, ".bottle"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := pl.Index.Save(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
