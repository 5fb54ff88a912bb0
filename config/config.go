// Package config reads bottle.toml into plain structs. Parse is strict: an
// unknown table, field or kind is an error, with "did you mean" where a known
// name is close, and every error carries the file, line, column and field path
// where they can be known:
//
//	bottle.toml:12:3: steps.build: unknown field "dockerfle" (did you mean "dockerfile"?)
//
// The package knows the fields common to every step; the fields of each kind
// come from a KindInfo, so that new kinds need no change here.
package config

import (
	"fmt"
	"strings"
	"time"
)

// File is a parsed bottle.toml.
type File struct {
	Name     string // the file name used in messages, e.g. "bottle.toml"
	Settings Settings
	// Vars are the [vars] values as written. A computed var is here too,
	// as "", so that every var has an entry; its command is in Computed.
	Vars     map[string]string
	VarPos   map[string]Pos
	Computed map[string]Computed // vars whose value a command prints
	Steps    []*Step             // in the order they appear in the file
	Groups   []*Group            // steps of kind "group", in file order; never in Steps
}

// Computed is a var whose value is what a command prints:
//
//	[vars]
//	version = { sh = "git describe --tags --always", timeout = "10s" }
//
// Planning runs it (in the workspace, through /bin/sh -c) only for the
// steps being planned that use the var; the trimmed stdout is the value.
type Computed struct {
	Sh      string
	Timeout time.Duration
	// Hint says what to do when the command fails, for a var bottle
	// declares itself (settings.source_date_epoch = "git"); "" otherwise.
	Hint string
}

// DefaultComputedTimeout is how long a computed var's command may take when
// its table gives no timeout.
const DefaultComputedTimeout = 10 * time.Second

// Settings is the [settings] table.
type Settings struct {
	CacheDir    string // cache_dir
	Jobs        int    // jobs; 0 when unset
	RemoteCache string // remote_cache
	// Buildkit is buildkit: the address of a standalone BuildKit daemon
	// ("tcp://host:1234", "unix:///run/buildkit/buildkitd.sock") that
	// builds the image.build steps instead of the Docker engine.
	Buildkit string
	// Pools is pools: the most steps of each pool that run at once,
	// whatever jobs says. Scheduling only: never in a key.
	Pools map[string]int
	// Default is default: the steps and groups taken when a command names
	// none. Empty means every step.
	Default []string
	// SourceDateEpoch is source_date_epoch: seconds since 1970 (digits) or
	// "git"; "" when unset. It becomes the var SourceDateEpochVar, the
	// default of every step's source_date_epoch field (sourcedate.go).
	SourceDateEpoch string
	// Fsmonitor is fsmonitor: "watchman" to ask a running watchman what
	// changed instead of looking at every input; "" (unset, "off" or
	// "none") looks at every input.
	Fsmonitor string
}

// CheckFsmonitor reads a value of settings.fsmonitor, --fsmonitor or
// BOTTLE_FSMONITOR: "watchman", or "off"/"none" (returned as "").
func CheckFsmonitor(v string) (string, error) {
	switch v {
	case "watchman":
		return v, nil
	case "off", "none":
		return "", nil
	}
	return "", fmt.Errorf(`want "watchman", "off" or "none", got %q`, v)
}

// Pos is a 1-based line and column. The zero Pos means unknown.
type Pos struct{ Line, Col int }

func (p Pos) IsValid() bool { return p.Line > 0 }

// Step is one [steps.NAME] table.
type Step struct {
	Name    string
	Kind    string
	Pos     Pos // of the [steps.NAME] header
	Needs   []string
	Inputs  []string
	Env     []string
	Secrets []string // reach the command; never a key, result, state or plan; masked as ***
	PassEnv []string // host variables that reach the command and never the key (DOCKER_HOST, proxies)
	// Environment are literal values for the command's environment; they
	// enter the key. A value may use ${var.NAME}, nothing else.
	Environment map[string]string
	Tools       []string
	Description string
	Timeout     time.Duration // 0 when unset
	Always      bool
	Pool        string // a pool of settings.pools; "" for none. Not in the key
	// Matrix is set on each instance of a matrix step: the step as written
	// and this instance's values. nil for a step without matrix.
	Matrix *Matrix

	// Spec holds the kind's own fields: the value returned by the kind's
	// NewSpec, decoded from the table. References in its strings are kept as
	// written; see Refs and Expand.
	Spec any

	// FieldPos is the position of each key written in the table, by its TOML
	// name ("needs", "run", ...).
	FieldPos Positions
}

// FieldPosOr returns the position of field, or of the step's header when the
// field was not written.
func (s *Step) FieldPosOr(field string) Pos {
	if p, ok := s.FieldPos.Get(field); ok {
		return p
	}
	return s.Pos
}

// KindInfo describes a step kind to the parser. steps.Kind implements it.
type KindInfo interface {
	// NewSpec returns a pointer to a new zero struct whose `toml` tags name the
	// kind's own fields. Its string, []string and map[string]string fields may
	// hold references.
	NewSpec() any
	// Results names the values ${step.NAME.FIELD} may refer to.
	Results() []string
}

// A SecretsRefuser is a kind whose steps cannot take secrets, or cannot
// with some specs. RefuseSecrets is the error for a step with spec naming
// some: what the kind cannot do with them, and what to do instead; "" when
// this spec can take them.
type SecretsRefuser interface {
	RefuseSecrets(spec any) string
}

// An EnvRefuser is a kind that runs no command of the step's, so pass_env
// and environment have nowhere to go. RefuseEnv says what the kind does
// instead, e.g. "image.save runs no command: it only asks the engine for
// the image".
type EnvRefuser interface {
	RefuseEnv() string
}

// A Checker is a spec that validates itself after decoding. It returns a
// *FieldError (or a joined list of them) naming the offending field.
type Checker interface {
	Check() error
}

// CheckBuildkitAddr checks settings.buildkit: a standalone BuildKit daemon
// reached over TCP or a unix socket.
func CheckBuildkitAddr(addr string) error {
	scheme, rest, ok := strings.Cut(addr, "://")
	switch {
	case !ok || rest == "":
		return fmt.Errorf(`want the address of a buildkitd, "tcp://HOST:PORT" or "unix:///PATH/buildkitd.sock", got %q`, addr)
	case scheme == "tcp":
		if _, port, ok := strings.Cut(rest, ":"); !ok || port == "" {
			return fmt.Errorf("tcp address %q has no port: buildkitd listens where its --addr says, e.g. tcp://builder:1234", addr)
		}
	case scheme == "unix":
		if !strings.HasPrefix(rest, "/") {
			return fmt.Errorf("unix socket %q must be an absolute path, as unix:///run/buildkit/buildkitd.sock", addr)
		}
	default:
		return fmt.Errorf(`bottle reaches a buildkitd over "tcp://" or "unix://", not %q`, scheme+"://")
	}
	return nil
}
