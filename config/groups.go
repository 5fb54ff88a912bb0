package config

import (
	"maps"
	"slices"
	"strings"
)

// Groups and the default targets. A group (kind = "group") names steps and
// other groups in needs and has nothing else but a description: no command,
// no result. It is not a step: needing it, or naming it on the command
// line, means each of its members. settings.default names the steps and
// groups that plan, apply, graph and the cache commands take when none is
// named.

// GroupKind is the kind of a group.
const GroupKind = "group"

// Group is one [steps.NAME] table of kind "group".
type Group struct {
	Name        string
	Pos         Pos // of the [steps.NAME] header
	Needs       []string
	Description string
	FieldPos    Positions
}

// Group returns the group named name, or nil.
func (f *File) Group(name string) *Group {
	for _, g := range f.Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// Members returns the steps a group stands for: its needs, with each group
// among them replaced by its own members, each step once, in the order
// first met. It is nil when name is no group. Parse refuses cycles.
func (f *File) Members(name string) []string {
	if f.Group(name) == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		if g := f.Group(n); g != nil {
			for _, m := range g.Needs {
				walk(m)
			}
			return
		}
		out = append(out, n)
	}
	walk(name)
	return out
}

// group reads a table of kind "group": only kind, needs and description.
func (p *parser) group(name string, m map[string]any, base string, pt *posTree) *Group {
	g := &Group{Name: name}
	if pt != nil {
		g.Pos, g.FieldPos = pt.pos, PositionsOf(pt.fields)
	} else {
		g.Pos = p.posOf(base)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		at := keyPath{base, k}
		switch k {
		case "kind":
		case "needs":
			g.Needs, _ = p.strList(at, m[k])
			seen := map[string]bool{}
			for _, n := range g.Needs {
				if seen[n] {
					p.fieldErr(at.String(), "%q is listed twice", n)
				}
				seen[n] = true
			}
		case "description":
			g.Description, _ = p.str(at, m[k])
			if refs, err := Refs(g.Description); err != nil {
				p.fieldErr(at.String(), "%v", err)
			} else if len(refs) > 0 {
				p.fieldErr(at.String(), "a group's description cannot use references (%s)", refs[0])
			}
		default:
			if sug := suggest(k, []string{"needs", "description"}); sug != "" {
				p.errorf(at.String(), "a group has only needs and description, not %q%s", k, sug)
				continue
			}
			p.errorf(at.String(), "a group has only needs and description, not %q: it runs nothing; put the work in a step and list that step in needs", k)
		}
	}
	if _, ok := m["needs"]; !ok {
		p.errorf(base+".needs", "a group needs at least one step: write needs = [\"STEP\", ...]")
	} else if len(g.Needs) == 0 {
		if _, isList := m["needs"].([]any); isList {
			p.fieldErr(base+".needs", "a group needs at least one step")
		}
	}
	return g
}

// checkGroups reports a group that contains itself, directly or through
// other groups, once per cycle.
func (p *parser) checkGroups(f *File) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(g *Group) bool
	visit = func(g *Group) bool {
		switch color[g.Name] {
		case grey:
			i := slices.Index(stack, g.Name)
			cyc := append(slices.Clone(stack[i:]), g.Name)
			p.fieldErr("steps."+cyc[0]+".needs", "groups contain each other: %s", strings.Join(cyc, " -> "))
			return true
		case black:
			return false
		}
		color[g.Name] = grey
		stack = append(stack, g.Name)
		for _, n := range g.Needs {
			if m := f.Group(n); m != nil && n != g.Name && visit(m) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		color[g.Name] = black
		return false
	}
	for _, g := range f.Groups {
		if color[g.Name] == white && visit(g) {
			return
		}
	}
}

// checkDefault reports a name in settings.default that is no step or group.
func (p *parser) checkDefault(f *File, declared map[string]any) {
	for _, n := range f.Settings.Default {
		if _, _, inst := CutInstance(n); declared[n] == nil && !inst {
			p.fieldErr("settings.default", "no step or group %q%s", n, suggest(n, slices.Sorted(maps.Keys(declared))))
		} else if msg := p.checkName(f, declared, n, nil, func() []string { return slices.Sorted(maps.Keys(declared)) }); msg != "" {
			p.fieldErr("settings.default", "%s", msg)
		}
	}
}

// kindNames are the kinds a step may be, group included, sorted.
func (p *parser) kindNames() []string {
	names := append(slices.Collect(maps.Keys(p.kinds)), GroupKind)
	slices.Sort(names)
	return names
}
