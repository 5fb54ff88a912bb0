package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands for the restore tests (issue 7: a cache entry can never write
// where it should not).
func init() {
	// tree DIR: print every path under DIR, one per line, Go-quoted so
	// that any byte in a name shows (a link as "path" -> "target").
	scriptCmds["tree"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: tree DIR")
		}
		root := ts.MkAbs(args[0])
		var lines []string
		err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if rel == "." {
				return nil
			}
			line := fmt.Sprintf("%q", filepath.ToSlash(rel))
			if fi.Mode()&os.ModeSymlink != 0 {
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				line += fmt.Sprintf(" -> %q", target)
			}
			lines = append(lines, line)
			return nil
		})
		ts.Check(err)
		sort.Strings(lines)
		fmt.Fprint(ts.Stdout(), strings.Join(lines, "\n")+"\n")
	}
}
