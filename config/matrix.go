package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Matrix steps. A step written with
//
//	matrix = { goarch = ["amd64", "arm64"], goos = ["linux", "darwin"] }
//
// stands for one step per combination of values, its instances, named
// NAME[v1,v2] with the values in the order the keys are written; the first
// key varies slowest. Parse expands them: File.Steps holds the instances,
// never the step as written, each with its Matrix. Before a table is read,
// ${matrix.KEY} is replaced in every string it holds, so an instance is an
// ordinary step from then on.
//
// Naming a matrix step means every instance; NAME[v1,...] means one, and
// gives one value per key. A step that needs a matrix step sharing keys with
// its own matrix needs only the instances with equal values of the shared
// keys (pairing: package[arm64] needs cross[arm64,linux] and
// cross[arm64,darwin], not cross[amd64,...]); ${step.NAME.FIELD} must pair
// with exactly one instance, else it names one: ${step.NAME[v1,...].FIELD}.

// Matrix says which instance of a matrix step a Step is.
type Matrix struct {
	Base   string   // the step as written, e.g. "cross"
	Keys   []string // the matrix's keys, in the order written
	Values []string // this instance's value of each key
}

// Value returns the instance's value of key, and whether it has the key.
func (m *Matrix) Value(key string) (string, bool) {
	if m == nil {
		return "", false
	}
	i := slices.Index(m.Keys, key)
	if i < 0 {
		return "", false
	}
	return m.Values[i], true
}

// maxInstances bounds the instances of one matrix step: a few keys of a
// few values each are a build matrix; more is a mistake that would take the
// memory of the machine.
const maxInstances = 4096

// InstanceName is the name of the instance of base with values: base[v1,v2].
func InstanceName(base string, values []string) string {
	return base + "[" + strings.Join(values, ",") + "]"
}

// CutInstance splits an instance name "cross[arm64,linux]" into its step
// and values; ok is false for a name without brackets. It checks the form
// only, not that the instance exists.
func CutInstance(name string) (base string, values []string, ok bool) {
	i := strings.IndexByte(name, '[')
	if i < 0 || !strings.HasSuffix(name, "]") {
		return name, nil, false
	}
	return name[:i], strings.Split(name[i+1:len(name)-1], ","), true
}

// isMatrixValue reports whether s may be a matrix value: it becomes part of
// a step's name, so [A-Za-z0-9._-]+.
func isMatrixValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return s != ""
}

// matrixDef is a matrix as written.
type matrixDef struct {
	keys   []string
	values [][]string // of each key, in the order written
	all    []*Matrix  // made by instances, once
}

// instances returns every combination, the first key outermost. The
// result is shared: it must not be changed.
func (d *matrixDef) instances(base string) []*Matrix {
	if d.all == nil || d.all[0].Base != base {
		d.all = d.combine(base)
	}
	return d.all
}

func (d *matrixDef) combine(base string) []*Matrix {
	var out []*Matrix
	idx := make([]int, len(d.keys))
	for {
		vals := make([]string, len(d.keys))
		for k, i := range idx {
			vals[k] = d.values[k][i]
		}
		out = append(out, &Matrix{Base: base, Keys: d.keys, Values: vals})
		k := len(idx) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < len(d.values[k]) {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return out
		}
	}
}

// matrixKeyOrder finds the order in which each step's matrix keys are
// written, by step name: a TOML table forgets it, the document's keys do not.
func matrixKeyOrder(keys []toml.Key) map[string][]string {
	var out map[string][]string
	for _, k := range keys {
		if len(k) == 4 && k[0] == "steps" && k[2] == "matrix" {
			if out == nil {
				out = map[string][]string{}
			}
			out[k[1]] = append(out[k[1]], k[3])
		}
	}
	return out
}

