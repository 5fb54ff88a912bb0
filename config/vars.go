package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Vars from outside: a [vars] value may use ${env.NAME}, ${env.NAME:-DEFAULT}
// and ${var.OTHER} (never a step's results), and `--var NAME=VALUE` replaces
// a value wholesale. File.Vars keeps the values as written (the parsed-config
// cache must not hold host values); ResolveVars fills them in for one plan.

// UnsetEnvError is an ${env.NAME} without a default whose variable is unset
// or empty.
type UnsetEnvError struct{ Name string }

func (e *UnsetEnvError) Error() string {
	return fmt.Sprintf("${env.%s} is unset: set %s, or give a default: ${env.%s:-VALUE}", e.Name, e.Name, e.Name)
}

// EnvValue is the value of the ${env.X} reference r: the variable's value,
// else the default when there is one (an empty variable counts as unset, as
// in sh's ${X:-d}), else an *UnsetEnvError.
func (r Ref) EnvValue(getenv func(string) (string, bool)) (string, error) {
	v, ok := getenv(r.Name)
	if ok && v != "" {
		return v, nil
	}
	if r.HasDefault {
		return r.Default, nil
	}
	if ok && v == "" {
		// Empty is a value for a reference without a default: only the
		// default treats it as unset.
		return "", nil
	}
	return "", &UnsetEnvError{Name: r.Name}
}

// checkVarRefs refuses a var that uses a step's results, an unknown var, or
// a cycle of vars, naming the var and its place.
func (p *parser) checkVarRefs(f *File) {
	uses := map[string][]string{}
	for _, k := range slices.Sorted(maps.Keys(f.Vars)) {
		refs, err := Refs(f.Vars[k])
		if err != nil {
			continue // reported by vars
		}
		path := "vars." + k
		for _, r := range refs {
			switch r.Kind {
			case RefStep:
				p.fieldErr(path, "%s: a var cannot use a step's results", r)
			case RefVar:
				if _, ok := f.Vars[r.Name]; !ok {
					p.fieldErr(path, "%s: no var %q%s", r, r.Name, suggest(r.Name, slices.Sorted(maps.Keys(f.Vars))))
					continue
				}
				uses[k] = append(uses[k], r.Name)
			}
		}
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(k string) bool
	visit = func(k string) bool {
		switch state[k] {
		case visiting:
			i := slices.Index(stack, k)
			cycle := append(slices.Clone(stack[i:]), k)
			p.fieldErr("vars."+k, "vars refer to each other in a cycle: %s", strings.Join(cycle, " → "))
			return false
		case done:
			return true
		}
		state[k] = visiting
		stack = append(stack, k)
		ok := true
		for _, u := range uses[k] {
			if !visit(u) {
				ok = false
				break
			}
		}
		stack = stack[:len(stack)-1]
		state[k] = done
		return ok
	}
	for _, k := range slices.Sorted(maps.Keys(f.Vars)) {
		if state[k] == unseen {
			visit(k)
		}
	}
}

// ResolveVars returns the value of every var of f for one plan: overrides
// (from --var) replace a var's text and are taken literally; the others have
// their ${env.X} and ${var.Y} filled in. A var that cannot be resolved (an
// unset variable without a default) is left out of vals and its error, which
// names the var's place, is in errs: it matters only to the steps that use it.
// Overrides must name vars of f (see CheckOverrides).
//
// A computed var takes its value from computed (the output of its command,
// run by the caller); one not there yet is left out, with a
// *NotComputedError, as is every var that uses it.
func ResolveVars(f *File, overrides map[string]string, getenv func(string) (string, bool), computed map[string]string) (vals map[string]string, errs map[string]error) {
	vals = make(map[string]string, len(f.Vars))
	errs = map[string]error{}
	busy := map[string]bool{}
	var get func(k string) (string, error)
	get = func(k string) (string, error) {
		if v, ok := vals[k]; ok {
			return v, nil
		}
		if err, ok := errs[k]; ok {
			return "", err
		}
		if v, ok := overrides[k]; ok {
			vals[k] = v
			return v, nil
		}
		if _, ok := f.Computed[k]; ok {
			v, ok := computed[k]
			if !ok {
				errs[k] = &NotComputedError{Var: k}
				return "", errs[k]
			}
			vals[k] = v
			return v, nil
		}
		if busy[k] {
			return "", fmt.Errorf("vars refer to each other in a cycle through %s", k) // Parse refuses this first
		}
		busy[k] = true
		v, err := Expand(f.Vars[k], func(r Ref) (string, error) {
			switch r.Kind {
			case RefEnv:
				return r.EnvValue(getenv)
			case RefVar:
				if _, ok := f.Vars[r.Name]; !ok {
					return "", fmt.Errorf("%s: no var %q", r, r.Name)
				}
				return get(r.Name)
			}
			return "", fmt.Errorf("%s: a var cannot use a step's results", r)
		})
		busy[k] = false
		if err != nil {
			var ve *VarError
			if !asVarError(err, &ve) {
				err = &VarError{Var: k, Place: VarPlace(f, k), Err: err}
			}
			errs[k] = err
			return "", err
		}
		vals[k] = v
		return v, nil
	}
	for _, k := range slices.Sorted(maps.Keys(f.Vars)) {
		get(k)
	}
	return vals, errs
}

// NotComputedError is a computed var whose command has not run: planning
// runs it only for the steps being planned that use it.
type NotComputedError struct{ Var string }

func (e *NotComputedError) Error() string {
	return fmt.Sprintf("${var.%s} is computed by a command that has not run", e.Var)
}

// ComputedDeps returns the computed vars the value of var k comes from: k
// itself when it is one, else those its text uses, through other vars,
// sorted. A var set by --var (in overrides) comes from none.
func ComputedDeps(f *File, overrides map[string]string, k string) []string {
	if len(f.Computed) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	var walk func(k string)
	walk = func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		if _, ok := overrides[k]; ok {
			return
		}
		if _, ok := f.Computed[k]; ok {
			out = append(out, k)
			return
		}
		refs, _ := Refs(f.Vars[k])
		for _, r := range refs {
			if r.Kind == RefVar {
				walk(r.Name)
			}
		}
	}
	walk(k)
	slices.Sort(out)
	return out
}

