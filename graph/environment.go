package graph

import (
	"fmt"
	"maps"
	"slices"

	"github.com/bottle-build/bottle/config"
)

// Environment returns the step's environment field as NAME=value, sorted
// by name, with ${var.X} expanded from vars. Config allows no other
// reference there; one that slips through is an error, not an empty value.
func (n *Node) Environment(vars map[string]string) ([]string, error) {
	env := n.Step.Environment
	if len(env) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(env))
	for _, name := range slices.Sorted(maps.Keys(env)) {
		v, err := config.Expand(env[name], func(r config.Ref) (string, error) {
			if r.Kind != config.RefVar {
				return "", fmt.Errorf("environment %s: %s: only ${var.NAME} may stand here", name, r)
			}
			return vars[r.Name], nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, name+"="+v)
	}
	return out, nil
}
