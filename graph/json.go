package graph

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/internal/jsonbytes"
)

// FormatVersion is the version of the plan JSON schema (README: "Plan JSON").
const FormatVersion = 2

// PlanJSON is a plan as `bottle plan --json` prints it and `-o FILE` saves it.
type PlanJSON struct {
	FormatVersion int          `json:"format_version"`
	KeySchema     int          `json:"key_schema"`
	Config        string       `json:"config"`
	ConfigDigest  cache.Digest `json:"config_digest"`
	Targets       []string     `json:"targets"`
	// Vars are the --var overrides the plan was made with: applying it
	// with others is refused.
	Vars map[string]string `json:"vars,omitempty"`
	// Computed are the values of the computed vars the plan used: applying
	// it when one prints something else is refused.
	Computed map[string]string `json:"computed,omitempty"`
	Summary  map[string]int    `json:"summary"`
	Steps    []StepJSON        `json:"steps"`
}

// StepJSON is one step of a plan.
type StepJSON struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Status  Status   `json:"status"`
	Reason  string   `json:"reason,omitempty"`
	After   string   `json:"after,omitempty"`
	Key     string   `json:"key,omitempty"`
	Effect  string   `json:"effect,omitempty"`
	Needs   []string `json:"needs"`
	Changes []Change `json:"changes,omitempty"`
	// Source and Size, for restore: where the result comes from ("local"
	// or "remote") and how many bytes a remote one downloads.
	Source string `json:"source,omitempty"`
	Size   int64  `json:"size,omitempty"`
	// Inputs is the digest of the step's own input manifest.
	Inputs cache.Digest `json:"inputs"`
	// Sources, in saved plans only: each own input file and its digest, so
	// that a stale plan can name the file that changed.
	Sources []SourceJSON `json:"sources,omitempty"`
}

// SourceJSON is one own input file of a step in a saved plan.
type SourceJSON struct {
	Path jsonbytes.String `json:"path"`
	ID   string           `json:"id"` // its digest; " x" if executable; "link:TARGET" for a link
}

// JSON renders the plan; saved adds what apply needs to check staleness.
func (p *Plan) JSON(g *Graph, saved bool) *PlanJSON {
	out := &PlanJSON{
		FormatVersion: FormatVersion,
		KeySchema:     KeySchema,
		Config:        g.ConfigName,
		ConfigDigest:  g.configSum,
		Targets:       p.Targets,
		Vars:          g.Overrides,
		Computed:      p.Computed,
		Summary:       map[string]int{},
		Steps:         []StepJSON{},
	}
	if out.Targets == nil {
		out.Targets = []string{}
	}
	for _, s := range []Status{Run, Replace, Restore, Pending, UpToDate} {
		out.Summary[string(s)] = 0
	}
	for _, sp := range p.Steps {
		out.Summary[string(sp.Status)]++
		sj := StepJSON{
			Name:    sp.Node.Name,
			Kind:    sp.Node.Kind.Name(),
			Status:  sp.Status,
			Reason:  sp.Reason,
			After:   sp.After,
			Effect:  sp.Node.Effect(),
			Needs:   []string{},
			Changes: sp.Changes,
			Inputs:  sp.inputsDigest(),
		}
		if !sp.Key.IsZero() {
			sj.Key = sp.Key.String()
		}
		if sp.Status == Restore && sp.Cached != nil {
			sj.Source, sj.Size = "local", sp.Cached.Size()
			if sp.Cached.Remote != nil {
				sj.Source = "remote"
			}
		}
		for _, d := range sp.Node.Needs {
			sj.Needs = append(sj.Needs, d.Name)
		}
		if saved {
			sj.Sources = make([]SourceJSON, len(sp.Sources))
			for i, e := range sp.Sources {
				sj.Sources[i] = SourceJSON{jsonbytes.String(e.Path), sourceID(e.Digest.String(), e.Link, e.Executable())}
			}
		}
		out.Steps = append(out.Steps, sj)
	}
	return out
}

func sourceID(d, link string, x bool) string {
	switch {
	case link != "":
		return "link:" + link
	case x:
		return d + " x"
	}
	return d
}

