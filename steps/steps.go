// Package steps is the contract of a step kind as planning sees it: what a
// kind *is* — its fields, declared outputs, results, effect and key
// version — and the checks every kind shares (paths, PATH look-ups). It is
// pure: it starts nothing, opens no connection and writes nothing, and so
// is everything planning reaches through it.
//
// The kinds themselves live in package kinds, one file each, beside what
// they *do* (run, probe, restore). Planning (package graph) is handed their
// descriptions as Kind values and never imports package kinds, so it cannot
// link the code that acts.
package steps

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bottle-build/bottle/config"
)

// Kind describes a step kind without doing anything.
type Kind interface {
	config.KindInfo
	// Name is the kind's name in bottle.toml, e.g. "exec".
	Name() string
	// Version enters every key of this kind; bump it when the kind's
	// behaviour changes what it produces.
	Version() int
	// Effect names what the step leaves outside the cache ("docker image"),
	// or "" when it leaves nothing.
	Effect() string
	// Outputs lists the workspace paths the step declares it writes, from a
	// spec whose references have been expanded.
	Outputs(step string, spec any) []string
}

// InputFinder is a kind whose fields imply input files (image.build: the
// files of its context that .dockerignore keeps, and its Dockerfile). It
// only reads the workspace.
type InputFinder interface {
	// ImpliedInputs returns workspace-relative file paths, sorted, from a
	// spec whose var and env references have been expanded. produced lists
	// the outputs other steps declare (sorted): those the kind would read
	// count although they may not exist yet, which makes their steps needs.
	ImpliedInputs(root string, spec any, produced []string) ([]string, error)
}

// A Shareable kind has an effect that a cached result can recreate on any
// host, so planning may restore it (image.build loads its kept archive).
type Shareable interface {
	Shareable() bool
}

// A HostOnly kind's effect lives on the host that applies it (a smolvm
// machine): no cache can carry it, and 'bottle cache warm', which CI runs,
// skips the step.
type HostOnly interface {
	HostOnly() bool
}

// A Recreator is a Shareable kind that says, for the plan, how a restore
// brings back an effect that went away (--refresh found it missing).
type Recreator interface {
	// Recreates says what is missing and what the restore does, from the
	// values of the result that will be restored: "docker image sha256:…
	// missing from the engine; load it from the cache".
	Recreates(values map[string]string) string
}

// A Locator is a kind some of whose results say where it put what it made
// rather than what it made: image.push's "ref" holds the registry's host,
// which differs between a laptop and CI for the same image. Those values are
// left out of the result's digest (cache.Result.Location), so the keys of
// the steps after it name what they consume, not where they fetch it from.
// A step still gets the value itself when it references it.
type Locator interface {
	// LocationValues names the results that are locations.
	LocationValues() []string
}

// A PlatformKeyed kind makes results that differ with the OS and
// architecture of the engine it runs on unless its spec names a platform
// (image.build without "platform" builds for the engine's). Planning asks
// the engine's platform through its read-only port (graph.Outside) and puts
// it in the key: "platform linux/arm64".
type PlatformKeyed interface {
	// EnginePlatform reports whether a step with spec (var and env
	// references expanded, another step's result a marker) takes its
	// platform from the engine.
	EnginePlatform(spec any) bool
}

// A Replacer is a kind whose effect a new key replaces (an existing machine
// is deleted first): the plan says replace rather than run.
type Replacer interface {
	Replaces() bool
}

// A Program is a program of the host that a kind runs on its own (pack and
// machine.create run smolvm), as opposed to the command a step is given.
type Program struct {
	// Name is a name looked up on PATH, or an absolute path.
	Name string
	// Field is the spec field that names the program, if one does
	// ("smolvm"): errors point at it.
	Field string
	// Help says how to get the program, for the error when it is missing.
	Help string
}

// A ProgramRunner is a kind that runs programs of the host. Planning looks
// each up on PATH (it never runs one) and puts its binary's digest in the
// step's key, as it does for the step's tools: a result depends on the
// program that made it, and a missing program is a plan error, before
// anything runs.
type ProgramRunner interface {
	// Programs lists the programs a step with spec runs. spec has its var
	// and env references expanded; another step's result is a marker that
	// no program name may hold.
	Programs(spec any) []Program
}

// ErrNotFound is LookPath's answer for a program that is not on the PATH.
var ErrNotFound = errors.New("not found on PATH")

// LookPath finds program on pathList (a PATH value) the way bottle does
// everywhere, for the programs steps run and for the tools keys hash: a
// name with a slash is taken as it is (it must be absolute); otherwise
// each absolute folder of the list is tried in order (empty and relative
// entries are skipped, so a workspace cannot plant a program in "."), and
// the first regular executable file wins. It only reads the file system.
func LookPath(program, pathList string) (string, error) {
	if strings.Contains(program, "/") {
		if !filepath.IsAbs(program) {
			return "", fmt.Errorf("%q: give a program name found on PATH, or an absolute path", program)
		}
		if !executable(program) {
			return "", fmt.Errorf("%s: not found or not executable", program)
		}
		return program, nil
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if p := filepath.Join(dir, program); executable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", program, ErrNotFound)
}

func executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
