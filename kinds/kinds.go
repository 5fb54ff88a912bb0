// Package kinds holds bottle's step kinds, one file each: what the kind is
// (its fields, outputs, effect and key version, the steps.Kind face that
// planning is handed) beside what it does (Run, and where it has an effect,
// Probe and Restore). A kind is registered once, in its own file, with all
// of these; adding a kind is one new file and its tests.
//
// This package acts: it starts processes and talks to Docker, registries
// and smolvm. Planning never imports it: cmd/bottle hands package graph the
// kinds' descriptions (Descriptions), and package run, the only caller of
// Run, Probe and Restore, gets the kinds themselves (Get).
package kinds

import (
	"context"
	"io"
	"time"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/steps"
)

// Kind is a step kind: its description and its runner.
type Kind interface {
	steps.Kind
	// Run does the step's work. Everything it prints goes to job.Log. It
	// returns when ctx ends (a timeout or Ctrl-C), having stopped what it
	// started; the scheduler applies the step's timeout through ctx.
	Run(ctx context.Context, job *Job) (*Outcome, error)
}

// A Prober is a kind whose effect can be looked for, for --refresh. It only
// reads: an engine, a registry, a list of machines.
type Prober interface {
	// Exists reports whether the effect that a run with key left, described
	// by the values it recorded, is still there.
	Exists(ctx context.Context, rt *Runtime, key string, values map[string]string) (bool, error)
}

// A PlatformProber is a steps.PlatformKeyed kind that asks its engine for
// the platform it builds for when the spec names none (image.build: the
// Docker engine's, or the standalone builder's). Planning reaches it
// through cmd/bottle's Outside. It only reads.
type PlatformProber interface {
	// Platform returns the OS/architecture of the engine that runs a
	// step with spec, as "linux/amd64".
	Platform(ctx context.Context, rt *Runtime, spec any) (string, error)
}

// A Restorer is a kind whose effect can be recreated from its cached
// result without redoing the work (image.build loads the image archive it
// kept). The scheduler calls it after restoring the result's files.
type Restorer interface {
	Restore(ctx context.Context, job *Job, values map[string]string) error
}

// Job is one step to run, with every reference in Spec replaced by its value.
type Job struct {
	Step      string
	Key       string // the step's key (hex): machine.create labels its machine with it
	Workspace string // absolute path of the workspace
	Spec      any
	Env       []string  // the complete environment for a command
	Secrets   []string  // the names in Env that are secrets (image.build offers them to the build)
	Log       io.Writer // everything the step prints goes here
	Runtime   *Runtime
}

// Outcome is what a runner reports beyond its output files, which the
// scheduler captures itself from the declared outputs.
type Outcome struct {
	Values map[string]string
}

// Runtime is what runs share: how to stop a process, and the one Docker
// connection. Only the scheduler and cmd/bottle make one.
type Runtime struct {
	// KillGrace is how long a stopped command gets between SIGTERM and
	// SIGKILL; 0 means 5s.
	KillGrace time.Duration
	// Hurry, when closed, cuts the grace period short (a second Ctrl-C).
	Hurry <-chan struct{}
	// Buildkit is settings.buildkit: a standalone BuildKit daemon that
	// builds images instead of the Docker engine ("" for the engine).
	Buildkit string

	docker   dockerConn
	platform enginePlatform
	builder  builderPlatform
}

func (rt *Runtime) killGrace() time.Duration {
	if rt == nil || rt.KillGrace <= 0 {
		return 5 * time.Second
	}
	return rt.KillGrace
}

func (rt *Runtime) hurry() <-chan struct{} {
	if rt == nil {
		return nil
	}
	return rt.Hurry
}

var table = map[string]Kind{}

// register adds a kind to the table; each kind's file calls it once.
func register(k Kind) {
	if _, dup := table[k.Name()]; dup {
		panic("kinds: " + k.Name() + " registered twice")
	}
	table[k.Name()] = k
}

// Get returns the kind named name, or nil.
func Get(name string) Kind { return table[name] }

// Descriptions returns every kind as planning sees it.
func Descriptions() map[string]steps.Kind {
	m := make(map[string]steps.Kind, len(table))
	for n, k := range table {
		m[n] = k
	}
	return m
}

// Infos returns every kind as the config parser sees it.
func Infos() map[string]config.KindInfo {
	m := make(map[string]config.KindInfo, len(table))
	for n, k := range table {
		m[n] = k
	}
	return m
}