// matrix reads the matrix field of step name. order is the order its keys
// are written in. It returns nil after reporting any problem.
func (p *parser) matrix(name string, v any, order []string) *matrixDef {
	path := "steps." + name + ".matrix"
	m, ok := v.(map[string]any)
	if !ok {
		p.fieldErr(path, "want a table of value lists, e.g. { goarch = [\"amd64\", \"arm64\"] }, got %s", describe(v))
		return nil
	}
	if len(m) == 0 {
		p.fieldErr(path, "an empty matrix makes no step: give each key its values, e.g. { goarch = [\"amd64\", \"arm64\"] }")
		return nil
	}
	keys := slices.DeleteFunc(slices.Clone(order), func(k string) bool { _, ok := m[k]; return !ok })
	keys = slices.Compact(keys)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k) // not found in the document's keys: a guard
		}
	}
	d := &matrixDef{keys: keys}
	good, count := true, 1
	for _, k := range keys {
		kp := path + "." + k
		if !isIdent(k) {
			p.fieldErr(kp, "bad matrix key %q: use letters, digits and _, starting with a letter or _", k)
			good = false
			continue
		}
		list, ok := m[k].([]any)
		if !ok {
			if s, isStr := m[k].(string); isStr {
				p.fieldErr(kp, "want a list of values, got a string (write [%q])", s)
			} else {
				p.fieldErr(kp, "want a list of values, e.g. [\"amd64\", \"arm64\"], got %s", describe(m[k]))
			}
			good = false
			continue
		}
		if len(list) == 0 {
			p.fieldErr(kp, "an empty list makes no step: give at least one value")
			good = false
			continue
		}
		vals := make([]string, 0, len(list))
		for i, e := range list {
			s, ok := e.(string)
			switch {
			case !ok:
				p.fieldErr(kp, "item %d: want a string, got %s", i+1, describe(e))
			case !isMatrixValue(s):
				p.fieldErr(kp, "item %d: bad value %q: use letters, digits, '.', '_' and '-' (a value becomes part of the step's name)", i+1, s)
			case slices.Contains(vals, s):
				p.fieldErr(kp, "%q is listed twice", s)
			default:
				vals = append(vals, s)
				continue
			}
			good = false
		}
		d.values = append(d.values, vals)
		count *= len(vals)
		if count > maxInstances {
			p.fieldErr(path, "the matrix makes more than %d steps: split it", maxInstances)
			return nil
		}
	}
	if !good {
		return nil
	}
	return d
}

// expandRaw returns the value v of a step's table (at path) with every
// ${matrix.KEY} replaced by inst's value, and every ${step.B.FIELD} naming a
// matrix step B replaced by the one instance of B that inst pairs with
// (inst is nil for a step without matrix, which pairs with every
// instance), and whether it changed anything. It copies only what changes,
// and reports what it cannot do.
func (p *parser) expandRaw(path string, v any, inst *Matrix) (any, bool) {
	switch x := v.(type) {
	case string:
		n := p.expandString(path, x, inst)
		return n, n != x
	case []any:
		var out []any
		for i, e := range x {
			if n, changed := p.expandRaw(path, e, inst); changed {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = n
			}
		}
		if out != nil {
			return out, true
		}
	case map[string]any:
		var out map[string]any
		for k, e := range x {
			if n, changed := p.expandRaw(path+"."+k, e, inst); changed {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = n
			}
		}
		if out != nil {
			return out, true
		}
	}
	return v, false
}

func (p *parser) expandString(path, s string, inst *Matrix) string {
	if strings.Contains(s, "${matrix.") {
		v, err := expandMatrix(s, inst)
		if err != nil {
			p.fieldErr(path, "%v", err)
			return s
		}
		s = v
	}
	if len(p.matrices) == 0 || !strings.Contains(s, "${step.") {
		return s
	}
	v, err := rewriteRefs(s, func(r Ref) (string, error) {
		d := p.matrices[r.Name]
		if r.Kind != RefStep || d == nil {
			return "", nil
		}
		var paired []*Matrix
		for _, m := range d.instances(r.Name) {
			if pairs(inst, m) {
				paired = append(paired, m)
			}
		}
		switch len(paired) {
		case 0:
			return "", fmt.Errorf("%s: no instance of %s has %s", r, r.Name, valuesOf(inst, sharedKeys(inst, d.instances(r.Name)[0])))
		case 1:
			return "${step." + InstanceName(r.Name, paired[0].Values) + "." + r.Field + "}", nil
		}
		eg := "${step." + InstanceName(r.Name, paired[0].Values) + "." + r.Field + "}"
		if shared := sharedKeys(inst, paired[0]); len(shared) > 0 {
			return "", fmt.Errorf("%s: %d instances of %s have this step's %s: name one, e.g. %s", r, len(paired), r.Name, strings.Join(shared, ", "), eg)
		}
		return "", fmt.Errorf("%s: %s is a matrix step of %d instances: name one, e.g. %s", r, r.Name, len(paired), eg)
	})
	if err != nil {
		p.fieldErr(path, "%v", err)
		return s
	}
	return v
}

