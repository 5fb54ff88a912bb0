package graph

import (
	"errors"
	"slices"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/steps"
)

// Values from outside the config in a shell command: the rule is config's
// (config/shell.go); here it is checked at load, with the place, and applied
// when a step's references are filled in.

// checkShell refuses an outside reference in a shell field of n's spec
// (exec's run) that stands where its value could be read as shell syntax:
// inside single quotes, a here-document, backquotes, and so on.
func (g *Graph) checkShell(n *Node) error {
	err := g.shell().CheckSpec(n.Step.Spec, func(r config.Ref) (string, error) {
		return g.Vars[r.Name], nil
	})
	if err == nil {
		return nil
	}
	var errs []error
	for _, e := range unwrapAll(err) {
		var fe *config.FieldError
		if errors.As(e, &fe) {
			errs = append(errs, g.errorf(n, fe.Field, "%s", fe.Msg))
		} else {
			errs = append(errs, g.errorf(n, "", "%v", e))
		}
	}
	return errors.Join(errs...)
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// refItems turns a resolver of references into one that gives each
// reference's items: one, the value, for most; for a step's
// steps.OutputsResult, its declared outputs as planned, one item per path
// (after f has been asked, so that its errors still count).
func (g *Graph) refItems(f func(config.Ref) (string, error)) func(config.Ref) ([]string, error) {
	return func(r config.Ref) ([]string, error) {
		v, err := f(r)
		if err != nil {
			return nil, err
		}
		if r.Kind == config.RefStep && r.Field == steps.OutputsResult {
			if dep := g.byName[r.Name]; dep != nil {
				return slices.Clone(dep.Outputs), nil
			}
		}
		return []string{v}, nil
	}
}
