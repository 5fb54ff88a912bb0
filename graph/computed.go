package graph

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bottle-build/bottle/config"
)

// Computed vars: [vars] version = { sh = "git describe --tags" }. Planning
// cannot run a command itself (nothing it links can); it is handed a
// VarCommand that can. A computed var runs at most once per plan, and only
// when a step being planned uses it (Resolve), or when a step's output or
// input paths do (Load: every plan needs every step's outputs).
//
// Its value is outside the config: in a key it stands as a digest line,
// "var version <sha256>", and in a shell command it is quoted as ${env.X}
// is. So is the value of a var that uses a computed one.

// VarCommand runs a computed var's command, /bin/sh -c command, in dir,
// stopping it after timeout, and returns what it printed on stdout. An
// error says why it failed, with what it printed on stderr.
type VarCommand func(dir, command string, timeout time.Duration) (string, error)

// ComputedError is a computed var whose command failed, with its place.
type ComputedError struct {
	Var   string
	Place string // "bottle.toml:3:1: vars.version"
	Sh    string
	Err   error
	Hint  string // what to do, for a var bottle declares itself
}

func (e *ComputedError) Error() string {
	s := fmt.Sprintf("%s: computing ${var.%s}: `%s`: %v", e.Place, e.Var, e.Sh, e.Err)
	if e.Hint != "" {
		s += "\n\t" + e.Hint
	}
	return s
}

func (e *ComputedError) Unwrap() error { return e.Err }

// OutsideVar reports whether var name's value comes from a command: a
// computed var not set by --var, or a var that uses one.
func (g *Graph) OutsideVar(name string) bool { return g.outsideVars[name] }

// shell splices this graph's references into shell commands.
func (g *Graph) shell() config.Shell { return config.Shell{OutsideVar: g.OutsideVar} }

// Computed returns the values of the computed vars that have run, by name.
func (g *Graph) Computed() map[string]string {
	g.computeMu.Lock()
	defer g.computeMu.Unlock()
	return maps.Clone(g.computed)
}

// compute runs the computed vars among names that have not run, and fills
// in the values of the vars that use them. A var that fails keeps its
// *ComputedError (computeErr) and is not run again.
func (g *Graph) compute(names []string) {
	g.computeMu.Lock()
	defer g.computeMu.Unlock()
	ran := false
	for _, k := range names {
		if _, ok := g.computed[k]; ok {
			continue
		}
		if _, ok := g.computeErrs[k]; ok {
			continue
		}
		c := g.Config.Computed[k]
		var out string
		err := errors.New("this command cannot run computed vars")
		if g.varCommand != nil {
			out, err = g.varCommand(g.Root, c.Sh, c.Timeout)
		}
		if err != nil {
			g.computeErrs[k] = &ComputedError{Var: k, Place: config.VarPlace(g.Config, k), Sh: c.Sh, Err: err, Hint: c.Hint}
			continue
		}
		g.computed[k] = strings.TrimSpace(out)
		ran = true
	}
	if ran {
		// The vars that use the new values can be filled in now. Nothing
		// reads Vars while a plan resolves its steps.
		g.Vars, g.varErrs = config.ResolveVars(g.Config, g.Overrides, g.getenv, g.computed)
	}
}

// computeErr returns the error of a computed var among names that failed.
func (g *Graph) computeErr(names []string) error {
	g.computeMu.Lock()
	defer g.computeMu.Unlock()
	for _, k := range names {
		if err := g.computeErrs[k]; err != nil {
			return err
		}
	}
	return nil
}

// outsideVarsOf returns the outside vars (see OutsideVar) n's strings
// name directly, sorted, and the computed vars their values come from.
func (g *Graph) outsideVarsOf(n *Node) (direct, computed []string) {
	if len(g.outsideVars) == 0 {
		return nil, nil
	}
	seen := map[string]bool{}
	add := func(s string) {
		refs, _ := config.Refs(s)
		for _, r := range refs {
			if r.Kind == config.RefVar && g.outsideVars[r.Name] && !seen[r.Name] {
				seen[r.Name] = true
				direct = append(direct, r.Name)
			}
		}
	}
	if refs, err := config.SpecRefs(n.Step.Spec); err == nil {
		for _, rs := range refs {
			for _, r := range rs {
				add(r.String())
			}
		}
	}
	for _, s := range n.Step.Inputs {
		add(s)
	}
	for _, s := range n.Step.Environment {
		add(s)
	}
	slices.Sort(direct)
	var all []string
	for _, v := range direct {
		all = append(all, config.ComputedDeps(g.Config, g.Overrides, v)...)
	}
	slices.Sort(all)
	return direct, slices.Compact(all)
}

// keyVars returns vars as a key sees them for n: the value of every var,
// but a marker for each of n's outside vars, whose values enter the key as
// digest lines of their own.
func (n *Node) keyVars(vars map[string]string) map[string]string {
	if len(n.OutsideVars) == 0 {
		return vars
	}
	m := maps.Clone(vars)
	if m == nil {
		m = map[string]string{}
	}
	for _, v := range n.OutsideVars {
		m[v] = "\x00var." + v + "\x00"
	}
	return m
}
