package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// RefKind is what a reference points at.
type RefKind int

const (
	RefVar  RefKind = iota // ${var.NAME}
	RefEnv                 // ${env.NAME}
	RefStep                // ${step.NAME.FIELD}
)

// Ref is one ${...} reference in a string.
type Ref struct {
	Kind  RefKind
	Name  string
	Field string // RefStep only
	// HasDefault is set for ${env.NAME:-DEFAULT}: Default stands in when
	// the variable is unset or empty, as in sh. The default is literal
	// text: it holds no references and no }.
	HasDefault bool
	Default    string
}

func (r Ref) String() string {
	switch r.Kind {
	case RefVar:
		return "${var." + r.Name + "}"
	case RefEnv:
		if r.HasDefault {
			return "${env." + r.Name + ":-" + r.Default + "}"
		}
		return "${env." + r.Name + "}"
	}
	return "${step." + r.Name + "." + r.Field + "}"
}

// isIdent reports whether s is a var or environment variable name:
// [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// isStepName reports whether s is a step name: [a-z][a-z0-9_-]*.
func isStepName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return false
		}
	}
	return s != ""
}

// isField reports whether s can name a step's result: [a-z][a-z0-9_]*.
func isField(s string) bool {
	return isStepName(s) && !strings.Contains(s, "-")
}

// scan walks s, calling lit for literal text and ref for each reference.
func scan(s string, lit func(string), ref func(Ref) error) error {
	return scanText(s, false, lit, func(r Ref, _ string) error { return ref(r) })
}

// scanText is scan that also hands ref the reference's text; with keep,
// lit gets $${ as written rather than the ${ it stands for.
func scanText(s string, keep bool, lit func(string), ref func(r Ref, text string) error) error {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			lit(s)
			return nil
		}
		if i > 0 && s[i-1] == '$' {
			// $${ is a literal ${.
			if keep {
				lit(s[:i+2])
			} else {
				lit(s[:i-1] + "${")
			}
			s = s[i+2:]
			continue
		}
		lit(s[:i])
		rest := s[i+2:]
		var kind RefKind
		var body string
		switch {
		case strings.HasPrefix(rest, "var."):
			kind, body = RefVar, rest[len("var."):]
		case strings.HasPrefix(rest, "env."):
			kind, body = RefEnv, rest[len("env."):]
		case strings.HasPrefix(rest, "step."):
			kind, body = RefStep, rest[len("step."):]
		default:
			// Not ours (a shell variable such as ${HOME}): left alone.
			lit("${")
			s = rest
			continue
		}
		end := strings.IndexByte(body, '}')
		if end < 0 {
			return fmt.Errorf("unterminated reference %q: add the closing }", "${"+truncate(rest, 30))
		}
		inner := body[:end]
		r := Ref{Kind: kind}
		switch kind {
		case RefEnv:
			name, def, hasDef := strings.Cut(inner, ":-")
			if !isIdent(name) {
				return fmt.Errorf("bad reference %q: want ${env.NAME} or ${env.NAME:-default}, NAME of letters, digits and _", "${"+rest[:len(rest)-len(body)+end+1])
			}
			if strings.Contains(def, "${") {
				return fmt.Errorf("bad reference %q: a default is literal text and cannot hold a reference", "${"+rest[:len(rest)-len(body)+end+1])
			}
			r.Name, r.Default, r.HasDefault = name, def, hasDef
		case RefVar:
			if !isIdent(inner) && inner != SourceDateEpochVar {
				return fmt.Errorf("bad reference %q: want a name of letters, digits and _", "${"+rest[:len(rest)-len(body)+end+1])
			}
			r.Name = inner
		case RefStep:
			name, field, ok := cutStepRef(inner)
			if !ok {
				return fmt.Errorf("bad reference %q: want ${step.NAME.FIELD} or, for one instance of a matrix step, ${step.NAME[v1,...].FIELD}", "${step."+inner+"}")
			}
			r.Name, r.Field = name, field
		}
		if err := ref(r, "${"+rest[:len(rest)-len(body)+end+1]); err != nil {
			return err
		}
		s = body[end+1:]
	}
}

// cutStepRef splits the inside of ${step.NAME.FIELD}, where NAME may be an
// instance of a matrix step, NAME[v1,...].
func cutStepRef(inner string) (name, field string, ok bool) {
	if i := strings.IndexByte(inner, '['); i >= 0 {
		j := strings.IndexByte(inner, ']')
		if j < i || !strings.HasPrefix(inner[j+1:], ".") {
			return "", "", false
		}
		name, field = inner[:j+1], inner[j+2:]
		base, vals, _ := CutInstance(name)
		if !isStepName(base) || !isField(field) {
			return "", "", false
		}
		for _, v := range vals {
			if !isMatrixValue(v) {
				return "", "", false
			}
		}
		return name, field, true
	}
	name, field, ok = strings.Cut(inner, ".")
	return name, field, ok && isStepName(name) && isField(field)
}

