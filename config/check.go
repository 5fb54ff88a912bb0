package config

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Checks that need more than one value: paths, input patterns, and the
// whole file's needs and references.

// checkPattern validates one inputs pattern.
func checkPattern(pat string) error {
	body := pat
	switch {
	case strings.HasPrefix(body, "!"):
		body = body[1:]
	case strings.HasPrefix(body, "?"):
		body = body[1:]
	}
	if err := CheckPath(body); err != nil {
		if body != pat {
			return fmt.Errorf("in %q: %w", pat, err)
		}
		return err
	}
	if !doublestar.ValidatePattern(body) {
		return fmt.Errorf("%q is not a valid glob", pat)
	}
	return nil
}

// crossCheck validates what needs the whole file: needs and references.
// declared names every step written, also those too broken to keep, whose
// errors are reported already.
func (p *parser) crossCheck(f *File, declared map[string]any) {
	byName := make(map[string]*Step, len(f.Steps))
	for _, s := range f.Steps {
		byName[s.Name] = s
	}
	var names []string // for "did you mean", made on the first error
	others := func(self string) []string {
		if names == nil {
			names = slices.Sorted(maps.Keys(declared))
		}
		return without(names, self)
	}
	for _, g := range f.Groups {
		for _, n := range g.Needs {
			switch {
			case n == g.Name:
				p.fieldErr("steps."+g.Name+".needs", "a group cannot contain itself")
			default:
				if msg := p.checkName(f, declared, n, nil, func() []string { return others(g.Name) }); msg != "" {
					p.fieldErr("steps."+g.Name+".needs", "%s", msg)
				}
			}
		}
	}
	for _, s := range f.Steps {
		base := "steps." + s.Name
		written := s.Name
		if s.Matrix != nil {
			written = s.Matrix.Base
		}
		for _, n := range s.Needs {
			switch {
			case n == s.Name || n == written:
				p.fieldErr(base+".needs", "a step cannot need itself")
			default:
				if msg := p.checkName(f, declared, n, s.Matrix, func() []string { return others(written) }); msg != "" {
					p.fieldErr(base+".needs", "%s", msg)
				}
			}
		}
		checkRef := func(field string, r Ref) {
			path := base + "." + field
			switch r.Kind {
			case RefVar:
				if _, ok := f.Vars[r.Name]; !ok && !p.varNames[r.Name] {
					p.fieldErr(path, "%s: no var %q%s", r, r.Name, suggest(r.Name, slices.Sorted(maps.Keys(f.Vars))))
				}
			case RefStep:
				other := byName[r.Name]
				switch {
				case r.Name == s.Name:
					p.fieldErr(path, "%s: a step cannot use its own results", r)
				case other == nil && f.Group(r.Name) != nil:
					p.fieldErr(path, "%s: %s is a group, which has no results: refer to one of its steps (%s)", r, r.Name, strings.Join(f.Members(r.Name), ", "))
				case other == nil:
					if msg := p.checkName(f, declared, r.Name, nil, func() []string { return others(written) }); msg != "" {
						p.fieldErr(path, "%s: %s", r, msg)
					}
				default:
					results := p.kinds[other.Kind].Results()
					if !slices.Contains(results, r.Field) {
						p.fieldErr(path, "%s: a step of kind %s has no result %q%s (it has: %s)", r, other.Kind, r.Field, suggest(r.Field, results), strings.Join(results, ", "))
					}
				}
			}
		}
		refs, err := SpecRefs(s.Spec)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				p.fieldErr(base+"."+fe.Field, "%s", fe.Msg)
			} else {
				p.errorf(base+".kind", "%v", err)
			}
		}
		for _, field := range slices.Sorted(maps.Keys(refs)) {
			for _, r := range refs[field] {
				checkRef(field, r)
			}
		}
		inputs := base + ".inputs"
		for _, v := range s.Inputs {
			rs, err := Refs(v)
			if err != nil {
				p.fieldErr(inputs, "%v", err)
				continue
			}
			for _, r := range rs {
				checkRef("inputs", r)
			}
			p.checkExpandedPattern(inputs, v, rs, f.Vars)
		}
		p.environmentRefs(base, s, checkRef)
		if rs, err := Refs(s.Description); err != nil {
			p.fieldErr(base+".description", "%v", err)
		} else {
			for _, r := range rs {
				checkRef("description", r)
			}
		}
	}
}

// checkExpandedPattern checks an input pattern again once its vars are
// expanded, when it uses nothing but vars: a var may hold "../x".
func (p *parser) checkExpandedPattern(path, pat string, refs []Ref, vars map[string]string) {
	if len(refs) == 0 {
		return
	}
	for _, r := range refs {
		if v, ok := vars[r.Name]; r.Kind != RefVar || !ok || strings.Contains(v, "${") {
			return // known only once the plan resolves it
		}
	}
	v, err := Expand(pat, func(r Ref) (string, error) { return vars[r.Name], nil })
	if err != nil {
		return
	}
	if err := checkPattern(v); err != nil {
		p.fieldErr(path, "%q expands to %v", pat, err)
	}
}

// without returns list less s; list is not changed.
func without(list []string, s string) []string {
	i := slices.Index(list, s)
	if i < 0 {
		return list
	}
	return slices.Concat(list[:i], list[i+1:])
}

// CheckPath reports whether p is a clean workspace-relative path that stays
// inside the workspace. It is bottle's one path check, with one wording:
// for input patterns, for the kinds' path fields, and for outputs once
// their references are expanded.
func CheckPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty path: give a path relative to the workspace")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q is absolute: give a path relative to the workspace", p)
	}
	// Element by element without splitting: a plan checks every input
	// path, and a slice for each cost a 5,000-step no-op plan 10 ms.
	for rest := p; ; {
		el, after, more := strings.Cut(rest, "/")
		if el == ".." {
			return fmt.Errorf("%q leaves the workspace: give a path relative to the workspace, without ..", p)
		}
		if !more {
			break
		}
		rest = after
	}
	if path.Clean(p) == "." {
		return fmt.Errorf("%q names the workspace itself: give a path inside it", p)
	}
	return nil
}
