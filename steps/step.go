// Package steps holds the step kinds. Each kind has two faces, kept apart on
// purpose:
//
//   - Kind describes: its fields, declared outputs, results, effect and key
//     version. Planning uses only this face and it never causes a side effect.
//   - Runner does: it runs a step for apply. Runners are built by NewRunners
//     from a Runtime that only apply constructs, so planning code never holds
//     one.
package steps

import (
	"context"
	"io"
	"sort"
	"time"

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

// Job is one step to run, with every reference in Spec replaced by its value.
type Job struct {
	Step      string
	Key       string // the step's key (hex): machine.create labels its machine with it
	Workspace string // absolute path of the workspace
	Spec      any
	Env       []string      // the complete environment for a command
	Timeout   time.Duration // 0: none
	Log       io.Writer     // everything the step prints goes here
}

// Outcome is what a runner reports beyond its output files, which the
// scheduler captures itself from the declared outputs.
type Outcome struct {
	Values map[string]string
}

// Runner runs steps of one kind.
type Runner interface {
	Run(ctx context.Context, job *Job) (*Outcome, error)
}

// Runtime is what runners may use. Only apply builds one.
type Runtime struct {
	// KillGrace is how long a stopped command gets between SIGTERM and SIGKILL.
	KillGrace time.Duration
	// Hurry, when closed, cuts the grace period short (a second Ctrl-C).
	Hurry <-chan struct{}

	// Environ is the environment probes run smolvm with (PATH, HOME, ...).
	Environ []string

	docker dockerConn
}

// A Restorer is a runner whose effect can be recreated from its cached
// result without redoing the work (image.build loads the image archive it
// kept). Apply calls it after restoring the result's files.
type Restorer interface {
	Restore(ctx context.Context, job *Job, values map[string]string) error
}

// A Shareable kind has an effect that a cached result can recreate on any
// host (through its Restorer), so planning may restore it.
type Shareable interface {
	Shareable() bool
}

// A Replacer is a kind whose effect a new key replaces (an existing machine
// is deleted first): the plan says replace rather than run.
type Replacer interface {
	Replaces() bool
}

func (rt *Runtime) hurry() <-chan struct{} {
	if rt == nil {
		return nil
	}
	return rt.Hurry
}

var kinds = map[string]Kind{}

func register(k Kind) { kinds[k.Name()] = k }

// Kinds returns every kind by name.
func Kinds() map[string]Kind { return kinds }

// KindNames returns the kinds' names, sorted.
func KindNames() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Infos returns the kinds as the config parser wants them.
func Infos() map[string]config.KindInfo {
	m := make(map[string]config.KindInfo, len(kinds))
	for n, k := range kinds {
		m[n] = k
	}
	return m
}

// NewRunners builds a runner for every kind, for apply.
func NewRunners(rt *Runtime) map[string]Runner {
	return map[string]Runner{
		"exec":           &execRunner{rt: rt},
		"image.build":    &imageBuildRunner{rt: rt},
		"image.save":     &imageSaveRunner{rt: rt},
		"image.push":     &imagePushRunner{rt: rt},
		"pack":           &packRunner{rt: rt},
		"machine.create": &machineCreateRunner{rt: rt},
	}
}

// A Prober checks that a kind's effect still exists, for --refresh. It only
// reads: an engine, a registry, a list of machines.
type Prober interface {
	Exists(ctx context.Context, key string, values map[string]string) (bool, error)
}

// NewProbes builds a prober for every kind with an effect, for
// plan --refresh.
func NewProbes(rt *Runtime) map[string]Prober {
	return map[string]Prober{
		"image.build":    &imageProbe{rt: rt},
		"machine.create": &machineProbe{rt: rt},
		"image.push":     &pushProbe{rt: rt},
	}
}
