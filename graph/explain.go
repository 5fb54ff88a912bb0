package graph

import (
	"slices"
	"strconv"
	"strings"

	"github.com/bottle-build/bottle/cache"
)

// KnownKeyLines are the key lines of sp as far as they are known now. A
// decided step has all of them (sp.KeyLines). A pending step has no key yet,
// but every part of it but the results of its needs that have still to run
// is known: its files, fields, env, environment, vars, secrets, tools and
// platform, and the results of its needs that are decided. Those lines come
// back; the needs whose result is not known yet come back in unknown, in the
// order of the step's needs, and their dep lines are left out.
//
// Explain uses it; planning never does (a pending step's platform is asked
// of the engine here, as apply would ask it once the need has run).
func (pl *Planner) KnownKeyLines(p *Plan, sp *StepPlan) (lines, unknown []string, err error) {
	if sp.Status != Pending {
		return sp.KeyLines(), nil, nil
	}
	n := sp.Node
	in := &KeyInput{
		Vars:     pl.Graph.Vars,
		Sources:  sp.Sources,
		Env:      pl.getenv,
		Tools:    p.tools,
		Platform: pl.platform(n),
	}
	in.Deps = make([]cache.Digest, len(n.Needs))
	for i, d := range n.Needs {
		dp := p.Step(d.Name)
		if dp == nil || !dp.Status.Decided() || dp.Status.WillRun() {
			unknown = append(unknown, d.Name)
			continue
		}
		in.Deps[i] = dp.ResultDigest
	}
	all, err := n.KeyLines(in)
	if err != nil {
		return nil, nil, err
	}
	return WithoutDeps(all, unknown), unknown, nil
}

// WithoutDeps is lines less the dep lines of the needs named.
func WithoutDeps(lines, needs []string) []string {
	if len(needs) == 0 {
		return lines
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "dep "); ok {
			name, _, _ := strings.Cut(rest, " ")
			if slices.Contains(needs, name) {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

// SavedSourceLines are the key lines of a saved plan's own input files of
// one step (StepJSON.Sources), as the step's key had them.
func SavedSourceLines(sources []SourceJSON) []string {
	lines := make([]string, 0, len(sources))
	for _, s := range sources {
		p := quote(string(s.Path))
		switch {
		case strings.HasPrefix(s.ID, "link:"):
			lines = append(lines, "link "+p+" "+strconv.Quote(strings.TrimPrefix(s.ID, "link:")))
		case strings.HasSuffix(s.ID, " x"):
			lines = append(lines, "file "+p+" x "+strings.TrimSuffix(s.ID, " x"))
		default:
			lines = append(lines, "file "+p+" - "+s.ID)
		}
	}
	return lines
}
