package tests

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// tree-holds TEXT DIR...: some file below the DIRs holds TEXT; with !,
	// none does. Either way every DIR must exist and hold a file, so that a
	// wrong path cannot pass for "nothing leaked".
	scriptCmds["tree-holds"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: tree-holds TEXT DIR...")
		}
		text := []byte(args[0])
		var holders []string
		for _, dir := range args[1:] {
			dir = ts.MkAbs(dir)
			n := 0
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || !d.Type().IsRegular() {
					return err
				}
				n++
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if bytes.Contains(b, text) {
					holders = append(holders, p)
				}
				return nil
			})
			ts.Check(err)
			if n == 0 {
				ts.Fatalf("%s holds no file", dir)
			}
		}
		switch {
		case neg && len(holders) > 0:
			ts.Fatalf("%q found in %s", args[0], strings.Join(holders, ", "))
		case !neg && len(holders) == 0:
			ts.Fatalf("%q found in no file", args[0])
		}
	}
}