// expandMatrix replaces each ${matrix.KEY} of s by inst's value of KEY;
// $${ and other ${...} are kept as written.
func expandMatrix(s string, inst *Matrix) (string, error) {
	const open = "${matrix."
	var b strings.Builder
	for {
		i := strings.Index(s, open)
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${, left for Expand to turn into one.
			b.WriteString(s[:i+len(open)])
			s = s[i+len(open):]
			continue
		}
		b.WriteString(s[:i])
		rest := s[i+len(open):]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated reference %q: add the closing }", truncate(s[i:], 40))
		}
		key, ref := rest[:end], s[i:i+len(open)+end+1]
		if inst == nil {
			return "", fmt.Errorf("%s: this step has no matrix: add one, e.g. matrix = { %s = [\"a\", \"b\"] }", ref, poolExample(key))
		}
		v, ok := inst.Value(key)
		if !ok {
			return "", fmt.Errorf("%s: no matrix key %q%s (keys: %s)", ref, key, suggest(key, inst.Keys), strings.Join(inst.Keys, ", "))
		}
		b.WriteString(v)
		s = rest[end+1:]
	}
}

// pairs reports whether b is an instance a step of matrix a needs when it
// needs b's step: b has a's value of every key they share. A step without
// matrix (a nil) needs every instance.
func pairs(a, b *Matrix) bool {
	if a == nil || b == nil {
		return true
	}
	for i, k := range b.Keys {
		if v, ok := a.Value(k); ok && v != b.Values[i] {
			return false
		}
	}
	return true
}

// valuesOf writes m's values of keys: "goarch = riscv64, goos = linux".
func valuesOf(m *Matrix, keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		v, _ := m.Value(k)
		parts[i] = k + " = " + v
	}
	return strings.Join(parts, ", ")
}

// sharedKeys are the keys of b that a has too, in b's order.
func sharedKeys(a, b *Matrix) []string {
	var out []string
	if a == nil || b == nil {
		return nil
	}
	for _, k := range b.Keys {
		if _, ok := a.Value(k); ok {
			out = append(out, k)
		}
	}
	return out
}

// refuseMatrix reports ${matrix.KEY} in a value that is not a step's (a
// var, a group): only a matrix step has values for it.
func (p *parser) refuseMatrix(path string, v any, what string) {
	switch x := v.(type) {
	case string:
		if _, err := expandMatrix(x, nil); err != nil {
			if i := strings.Index(x, "${matrix."); i >= 0 {
				ref, _, _ := strings.Cut(x[i:], "}")
				p.fieldErr(path, "%s}: %s cannot use a matrix value: only a step with matrix has one", ref, what)
				return
			}
			p.fieldErr(path, "%v", err)
		}
	case []any:
		for _, e := range x {
			p.refuseMatrix(path, e, what)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p.refuseMatrix(path+"."+k, x[k], what)
		}
	}
}

// Instances returns the instances of the matrix step base, in file order,
// or nil when base is no matrix step.
func (f *File) Instances(base string) []*Step {
	var out []*Step
	for _, s := range f.Steps {
		if s.Matrix != nil && s.Matrix.Base == base {
			out = append(out, s)
		}
	}
	return out
}

