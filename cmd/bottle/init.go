package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/bottle-build/bottle/workspace"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) initCmd() *ffcli.Command {
	fs := a.flagSet("init")
	return &ffcli.Command{
		Name:       "init",
		ShortUsage: "bottle init [flags]",
		ShortHelp:  "write a commented starter bottle.toml for the files it sees",
		LongHelp: strings.TrimSpace(`
Init writes a starter bottle.toml in the workspace (-C DIR, else the current
folder; -f FILE names another file), with a comment on every line worth one.
It looks at what is there: a Go module (go.mod) gets vet, build and test
steps; a Dockerfile gets an image.build step; with neither, an example exec
step shows the fields. Init never overwrites: an existing file is an error.

EXAMPLES
  bottle init && bottle plan`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usageErr("init takes no arguments")
			}
			root, err := a.workspaceDir()
			if err != nil {
				return err
			}
			path := workspace.ConfigPath(root, a.file)
			text, steps := starterConfig(root)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s already exists: init writes a new config and never overwrites one (remove it first to start again)", relTo(root, path))
			}
			if err != nil {
				return err
			}
			if _, err := f.WriteString(text); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Wrote %s with %s %s. Next: bottle plan, then bottle apply.\n", relTo(root, path), plural(len(steps), "the step", "the steps"), strings.Join(steps, ", "))
			return nil
		},
	}
}

func relTo(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// starterConfig is the bottle.toml init writes for the workspace at root,
// and the steps it declares.
func starterConfig(root string) (string, []string) {
	var b strings.Builder
	var steps []string
	b.WriteString(`# bottle.toml: the steps of this workspace, written by 'bottle init'.
# 'bottle plan' shows what would run and why; 'bottle apply' does it.
# Every field is described in bottle's README ("bottle.toml").

# [settings]
# default = ["test"]       # what plan and apply take when no step is named
# jobs = 4                 # steps at once (default: the number of CPUs)
`)
	exists := func(name string) bool {
		_, err := os.Stat(filepath.Join(root, name))
		return err == nil
	}
	if exists("go.mod") {
		steps = append(steps, "vet", "build", "test")
		b.WriteString(goSteps(root, exists("go.sum")))
	}
	if exists("Dockerfile") {
		steps = append(steps, "image")
		fmt.Fprintf(&b, `
# The image the Dockerfile describes, built by the Docker engine (DOCKER_HOST
# is honoured). Its inputs are the build context's files that .dockerignore
# keeps: no need to list them.
[steps.image]
kind = "image.build"
description = "the image of the Dockerfile"
context = "."
tags = [%q]
`, imageName(filepath.Base(root))+":dev")
	}
	if len(steps) == 0 {
		steps = append(steps, "hello")
		b.WriteString(`
# An example step: replace it with your own. A step runs again only when its
# key changes: its fields, the files its inputs match, the env values and
# tools it names, and the results of the steps it needs.
[steps.hello]
kind = "exec"
description = "an example: writes build/hello.txt"
# inputs = ["src/**/*.c", "!src/**/*_test.c"]   # files whose content enters the key
# needs = ["other"]                             # steps that must run first
# tools = ["cc"]                                # programs on PATH whose binary enters the key
run = "mkdir -p build && echo hello > build/hello.txt"
outputs = ["build/hello.txt"]                   # what it makes: cached, restored on a hit
`)
	}
	return b.String(), steps
}

// goSteps are the steps of a Go module: vet, build (a binary in build/ when
// the module's root is a main package, else a check that it compiles) and
// test.
func goSteps(root string, sum bool) string {
	mod := `"go.mod"`
	if sum {
		mod += `, "go.sum"`
	}
	// A pattern that matches no file is an error unless marked with ?: a
	// new module may have no Go file yet.
	gofiles := `"**/*.go"`
	if !hasGoFile(root) {
		gofiles = `"?**/*.go"`
	}
	mod += ", " + gofiles
	build := `run = "go build ./..."             # a check: it keeps nothing`
	if isMainPackage(root) {
		name := filepath.Base(root)
		if m := modulePath(root); m != "" {
			name = m[strings.LastIndex(m, "/")+1:]
		}
		name = imageName(name)
		build = fmt.Sprintf("run = \"go build -o build/%s .\"\noutputs = [\"build/%s\"]   # cached: a hit restores it instead of building", name, name)
	}
	return fmt.Sprintf(`
# The Go module. Each step's key holds the Go files it reads (inputs), the go
# binary (tools) and GOFLAGS (env): change any of them and the step runs again.
[steps.vet]
kind = "exec"
description = "go vet over the module"
inputs = [%[1]s]
tools = ["go"]
env = ["GOFLAGS"]
run = "go vet ./..."

[steps.build]
kind = "exec"
description = "go build"
needs = ["vet"]
inputs = [%[1]s, "!**/*_test.go"]
tools = ["go"]
env = ["GOFLAGS"]
%[2]s

[steps.test]
kind = "exec"
description = "go test"
needs = ["build"]
inputs = [%[1]s, "?**/testdata/**"]
tools = ["go"]
env = ["GOFLAGS"]
run = "go test ./..."
`, mod, build)
}

// hasGoFile says whether root holds a .go file, in any folder but hidden
// ones.
func hasGoFile(root string) bool {
	found := false
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil
		case d.IsDir() && p != root && strings.HasPrefix(d.Name(), "."):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(p, ".go"):
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

var packageClause = regexp.MustCompile(`^package\s+(\w+)`)

// isMainPackage says whether the .go files at root (not tests) are package
// main.
func isMainPackage(root string) bool {
	files, _ := filepath.Glob(filepath.Join(root, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if m := packageClause.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
				if m[1] == "main" {
					return true
				}
				break
			}
		}
	}
	return false
}

// modulePath is the module line of root's go.mod, or "".
func modulePath(root string) string {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// imageName is a name made of [a-z0-9-] from name (a folder's, a module's),
// fit for an image repository and a file.
func imageName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.':
			b.WriteRune('-')
		}
	}
	if out := strings.Trim(b.String(), "-"); out != "" {
		return out
	}
	return "app"
}