// rewriteRefs returns s with each reference replaced by f's text for it, or
// kept as written when f returns ""; everything else, $${ included, is kept
// as written.
func rewriteRefs(s string, f func(Ref) (string, error)) (string, error) {
	var b strings.Builder
	err := scanText(s, true, func(l string) { b.WriteString(l) }, func(r Ref, text string) error {
		v, err := f(r)
		if err != nil {
			return err
		}
		if v == "" {
			v = text
		}
		b.WriteString(v)
		return nil
	})
	return b.String(), err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Refs returns the references in s, in order.
func Refs(s string) ([]Ref, error) {
	var refs []Ref
	err := scan(s, func(string) {}, func(r Ref) error {
		refs = append(refs, r)
		return nil
	})
	return refs, err
}

// Expand replaces every reference in s by f's value, turns $${ into ${ and
// leaves any other ${...} alone.
func Expand(s string, f func(Ref) (string, error)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	err := scan(s, func(l string) { b.WriteString(l) }, func(r Ref) error {
		v, err := f(r)
		if err != nil {
			return err
		}
		b.WriteString(v)
		return nil
	})
	return b.String(), err
}

// SpecRefs returns the references in every string of a spec struct (or
// pointer to one), by the field's TOML name.
func SpecRefs(spec any) (map[string][]Ref, error) {
	var out map[string][]Ref
	v := reflect.Indirect(reflect.ValueOf(spec))
	if v.Kind() != reflect.Struct {
		return out, nil
	}
	for _, f := range tomlFields(v.Type()) {
		name := f.name
		var err error
		walkStrings(v.Field(f.index), func(s string) {
			if err != nil {
				return
			}
			var rs []Ref
			rs, err = Refs(s)
			if len(rs) > 0 {
				if out == nil {
					out = map[string][]Ref{}
				}
				out[name] = append(out[name], rs...)
			}
		})
		if err != nil {
			return nil, &FieldError{Field: name, Msg: err.Error()}
		}
	}
	return out, nil
}

func walkStrings(v reflect.Value, f func(string)) {
	switch v.Kind() {
	case reflect.String:
		f(v.String())
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), f)
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			walkStrings(v.MapIndex(k), f)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), f)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walkStrings(v.Field(i), f)
		}
	}
}

// SpecIsLiteral reports whether no string of spec (a pointer to a struct)
// holds "${": ExpandSpec would return an equal copy of it, whatever the
// values. Most specs are such, and are used as they are.
func SpecIsLiteral(spec any) bool {
	literal := true
	walkStrings(reflect.ValueOf(spec), func(s string) {
		literal = literal && !strings.Contains(s, "${")
	})
	return literal
}

// ExpandSpec returns a deep copy of spec (a pointer to a struct) with every
// string expanded by f. Map keys are kept as written.
func ExpandSpec(spec any, f func(Ref) (string, error)) (any, error) {
	v := reflect.ValueOf(spec)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("spec must be a pointer to a struct, not %T", spec)
	}
	out := reflect.New(v.Elem().Type())
	var err error
	copyExpand(out.Elem(), v.Elem(), func(s string) string {
		if err != nil {
			return s
		}
		var r string
		r, err = Expand(s, f)
		return r
	})
	return out.Interface(), err
}

func copyExpand(dst, src reflect.Value, f func(string) string) {
	switch src.Kind() {
	case reflect.String:
		dst.SetString(f(src.String()))
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			copyExpand(s.Index(i), src.Index(i), f)
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for _, k := range src.MapKeys() {
			e := reflect.New(src.Type().Elem()).Elem()
			copyExpand(e, src.MapIndex(k), f)
			m.SetMapIndex(k, e)
		}
		dst.Set(m)
	case reflect.Struct:
		// Copy the whole struct first, so that unexported fields, which
		// reflection cannot set one by one, are kept too.
		dst.Set(src)
		for i := 0; i < src.NumField(); i++ {
			if dst.Field(i).CanSet() {
				copyExpand(dst.Field(i), src.Field(i), f)
			}
		}
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyExpand(p.Elem(), src.Elem(), f)
		dst.Set(p)
	default:
		dst.Set(src)
	}
}

type tomlField struct {
	index int
	name  string
}

var tomlFieldCache sync.Map // reflect.Type -> []tomlField

// tomlFields lists the fields of struct type t that have a TOML key.
func tomlFields(t reflect.Type) []tomlField {
	if fs, ok := tomlFieldCache.Load(t); ok {
		return fs.([]tomlField)
	}
	var fs []tomlField
	for i := 0; i < t.NumField(); i++ {
		if name := tomlName(t.Field(i)); name != "" {
			fs = append(fs, tomlField{i, name})
		}
	}
	tomlFieldCache.Store(t, fs)
	return fs
}

// tomlName is a struct field's TOML key, or "" when it has none.
func tomlName(sf reflect.StructField) string {
	if !sf.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(sf.Name)
	}
	return name
}
