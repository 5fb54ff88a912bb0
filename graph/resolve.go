package graph

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/steps"
)

// Resolve finds the input files of the named steps and everything they need
// (all steps when names is empty), adds the Make-style edges that produced
// inputs imply, checks for cycles and returns the steps in dependency order.
//
// The steps it returns are copies, made for this resolution: the graph
// itself is never changed, so two plans of one graph cannot see each
// other's files or edges. known, when not nil, tells which literal inputs
// were files when last hashed, so they need not be looked at twice (see
// files.ExpandKnown).
func (g *Graph) Resolve(names []string, known func(string) bool) ([]*Node, error) {
	return g.resolve(names, known, nil)
}

// resolve is Resolve that takes folder walks from watch when the file
// watcher vouches for them (nil: none; see files.ExpandWatched).
func (g *Graph) resolve(names []string, known func(string) bool, watch *files.Watch) ([]*Node, error) {
	var roots []*Node
	if len(names) == 0 {
		roots = g.Nodes
	} else {
		for _, name := range g.ExpandGroups(names) {
			n := g.byName[name]
			if n == nil {
				return nil, g.NoStep(name)
			}
			roots = append(roots, n)
		}
	}
	producers := map[string]*Node{}
	var outputs []string
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			producers[o] = n
			outputs = append(outputs, o)
		}
	}
	virtual := files.NewVirtual(outputs)
	sort.Strings(outputs)

	// Expand inputs, a wave of steps at a time: the steps named, then the
	// steps they turn out to need, until no new step appears.
	// copies maps each step of the graph to this resolution's copy of it.
	// Until the end, a copy's Needs point at the graph's steps.
	copies := map[*Node]*Node{}
	copyOf := func(n *Node) *Node {
		c := copies[n]
		if c == nil {
			cp := *n
			cp.Needs = slices.Clone(n.Needs)
			cp.implicit = nil // made on the first implied edge
			cp.Sources, cp.Produced = nil, nil
			c = &cp
			copies[n] = c
		}
		return c
	}
	wave := make([]*Node, len(roots))
	for i, n := range roots {
		wave[i] = copyOf(n)
	}
	var errs []error
	failed := map[string]bool{} // computed vars whose failure is reported
	for len(wave) > 0 {
		for _, c := range wave {
			if c.unresolved != nil {
				var ce *ComputedError
				if !errors.As(c.unresolved, &ce) || !failed[ce.Var] {
					errs = append(errs, c.unresolved)
				}
				if ce != nil {
					failed[ce.Var] = true
				}
				continue
			}
			// The computed vars a step being planned uses run now, once
			// each, before any key.
			if len(c.computedDeps) > 0 {
				g.compute(c.computedDeps)
				for _, k := range c.computedDeps {
					if err := g.computeErr([]string{k}); err != nil && !failed[k] {
						failed[k] = true
						errs = append(errs, err)
					}
				}
			}
		}
		errs = append(errs, g.expandAll(wave, virtual, outputs, producers, known, watch)...)
		var next []*Node
		for _, c := range wave {
			for _, d := range c.Needs {
				if copies[d] == nil {
					next = append(next, copyOf(d))
				}
			}
		}
		wave = next
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, c := range copies {
		for i, d := range c.Needs {
			c.Needs[i] = copies[d]
		}
	}
	return g.topoSort(copies)
}