func (sp *StepPlan) inputsDigest() cache.Digest {
	var b []byte
	for _, e := range sp.Sources {
		b = fmt.Appendf(b, "%s\x00%s\n", e.Path, sourceID(e.Digest.String(), e.Link, e.Executable()))
	}
	return cache.SumBytes(b)
}

// StaleError says why a saved plan no longer matches the workspace.
type StaleError struct {
	Step string
	What string
}

func (e *StaleError) Error() string {
	if e.Step == "" {
		return "saved plan is stale: " + e.What + "; run 'bottle plan' again"
	}
	return fmt.Sprintf("saved plan is stale: step %s: %s; run 'bottle plan' again", e.Step, e.What)
}

// CheckSaved compares a saved plan with a fresh one for the same targets.
func CheckSaved(saved *PlanJSON, now *PlanJSON) error {
	if saved.FormatVersion != FormatVersion {
		return &StaleError{What: fmt.Sprintf("it has format_version %d, this bottle writes %d", saved.FormatVersion, FormatVersion)}
	}
	if saved.KeySchema != now.KeySchema {
		return &StaleError{What: "it was made by a bottle with another key schema"}
	}
	if what := diffVars(saved.Vars, now.Vars); what != "" {
		return &StaleError{What: what}
	}
	if what := diffComputed(saved.Computed, now.Computed); what != "" {
		return &StaleError{What: what}
	}
	if saved.ConfigDigest != now.ConfigDigest {
		return &StaleError{What: now.Config + " changed since the plan was made"}
	}
	byName := map[string]*StepJSON{}
	for i := range now.Steps {
		byName[now.Steps[i].Name] = &now.Steps[i]
	}
	if len(saved.Steps) != len(now.Steps) {
		return &StaleError{What: fmt.Sprintf("it has %d steps, the pipeline now has %d", len(saved.Steps), len(now.Steps))}
	}
	for _, s := range saved.Steps {
		n := byName[s.Name]
		if n == nil {
			return &StaleError{Step: s.Name, What: "no longer part of the plan"}
		}
		if s.Inputs != n.Inputs {
			return &StaleError{Step: s.Name, What: diffSources(s.Sources, n.Sources)}
		}
		if s.Key != n.Key || s.Status != n.Status {
			what := fmt.Sprintf("was %s, is now %s", s.Status, n.Status)
			if s.Status == n.Status {
				what = "its key changed (a field, env value, tool or upstream result)"
			}
			return &StaleError{Step: s.Name, What: what}
		}
	}
	return nil
}

func diffSources(oldList, newList []SourceJSON) string {
	old, new := sourceMap(oldList), sourceMap(newList)
	var names []string
	for p := range old {
		names = append(names, p)
	}
	for p := range new {
		if _, ok := old[p]; !ok {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		o, inOld := old[p]
		n, inNew := new[p]
		switch {
		case !inNew:
			return "input " + p + " removed"
		case !inOld:
			return "input " + p + " added"
		case o != n:
			return "input " + p + " modified"
		}
	}
	return "its inputs changed"
}

func sourceMap(list []SourceJSON) map[string]string {
	m := make(map[string]string, len(list))
	for _, s := range list {
		m[string(s.Path)] = s.ID
	}
	return m
}

// diffComputed names the first computed var whose value differs between a
// saved plan and now, or "".
func diffComputed(saved, now map[string]string) string {
	for _, k := range slices.Sorted(maps.Keys(saved)) {
		if v, ok := now[k]; ok && v != saved[k] {
			return fmt.Sprintf("var %s: its command printed %s when the plan was made, %s now", k, strconv.Quote(saved[k]), strconv.Quote(v))
		}
	}
	return ""
}

// diffVars names the first var whose --var override differs between a
// saved plan and now, or "".
func diffVars(saved, now map[string]string) string {
	names := slices.Sorted(maps.Keys(saved))
	for k := range now {
		if _, ok := saved[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	show := func(m map[string]string, k string) string {
		if v, ok := m[k]; ok {
			return "--var " + k + "=" + strconv.Quote(v)
		}
		return "no --var " + k
	}
	for _, k := range names {
		sv, sok := saved[k]
		nv, nok := now[k]
		if sok != nok || sv != nv {
			return fmt.Sprintf("var %s: it was made with %s, this apply has %s", k, show(saved, k), show(now, k))
		}
	}
	return ""
}
