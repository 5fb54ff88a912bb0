// Package graph turns a bottle.toml into a DAG of steps, computes their keys
// and plans what apply would do.
//
// Planning has no side effect beyond the file-hash index and the parsed
// config it keeps under .bottle/: it never starts a process, never opens a
// connection and never writes to the cache. It cannot: nothing this package
// links can act (purity_test.go checks the transitive dependencies). It is
// handed the step kinds' descriptions, never the kinds themselves, and it
// asks the world beyond the workspace only through Outside. Execution lives
// in package run, which alone calls the kinds' runners and writes the cache.
//
// load.go builds the static graph, resolve.go finds input files and
// Make-style edges on copies of the steps, key.go hashes readable lines,
// plan.go decides each step, json.go is plan --json.
package graph

import (
	"slices"
	"sort"
	"sync"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/steps"
)

// KeySchema is the version of the key encoding; it enters every key.
const KeySchema = 1

// Graph is a loaded, validated pipeline.
type Graph struct {
	Root       string // absolute workspace path
	ConfigName string // the config file as named in messages, e.g. "bottle.toml"
	Config     *config.File
	Nodes      []*Node // in file order until Resolve sorts them topologically
	byName     map[string]*Node

	configParsed    bool         // the config was parsed (not read from its cache): SaveConfigCache keeps it
	configSum       cache.Digest // of the config's bytes: the parse cache's key, and the plan's config_digest
	configFromCache bool
	configRel       string // the config's workspace path; "" when it lies outside

	kinds map[string]steps.Kind // the kinds this graph's steps may be, by name

	// Vars are the vars' values for this load: --var overrides, and the
	// others with ${env.X} and ${var.Y} filled in (config.ResolveVars). A
	// var that could not be resolved is missing here and its error is in
	// varErrs.
	Vars    map[string]string
	varErrs map[string]error
	// Overrides are the --var values this graph was loaded with.
	Overrides map[string]string

	// Computed vars (computed.go): which vars' values come from a command,
	// the command runner, and what the commands gave, once each.
	outsideVars map[string]bool
	varCommand  VarCommand
	getenv      func(string) (string, bool)
	computeMu   sync.Mutex
	computed    map[string]string
	computeErrs map[string]error
}

// Node is one step of the graph: what the config says of it (its stepDef,
// shared), and what a resolution found (its needs and input files). Each
// resolution works on copies of the graph's steps, and a copy is small:
// the stepDef is not copied.
type Node struct {
	*stepDef
	// Needs are the steps this one needs: declared, referenced with
	// ${step.X.f}, or implied by an input that another step produces. Sorted
	// by name.
	Needs []*Node
	// implicit names the Needs that come from inputs only (Make-style
	// edges), sorted: IsImplicit asks. A slice, not a map: at 20,000 steps
	// a map each was 7 MB.
	implicit []string

	// Set by Resolve:
	Sources  []string // own input files (workspace paths), sorted
	Produced []string // input paths produced by other steps, sorted
	order    int      // topological index
}

// NewNode is a step with nothing resolved: for plans made by hand (tests
// of what renders and runs a plan). Load makes the graph's own.
func NewNode(name string, kind steps.Kind, step *config.Step) *Node {
	return &Node{stepDef: &stepDef{Name: name, Kind: kind, Step: step}}
}

// stepDef is a step as loaded: the same for every resolution.
type stepDef struct {
	Name    string
	Kind    steps.Kind
	Step    *config.Step
	Outputs []string // declared outputs, workspace-relative, clean
	Inputs  []string // input patterns with ${var.X} and ${env.X} expanded
	// StaticSpec is the kind's spec with ${var.X} and ${env.X} expanded
	// (a ${step.X.f} reference is left as a marker).
	StaticSpec any
	// literalSpec is set when no string of the spec holds ${: it is its
	// own expansion (config.SpecIsLiteral).
	literalSpec bool
	// fieldLines are the key's field lines of a literal spec, as the
	// parsed-config cache kept them; nil when it did not.
	fieldLines []string
	// EnvNames are the host variables that enter the key: the env field and
	// every ${env.X} reference, sorted.
	EnvNames []string
	// OutsideVars are the vars n's strings name whose values come from a
	// command (Graph.OutsideVar), sorted: each enters the key as a digest
	// line. computedDeps are the computed vars behind them, which Resolve
	// runs when n is planned.
	OutsideVars  []string
	computedDeps []string
	// Programs are the host programs the kind runs on its own (smolvm):
	// their binaries enter the key as the step's tools do.
	Programs []steps.Program
	// unresolved is why the step cannot be planned: an ${env.X} without a
	// default whose variable is unset (directly or through a var). It is
	// reported when the step is resolved, so that a release step's
	// ${env.GITHUB_TOKEN} does not stop planning the others.
	unresolved error
}

// IsImplicit reports whether n needs the step named name only because an
// input of n is that step's output (a Make-style edge).
func (n *Node) IsImplicit(name string) bool {
	_, ok := slices.BinarySearch(n.implicit, name)
	return ok
}

// Node returns the step named name, or nil.
func (g *Graph) Node(name string) *Node { return g.byName[name] }

// ToolNames are the programs whose binaries enter the key: the step's
// tools and the programs its kind runs, sorted, each once.
func (n *Node) ToolNames() []string {
	names := append([]string(nil), n.Step.Tools...)
	for _, p := range n.Programs {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// Effect is what the step leaves outside the cache, or "".
func (n *Node) Effect() string { return n.Kind.Effect() }

// FromCache reports whether the step's result may come from a cache: it
// leaves no effect, or one its kind recreates from the result (an image,
// loaded from its archive). A pushed manifest or a machine is never
// assumed from any cache, local or remote.
func (n *Node) FromCache() bool {
	sh, ok := n.Kind.(steps.Shareable)
	return n.Effect() == "" || (ok && sh.Shareable())
}