// ExpandGroups replaces each group among names by its members and each
// matrix step by its instances, keeping the order and each name once. A
// name that is none of these is kept: Node finds no step for it, and
// NoStep says why.
func (g *Graph) ExpandGroups(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range names {
		members, err := g.Config.Select(name)
		if err != nil {
			members = []string{name}
		}
		for _, m := range members {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// NoStep is the error for a name on the command line that is no step:
// with "did you mean", and for a matrix step the instances there are.
func (g *Graph) NoStep(name string) error {
	_, err := g.Config.Select(name)
	if err == nil {
		err = fmt.Errorf("no step %q", name)
	}
	msg := err.Error()
	if m, ok := strings.CutPrefix(msg, fmt.Sprintf("no step %q", name)); ok {
		msg = fmt.Sprintf("no step %q in %s%s", name, g.ConfigName, m)
	}
	return &UsageError{Msg: msg}
}

func (g *Graph) expandAll(nodes []*Node, virtual *files.Virtual, outputs []string, producers map[string]*Node, known func(string) bool, watch *files.Watch) []error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	// The workers take the steps in turn through a counter: handing each
	// over on a channel woke a worker a step.
	var next atomic.Int64
	for range min(runtime.NumCPU(), len(nodes)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(nodes); i = int(next.Add(1) - 1) {
				n := nodes[i]
				finder, finds := n.Kind.(steps.InputFinder)
				if len(n.Inputs) == 0 && !finds {
					continue
				}
				exp := &files.Expansion{}
				if len(n.Inputs) > 0 {
					var err error
					exp, err = files.ExpandWatched(g.Root, n.Inputs, virtual, known, watch)
					if err != nil {
						errs[i] = g.errorf(n, "inputs", "%v", err)
						continue
					}
				}
				if finds {
					implied, err := finder.ImpliedInputs(g.Root, n.StaticSpec, outputs)
					if err != nil {
						// A field's problem points at the field.
						var fe *config.FieldError
						if errors.As(err, &fe) {
							errs[i] = g.errorf(n, fe.Field, "%s", fe.Msg)
						} else {
							errs[i] = g.errorf(n, "", "%v", err)
						}
						continue
					}
					exp.Files = mergeSorted(exp.Files, implied)
				}
				// classify changes only n, this resolution's copy, and
				// reads the graph's steps: the workers share it out.
				errs[i] = g.classify(n, exp, producers)
			}
		})
	}
	wg.Wait()
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// producerOf returns the step whose declared output is p or a folder holding p.
func producerOf(p string, producers map[string]*Node) *Node {
	for {
		if n, ok := producers[p]; ok {
			return n
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return nil
		}
		p = p[:i]
	}
}

func (g *Graph) classify(n *Node, exp *files.Expansion, producers map[string]*Node) error {
	if len(exp.Unmatched) > 0 {
		var errs []error
		for _, pat := range exp.Unmatched {
			errs = append(errs, g.errorf(n, "inputs", "%q matches no file (prefix it with ? if it may match nothing)", pat))
		}
		return errors.Join(errs...)
	}
	n.Sources, n.Produced = n.Sources[:0], n.Produced[:0]
	// Paths come sorted, so runs of them share a folder: remember what the
	// last folder's chain answered, and look up only the path itself.
	lastDir, lastDirProd, haveDir := "", (*Node)(nil), false
	producer := func(p string) *Node {
		var prod *Node
		dir, hasDir := "", false
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			dir, hasDir = p[:i], true
		}
		if n, ok := producers[p]; ok {
			prod = n
		} else if hasDir {
			if !haveDir || dir != lastDir {
				lastDir, lastDirProd, haveDir = dir, producerOf(dir, producers), true
			}
			prod = lastDirProd
		}
		return prod
	}
	// Mostly no file found is another step's output: the sources are then
	// the files found, shared rather than copied (100,000 paths for W1).
	k := 0
	for k < len(exp.Files) && producer(exp.Files[k]) == nil {
		k++
	}
	if k == len(exp.Files) && len(exp.Virtual) == 0 {
		n.Sources = exp.Files[:k:k] // read only; an append copies
		return nil
	}
	n.Sources = slices.Grow(n.Sources, len(exp.Files)+len(exp.Virtual))
	n.Sources = append(n.Sources, exp.Files[:k]...)
	add := func(p string) error {
		prod := producer(p)
		switch {
		case prod == nil:
			n.Sources = append(n.Sources, p)
		case prod.Name == n.Name:
			return g.errorf(n, "inputs", "%q is an output of this same step (a step cannot read what it writes)", p)
		default:
			n.Produced = append(n.Produced, p)
			if !n.hasNeed(prod) {
				n.Needs = append(n.Needs, prod)
				sortNodes(n.Needs)
				n.implicit = append(n.implicit, prod.Name)
			}
		}
		return nil
	}
	for _, p := range exp.Files[k:] {
		if err := add(p); err != nil {
			return err
		}
	}
	for _, p := range exp.Virtual {
		if err := add(p); err != nil {
			return err
		}
	}
	sort.Strings(n.Produced)
	n.Produced = dedupe(n.Produced)
	sort.Strings(n.implicit) // each once: hasNeed kept a second out
	return nil
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (n *Node) hasNeed(d *Node) bool {
	for _, x := range n.Needs {
		if x == d {
			return true
		}
	}
	return false
}

// topoSort orders the copies of the graph's steps so that every step comes
// after its needs, keeping file order where it is free, and reports a cycle
// in full.
func (g *Graph) topoSort(copies map[*Node]*Node) ([]*Node, error) {
	const (
		white = iota
		grey
		black
	)
	color := map[*Node]int{}
	var order []*Node
	var stack []*Node
	var visit func(n *Node) error
	visit = func(n *Node) error {
		switch color[n] {
		case black:
			return nil
		case grey:
			i := len(stack) - 1
			for stack[i] != n {
				i--
			}
			cyc := append(append([]*Node{}, stack[i:]...), n)
			return g.cycleError(cyc)
		}
		color[n] = grey
		stack = append(stack, n)
		for _, d := range n.Needs {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		n.order = len(order)
		order = append(order, n)
		return nil
	}
	for _, n := range g.Nodes {
		if c := copies[n]; c != nil {
			if err := visit(c); err != nil {
				return nil, err
			}
		}
	}
	return order, nil
}

func (g *Graph) cycleError(cyc []*Node) error {
	names := make([]string, len(cyc))
	for i, n := range cyc {
		names[i] = n.Name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cycle: %s", strings.Join(names, " -> "))
	for _, n := range cyc[:len(cyc)-1] {
		fmt.Fprintf(&b, "\n\t%s:%d:%d: steps.%s", g.ConfigName, n.Step.Pos.Line, n.Step.Pos.Col, n.Name)
	}
	// An edge that comes from an input (not from needs) is the usual
	// surprise: say which file makes it.
	for i := 0; i+1 < len(cyc); i++ {
		a, dep := cyc[i], cyc[i+1]
		if !a.IsImplicit(dep.Name) {
			continue
		}
		for _, p := range a.Produced {
			if producerOf(p, outputsOf(dep)) == dep {
				fmt.Fprintf(&b, "\n\t%s needs %s because its inputs include %s, an output of %s: exclude it (with ! in inputs, or in .dockerignore for a build context) to break the cycle", a.Name, dep.Name, p, dep.Name)
				break
			}
		}
	}
	return &config.Error{File: g.ConfigName, Pos: cyc[0].Step.Pos, Path: "steps." + cyc[0].Name, Msg: b.String()}
}

// mergeSorted merges two sorted lists of paths, dropping duplicates.
func mergeSorted(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

func outputsOf(n *Node) map[string]*Node {
	m := make(map[string]*Node, len(n.Outputs))
	for _, o := range n.Outputs {
		m[o] = n
	}
	return m
}
