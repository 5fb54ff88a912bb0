package config

import (
	"maps"
	"slices"
)

// Checks of the secrets field. A secret's value must never decide a key, so
// a name that is a secret anywhere may not also be in an env field or in an
// ${env.NAME} reference anywhere: either would put a digest of the value in
// a key, and every result entry.

// notSecrets are variables every command gets anyway (run.Applier.env), or
// that bottle sets itself: none of them can be a secret.
var notSecrets = map[string]string{
	"PATH": "passed to every command", "HOME": "passed to every command", "USER": "passed to every command",
	"TMPDIR": "passed to every command", "LANG": "passed to every command", "TERM": "passed to every command",
	"BOTTLE_STEP": "set by bottle", "BOTTLE_WORKSPACE": "set by bottle",
}

// secretNames checks the names of one step's secrets field.
func (p *parser) secretNames(at keyPath, names []string) {
	p.hostNames(at, names, "it cannot be a secret")
}

// hostNames checks a list of host variable names (secrets, pass_env): each
// a variable name, listed once, and none of the variables bottle sets
// itself (why says what that means for this list).
func (p *parser) hostNames(at keyPath, names []string, why string) {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case !isIdent(n):
			p.fieldErr(at.String(), "%q is not a variable name", n)
		case notSecrets[n] != "":
			p.fieldErr(at.String(), "%s is %s: %s", n, notSecrets[n], why)
		case seen[n]:
			p.fieldErr(at.String(), "%q is listed twice", n)
		}
		seen[n] = true
	}
}

// checkSecrets refuses a secret's name in an env field or an ${env.NAME}
// reference, in any step.
func (p *parser) checkSecrets(f *File) {
	owner := map[string]string{} // secret name → the first step naming it
	for _, s := range f.Steps {
		for _, n := range s.Secrets {
			if _, ok := owner[n]; !ok {
				owner[n] = s.Name
			}
		}
	}
	if len(owner) == 0 {
		return
	}
	where := func(n string) string { return "steps." + owner[n] + ".secrets" }
	for _, s := range f.Steps {
		base := "steps." + s.Name
		for _, n := range s.Env {
			if _, ok := owner[n]; ok {
				p.fieldErr(base+".env", "%s is a secret (%s): a variable in env enters the key as a digest of its value; name it in secrets only", n, where(n))
			}
		}
		checkRefs := func(field string, refs []Ref) {
			for _, r := range refs {
				if _, ok := owner[r.Name]; r.Kind == RefEnv && ok {
					p.fieldErr(base+"."+field, "%s: %s is a secret (%s): a reference puts a digest of its value in the key; read it from the command's environment instead ($%s)", r, r.Name, where(r.Name), r.Name)
				}
			}
		}
		refs, _ := SpecRefs(s.Spec) // its errors are reported by crossCheck
		for _, field := range slices.Sorted(maps.Keys(refs)) {
			checkRefs(field, refs[field])
		}
		for _, v := range s.Inputs {
			rs, _ := Refs(v)
			checkRefs("inputs", rs)
		}
		rs, _ := Refs(s.Description)
		checkRefs("description", rs)
	}
}
