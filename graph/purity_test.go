package graph

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPlanningImportsNoExecution guards the line between planning and
// execution: no non-test file of the planning packages may import a package
// that starts processes or opens connections, nor the apply package.
func TestPlanningImportsNoExecution(t *testing.T) {
	forbidden := []string{
		"os/exec", "net", "net/http",
		"github.com/bottle-build/bottle/graph/apply",
		"github.com/docker/docker/client",
		"github.com/google/go-containerregistry/pkg/v1/remote",
	}
	for _, dir := range []string{".", "config", "files"} {
		paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if path == bad {
						t.Errorf("%s imports %s: planning code must not be able to run anything", p, path)
					}
				}
			}
		}
	}
	if _, err := os.Stat("plan.go"); err != nil {
		t.Fatal("run from the graph package folder")
	}
}