// Select returns the steps name stands for where steps are named (the
// command line, settings.default, a group): a step, or one instance
// NAME[v1,...]; every instance of a matrix step NAME; a group's members,
// each of these in turn. An unknown name is an error naming what exists.
func (f *File) Select(name string) ([]string, error) { return f.Needed(nil, name) }

// Needed returns the steps that st's need on name stands for: as Select,
// but an instance needing a matrix step that shares keys with its own
// matrix needs only the instances with the same values of those keys. st
// may be nil (a need from no matrix).
func (f *File) Needed(st *Step, name string) ([]string, error) {
	var self *Matrix
	if st != nil {
		self = st.Matrix
	}
	leaves := []string{name}
	if f.Group(name) != nil {
		leaves = f.Members(name)
	}
	var out []string
	for _, n := range leaves {
		if f.Step(n) != nil {
			out = append(out, n)
			continue
		}
		insts := f.Instances(n)
		if len(insts) == 0 {
			return nil, f.unknown(n)
		}
		for _, in := range insts {
			if pairs(self, in.Matrix) {
				out = append(out, in.Name)
			}
		}
	}
	return out, nil
}

// unknown is the error for a name that is no step, instance or group.
func (f *File) unknown(name string) error {
	base, vals, ok := CutInstance(name)
	if ok {
		insts := f.Instances(base)
		if len(insts) == 0 {
			if f.Step(base) != nil {
				return fmt.Errorf("step %s has no matrix: name it %s", base, base)
			}
			return fmt.Errorf("no step %q%s", base, suggest(base, f.names()))
		}
		names := make([]string, len(insts))
		for i, in := range insts {
			names[i] = in.Name
		}
		m := insts[0].Matrix
		if len(vals) != len(m.Keys) {
			return fmt.Errorf("no instance %q: give one value per key of %s's matrix (%s), e.g. %s; %s", name, base, strings.Join(m.Keys, ", "), names[0], listInstances(names))
		}
		return fmt.Errorf("no instance %q%s; %s", name, suggest(name, names), listInstances(names))
	}
	return fmt.Errorf("no step %q%s", name, suggest(name, f.names()))
}

func listInstances(names []string) string {
	const most = 8
	if len(names) > most {
		return fmt.Sprintf("its instances: %s and %d more", strings.Join(names[:most], ", "), len(names)-most)
	}
	return "its instances: " + strings.Join(names, ", ")
}

// names are the names a user may give: steps, matrix steps and instances,
// groups.
func (f *File) names() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range f.Steps {
		if s.Matrix != nil && !seen[s.Matrix.Base] {
			seen[s.Matrix.Base] = true
			out = append(out, s.Matrix.Base)
		}
		out = append(out, s.Name)
	}
	for _, g := range f.Groups {
		out = append(out, g.Name)
	}
	return out
}

// readMatrices reads the matrix of every step written with one, before any
// step is read: a step's references pair with the instances of others.
// order holds the order each step's matrix keys are written in.
func (p *parser) readMatrices(steps map[string]any, order map[string][]string) {
	for _, name := range slices.Sorted(maps.Keys(steps)) {
		tm, ok := steps[name].(map[string]any)
		if !ok || tm["kind"] == GroupKind || !isStepName(name) {
			continue
		}
		mv, ok := tm["matrix"]
		if !ok {
			continue
		}
		if d := p.matrix(name, mv, order[name]); d != nil {
			if p.matrices == nil {
				p.matrices = map[string]*matrixDef{}
			}
			p.matrices[name] = d
		}
	}
}

// steps reads the table of the step written as name: that step, or each
// instance of a matrix step, in the order of its values.
func (p *parser) steps(name string, v any) []*Step {
	tm, isTable := v.(map[string]any)
	if _, ok := tm["matrix"]; !ok || !isStepName(name) {
		if isTable && (p.matrixRefs || len(p.matrices) > 0) {
			v, _ = p.expandRaw("steps."+name, tm, nil)
		}
		if st := p.step(name, name, v); st != nil {
			return []*Step{st}
		}
		return nil
	}
	d := p.matrices[name]
	if d == nil {
		return nil // its matrix is reported
	}
	tm = maps.Clone(tm)
	delete(tm, "matrix")
	var out []*Step
	for _, m := range d.instances(name) {
		in := InstanceName(name, m.Values)
		iv, _ := p.expandRaw("steps."+in, tm, m)
		if st := p.step(in, name, iv); st != nil {
			st.Matrix = m
			out = append(out, st)
		}
	}
	return out
}