// VarError is a var that could not be resolved, with its place.
type VarError struct {
	Var   string
	Place string // where the var is written: "bottle.toml:4:1: vars.token"
	Err   error
}

func (e *VarError) Error() string {
	return fmt.Sprintf("${var.%s}: %v (in %s)", e.Var, e.Err, e.Place)
}
func (e *VarError) Unwrap() error { return e.Err }

func asVarError(err error, ve **VarError) bool {
	v, ok := err.(*VarError)
	if ok {
		*ve = v
	}
	return ok
}

// CheckOverrides refuses an override of a var f does not declare, with
// "did you mean", and of settings.source_date_epoch's var by anything but
// seconds.
func CheckOverrides(f *File, overrides map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if _, ok := f.Vars[k]; !ok {
			return fmt.Errorf("--var %s: no var %q%s", k, k, suggest(k, slices.Sorted(maps.Keys(f.Vars))))
		}
		if k == SourceDateEpochVar && !IsEpochSeconds(overrides[k]) {
			return fmt.Errorf("--var %s: want seconds since 1970, got %q", k, overrides[k])
		}
	}
	return nil
}

// VarPlace is where var k is written, for messages:
// "bottle.toml:4:1: vars.k".
func VarPlace(f *File, k string) string {
	s := f.Name
	if p := f.VarPos[k]; p.IsValid() {
		s += fmt.Sprintf(":%d:%d", p.Line, p.Col)
	}
	return s + ": " + varPath(k)
}
