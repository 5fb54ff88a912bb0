package config

import (
	"maps"
	"slices"
	"strings"
)

// Checks of the pass_env and environment fields. A step's command gets
// variables from four lists, each with its own rule for the key:
//
//	env          host values, digests in the key
//	pass_env     host values, not in the key (DOCKER_HOST, SSH_AUTH_SOCK, proxies)
//	environment  literal values from the file, in the key
//	secrets      host values, names only in the key, masked
//
// A name may stand in one list of a step only: in two, its place in the key
// would depend on which list wins.

// passEnvNames checks the names of one step's pass_env field.
func (p *parser) passEnvNames(at keyPath, names []string) {
	p.hostNames(at, names, "no need to pass it")
}

// environment decodes one step's environment table: names as in env,
// string values.
func (p *parser) environment(at keyPath, val any) map[string]string {
	m, ok := val.(map[string]any)
	if !ok {
		p.fieldErr(at.String(), "want a table of strings, e.g. { CGO_ENABLED = \"0\" }, got %s", describe(val))
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s, ok := m[k].(string)
		switch {
		case !isIdent(k):
			p.fieldErr(at.String(), "%q is not a variable name", k)
		case strings.HasPrefix(k, "BOTTLE_"):
			p.fieldErr(at.String(), "%s: names starting with BOTTLE_ are set by bottle", k)
		case !ok:
			p.fieldErr(at.String()+"."+k, "want a string, got %s", describe(m[k]))
		default:
			out[k] = s
		}
	}
	return out
}

// envOverlap refuses a name in two of a step's env, pass_env, environment
// and secrets (env and secrets together are checkSecrets' to report).
func (p *parser) envOverlap(base string, st *Step) {
	first := map[string]string{} // name → the first field naming it
	note := func(field, n string) {
		f, ok := first[n]
		if ok && f == "env" && field == "secrets" {
			return // checkSecrets says more
		}
		if ok && f != field {
			p.fieldErr(base+"."+field, "%s is also in %s: name a variable in one of env, pass_env, environment and secrets", n, f)
			return
		}
		first[n] = field
	}
	for _, n := range st.Env {
		note("env", n)
	}
	for _, n := range st.PassEnv {
		note("pass_env", n)
	}
	for _, n := range slices.Sorted(maps.Keys(st.Environment)) {
		note("environment", n)
	}
	for _, n := range st.Secrets {
		note("secrets", n)
	}
}

// environmentRefs checks the references in a step's environment values:
// ${var.NAME} only. A host value belongs in env or pass_env, which say
// whether it enters the key; a step's result in the command's own fields.
func (p *parser) environmentRefs(base string, s *Step, checkRef func(field string, r Ref)) {
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		rs, err := Refs(s.Environment[k])
		if err != nil {
			p.fieldErr(base+".environment."+k, "%v", err)
			continue
		}
		for _, r := range rs {
			switch r.Kind {
			case RefVar:
				checkRef("environment", r)
			case RefEnv:
				p.fieldErr(base+".environment."+k, "%s: environment holds literal values and ${var.NAME}; to pass a host variable name it in env (enters the key) or pass_env (does not)", r)
			default:
				p.fieldErr(base+".environment."+k, "%s: environment holds literal values and ${var.NAME}; use a step's results in the command itself", r)
			}
		}
	}
}