// count is the number of instances.
func (d *matrixDef) count() int {
	n := 1
	for _, v := range d.values {
		n *= len(v)
	}
	return n
}

// foldInstances reports a problem that every instance of a matrix step has
// once, at the step as written, rather than once per instance; a problem
// of some instances only stays with each of them.
func (p *parser) foldInstances() {
	type problem struct {
		pos       Pos
		path, msg string
	}
	seen := map[problem]map[string]bool{} // instances that have it
	for _, e := range p.errs {
		if w := writtenPath(e.Path); w != e.Path {
			k := problem{e.Pos, w, e.Msg}
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			seen[k][e.Path] = true
		}
	}
	if len(seen) == 0 {
		return
	}
	out := p.errs[:0]
	done := map[problem]bool{}
	kept := map[Error]bool{}
	for _, e := range p.errs {
		w := writtenPath(e.Path)
		if w == e.Path {
			out = append(out, e)
			continue
		}
		k := problem{e.Pos, w, e.Msg}
		base, _, _ := strings.Cut(strings.TrimPrefix(e.Path, "steps."), "[")
		if d := p.matrices[base]; d != nil && len(seen[k]) == d.count() {
			if !done[k] {
				done[k] = true
				out = append(out, &Error{File: e.File, Pos: e.Pos, Path: w, Msg: e.Msg})
			}
			continue
		}
		if !kept[*e] {
			kept[*e] = true
			out = append(out, e)
		}
	}
	p.errs = out
}

// checkName says what is wrong with n where a step is named (needs, a
// group, settings.default), or "": it must be a step or group written in
// the file (declared), or an instance of a matrix step. A need of an
// instance (from) on a matrix step must pair with some instance of it.
func (p *parser) checkName(f *File, declared map[string]any, n string, from *Matrix, others func() []string) string {
	if declared[n] == nil {
		if _, _, ok := CutInstance(n); !ok {
			return fmt.Sprintf("no step %q%s", n, suggest(n, others()))
		}
		// Every instance of a step asks about the same names: answer once.
		msg, ok := p.checked[n]
		if !ok {
			msg = p.checkInstance(f, declared, n)
			if p.checked == nil {
				p.checked = map[string]string{}
			}
			p.checked[n] = msg
		}
		return msg
	}
	if d := p.matrices[n]; d != nil && from != nil {
		insts := d.instances(n)
		for _, m := range insts {
			if pairs(from, m) {
				return ""
			}
		}
		return fmt.Sprintf("no instance of %s has %s", n, valuesOf(from, sharedKeys(from, insts[0])))
	}
	return ""
}

// checkInstance is checkName for a name that is no step written in the
// file: it must be an instance.
func (p *parser) checkInstance(f *File, declared map[string]any, n string) string {
	base, _, _ := CutInstance(n)
	if declared[base] == nil {
		return fmt.Sprintf("no step %q%s", n, suggest(n, slices.Sorted(maps.Keys(declared))))
	}
	if p.matrices[base] == nil {
		if tm, _ := declared[base].(map[string]any); tm["matrix"] != nil {
			return "" // its matrix is reported
		}
		return fmt.Sprintf("step %s has no matrix: name it %s", base, base)
	}
	if p.stepNames == nil {
		p.stepNames = make(map[string]bool, len(f.Steps))
		for _, s := range f.Steps {
			p.stepNames[s.Name] = true
		}
	}
	if p.stepNames[n] || len(f.Instances(base)) == 0 {
		return "" // an instance, or a step too broken to keep
	}
	return f.unknown(n).Error()
}
