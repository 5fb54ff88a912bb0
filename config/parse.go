package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

var commonFields = []string{"kind", "needs", "inputs", "env", "pass_env", "environment", "secrets", "tools", "description", "timeout", "always", "pool", "matrix"}

// parser collects errors while it reads one file.
type parser struct {
	name      string
	pos       *posTree
	errs      Errors
	kinds     map[string]KindInfo
	fields    map[reflect.Type]*specFields
	varNames  map[string]bool       // every var written, also those with errors
	poolNames map[string]bool       // every pool written, also those with errors
	matrices  map[string]*matrixDef // every matrix step written whose matrix is good, by name
	// matrixRefs is set when the file holds ${matrix. anywhere: only then
	// has a step without matrix anything to refuse.
	matrixRefs bool
	checked    map[string]string // checkName's answer for each name that is no step written
	stepNames  map[string]bool   // the steps kept, instances too, once checkName needs them
}

// specFields is what the parser needs to know of a spec type.
type specFields struct {
	index map[string]int // field index by TOML name
	known []string       // common fields, then the spec's, for "did you mean"
}

func (p *parser) specFields(spec any) *specFields {
	t := reflect.TypeOf(spec)
	if sf, ok := p.fields[t]; ok {
		return sf
	}
	sf := &specFields{index: specFieldIndex(spec)}
	sf.known = append(append([]string{}, commonFields...), slices.Sorted(maps.Keys(sf.index))...)
	if p.fields == nil {
		p.fields = map[reflect.Type]*specFields{}
	}
	p.fields[t] = sf
	return sf
}

func (p *parser) errorf(path string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.name, Pos: p.posOf(path), Path: parentPath(path), Msg: fmt.Sprintf(format, args...)})
}

// fieldErr reports a problem with the value at path: the path names the
// field in full.
func (p *parser) fieldErr(path string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.name, Pos: p.posOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// posOf finds the dotted path, or else the nearest enclosing table. A path
// in an instance of a matrix step, steps.cross[arm64].run, is where the
// step is written: steps.cross.run.
func (p *parser) posOf(path string) Pos { return p.pos.find(writtenPath(path)) }

// writtenPath is path with the instance of a matrix step taken out:
// steps.cross[arm64,linux].run becomes steps.cross.run.
func writtenPath(path string) string {
	rest, ok := strings.CutPrefix(path, "steps.")
	if !ok {
		return path
	}
	i := strings.IndexAny(rest, ".[")
	if i < 0 || rest[i] != '[' {
		return path
	}
	j := strings.IndexByte(rest[i:], ']')
	if j < 0 {
		return path
	}
	return "steps." + rest[:i] + rest[i+j+1:]
}

// keyPath names a key of a table, e.g. {"steps.a", "run"}, without
// building the dotted string until an error needs it.
type keyPath struct{ table, key string }

func (k keyPath) String() string { return k.table + "." + k.key }

func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// Parse reads a bottle.toml. name is the file name used in messages; kinds
// are the step kinds by name. It checks everything that needs only the file:
// names, types, unknown fields, needs and references naming what exists,
// input patterns; not cycles, nor what the patterns match. The error, if any,
// is always an Errors listing every problem found, each with its position
// where it can be known. The File's strings may share data's memory: data
// must not change afterwards.
func Parse(name string, data []byte, kinds map[string]KindInfo) (*File, error) {
	// The keys' order is only for matrices: a large config has none.
	raw, keys, err := decodeTOML(data, bytes.Contains(data, []byte("matrix")))
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Errors{{File: name, Pos: Pos{pe.Position.Line, max(pe.Position.Col, 1)}, Msg: tomlMessage(pe.Message)}}
		}
		return nil, Errors{{File: name, Msg: err.Error()}}
	}
	pos := keyPositions(data)
	p := &parser{name: name, kinds: kinds, pos: pos}
	f := &File{Name: name, Vars: map[string]string{}, VarPos: map[string]Pos{}}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		switch k {
		case "settings", "vars", "steps":
		default:
			if why := operatorOnly(k); why != "" {
				p.fieldErr(k, "%s", why)
				continue
			}
			what := "table"
			if _, ok := raw[k].(map[string]any); !ok {
				what = "key"
			}
			p.errorf(k, "unknown %s %q%s", what, k, suggest(k, []string{"settings", "vars", "steps"}))
		}
	}
	if v, ok := raw["settings"]; ok {
		p.settings(v, &f.Settings)
	}
	p.addSourceDateEpochVar(f) // before [vars], which may use it
	if v, ok := raw["vars"]; ok {
		p.vars(v, f)
		p.refuseMatrix("vars", v, "a var")
	}
	// declared holds every step written, also those too broken to keep, so
	// that needing one is not reported a second time: the table of a step
	// with a matrix (checkInstance reads it), true for the others.
	var declared map[string]any
	if v, ok := raw["steps"]; ok {
		if m, ok := p.table("steps", v); ok {
			declared = make(map[string]any, len(m))
			p.matrixRefs = bytes.Contains(data, []byte("${matrix."))
			if bytes.Contains(data, []byte("matrix")) {
				p.readMatrices(m, matrixKeyOrder(keys))
			}
			for k, v := range m {
				tm, isTable := v.(map[string]any)
				declared[k] = true
				if isTable && tm["matrix"] != nil {
					declared[k] = tm
				}
				if isTable && tm["kind"] == GroupKind && isStepName(k) {
					p.refuseMatrix("steps."+k, tm, "a group")
					f.Groups = append(f.Groups, p.group(k, tm, "steps."+k, p.pos.child("steps").child(k)))
				} else {
					f.Steps = append(f.Steps, p.steps(k, v)...)
				}
				// Read: the table may go (20,000 steps' tables hold
				// 30 MB while the config is read).
				delete(m, k)
			}
		}
	}
	sort.SliceStable(f.Steps, func(i, j int) bool {
		a, b := f.Steps[i], f.Steps[j]
		switch {
		case a.Pos != b.Pos:
			return a.Pos.before(b.Pos)
		case a.Matrix != nil && b.Matrix != nil && a.Matrix.Base == b.Matrix.Base:
			return false // instances stay in the order of their values
		}
		return a.Name < b.Name // several steps in one inline table
	})
	sort.Slice(f.Groups, func(i, j int) bool {
		a, b := f.Groups[i], f.Groups[j]
		if a.Pos != b.Pos {
			return a.Pos.before(b.Pos)
		}
		return a.Name < b.Name
	})
	p.crossCheck(f, declared)
	p.checkGroups(f)
	p.checkDefault(f, declared)
	p.checkPools(f)
	p.checkSecrets(f)
	if len(p.errs) > 0 {
		p.foldInstances()
		sortErrors(p.errs)
		return nil, p.errs
	}
	defaultSourceDateEpoch(f)
	return f, nil
}

// tomlMessage words a toml.ParseError message as our own errors are:
// "Key 'a' has already been defined." becomes "key 'a' has already been
// defined".
func tomlMessage(msg string) string {
	msg = strings.TrimSuffix(msg, ".")
	if len(msg) > 1 && 'A' <= msg[0] && msg[0] <= 'Z' && 'a' <= msg[1] && msg[1] <= 'z' {
		msg = string(msg[0]+'a'-'A') + msg[1:]
	}
	if msg == "" {
		msg = "syntax error"
	}
	return msg
}

func (p *parser) vars(v any, f *File) {
	m, ok := p.table("vars", v)
	if !ok {
		return
	}
	p.varNames = make(map[string]bool, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p.varNames[k] = true
		path := "vars." + k
		if !isIdent(k) {
			p.fieldErr(path, "bad var name %q: use letters, digits and _, starting with a letter or _", k)
			continue
		}
		if t, ok := m[k].(map[string]any); ok {
			if c, ok := p.computed(k, t); ok {
				if f.Computed == nil {
					f.Computed = map[string]Computed{}
				}
				f.Computed[k] = c
				f.Vars[k] = ""
				f.VarPos[k] = p.posOf(path)
			}
			continue
		}
		s, ok := m[k].(string)
		if !ok {
			p.fieldErr(path, "want a string, or a command's output as { sh = \"COMMAND\" }, got %s", describe(m[k]))
			continue
		}
		if _, err := Refs(s); err != nil {
			p.fieldErr(path, "%v", err)
		}
		f.Vars[k] = s
		f.VarPos[k] = p.posOf(path)
	}
	p.checkVarRefs(f)
}

// computedFields are the fields of a computed var's table.
var computedFields = []string{"sh", "timeout"}

// computed reads a var's table: { sh = "git describe --tags" } and an
// optional timeout.
func (p *parser) computed(k string, t map[string]any) (Computed, bool) {
	path := "vars." + k
	c := Computed{Timeout: DefaultComputedTimeout}
	ok := true
	for _, field := range slices.Sorted(maps.Keys(t)) {
		at := keyPath{"vars." + k, field}
		switch field {
		case "sh":
			s, isStr := p.str(at, t[field])
			if !isStr {
				ok = false
				continue
			}
			if strings.TrimSpace(s) == "" {
				p.fieldErr(at.String(), "empty command: give the command whose output is the value, e.g. sh = \"git describe --tags\"")
				ok = false
				continue
			}
			if refs, err := Refs(s); err != nil || len(refs) > 0 {
				p.fieldErr(at.String(), "a computed var's command runs as written and cannot hold a reference (${...}): give it values through the environment ($NAME), or write $${ for a literal ${")
				ok = false
				continue
			}
			c.Sh = s
		case "timeout":
			s, isStr := p.str(at, t[field])
			if !isStr {
				ok = false
				continue
			}
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				p.fieldErr(at.String(), "bad duration %q: write it like \"10s\" or \"2m\"", s)
				ok = false
			case d <= 0:
				p.fieldErr(at.String(), "the timeout must be positive, got %q", s)
				ok = false
			}
			c.Timeout = d
		default:
			p.fieldErr(at.String(), "unknown field %q of a computed var%s", field, suggest(field, computedFields))
			ok = false
		}
	}
	if ok && c.Sh == "" {
		p.fieldErr(path, "a computed var needs sh, the command whose output is its value: %s = { sh = \"git describe --tags\" }", k)
		ok = false
	}
	return c, ok
}

// Step returns the step named name, or nil.
func (f *File) Step(name string) *Step {
	for _, s := range f.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (p *parser) settings(v any, s *Settings) {
	m, ok := p.table("settings", v)
	if !ok {
		return
	}
	known := []string{"buildkit", "cache_dir", "default", "fsmonitor", "jobs", "pools", "remote_cache", SourceDateEpochField}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		path := "settings." + k
		switch k {
		case "cache_dir":
			s.CacheDir, _ = p.str(keyPath{"settings", k}, m[k])
		case "remote_cache":
			s.RemoteCache, _ = p.str(keyPath{"settings", k}, m[k])
		case "buildkit":
			if addr, ok := p.str(keyPath{"settings", k}, m[k]); ok {
				if err := CheckBuildkitAddr(addr); err != nil {
					p.fieldErr(path, "%v", err)
				}
				s.Buildkit = addr
			}
		case "fsmonitor":
			if v, ok := p.str(keyPath{"settings", k}, m[k]); ok {
				fm, err := CheckFsmonitor(v)
				if err != nil {
					p.fieldErr(path, "%v", err)
				}
				s.Fsmonitor = fm
			}
		case "jobs":
			if n, ok := p.stepsAtOnce(path, m[k]); ok {
				s.Jobs = n
			}
		case "pools":
			s.Pools = p.pools(m[k])
		case "default":
			s.Default, _ = p.strList(keyPath{"settings", k}, m[k])
		case SourceDateEpochField:
			s.SourceDateEpoch, _ = p.sourceDateEpoch(m[k])
		default:
			if why := operatorOnly(k); why != "" {
				p.fieldErr(path, "%s", why)
				continue
			}
			p.errorf(path, "unknown field %q%s", k, suggest(k, known))
		}
	}
}

// operatorOnly says why a key belongs to the operator's own config file and
// not to a workspace's bottle.toml, or "" for any other key. Whether to apply
// without asking is the person's choice, never the repository's: a cloned
// repository must not be able to skip the prompt for whoever runs it.
func operatorOnly(key string) string {
	switch key {
	case "yes", "color", "progress":
		return fmt.Sprintf("%q is the operator's choice, not the workspace's: set it in your own config file ($XDG_CONFIG_HOME/bottle/config.toml, else ~/.config/bottle/config.toml), the BOTTLE_%s variable or the --%s flag", key, strings.ToUpper(key), key)
	}
	return ""
}

// stepsAtOnce reads a number of steps at once (settings.jobs, a pool's
// size): a whole number from 1 to 4096.
func (p *parser) stepsAtOnce(path string, v any) (int, bool) {
	n, ok := v.(int64)
	if !ok {
		p.fieldErr(path, "want a whole number of steps at once, got %s", describe(v))
		return 0, false
	}
	if n < 1 || n > 4096 {
		p.fieldErr(path, "want a number of steps at once from 1 to 4096, got %d", n)
		return 0, false
	}
	return int(n), true
}

// pools reads settings.pools: { NAME = SIZE, ... }.
func (p *parser) pools(v any) map[string]int {
	m, ok := v.(map[string]any)
	if !ok {
		p.fieldErr("settings.pools", "want a table of pool sizes, e.g. { heavy = 1 }, got %s", describe(v))
		return nil
	}
	out := make(map[string]int, len(m))
	p.poolNames = make(map[string]bool, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		p.poolNames[name] = true
		path := "settings.pools." + name
		if !isIdent(name) {
			p.fieldErr(path, "bad pool name %q: use letters, digits and _, starting with a letter or _", name)
			continue
		}
		if n, ok := p.stepsAtOnce(path, m[name]); ok {
			out[name] = n
		}
	}
	return out
}

// checkPools reports a step's pool that settings.pools does not declare (a
// pool declared with a bad size is reported there only).
func (p *parser) checkPools(f *File) {
	for _, st := range f.Steps {
		if st.Pool == "" || p.poolNames[st.Pool] {
			continue
		}
		path := "steps." + st.Name + ".pool"
		if len(p.poolNames) == 0 {
			p.fieldErr(path, "no pool %q: declare it in [settings], e.g. pools = { %s = 1 }", st.Pool, poolExample(st.Pool))
			continue
		}
		p.fieldErr(path, "no pool %q in settings.pools%s", st.Pool, suggest(st.Pool, slices.Sorted(maps.Keys(p.poolNames))))
	}
}

// poolExample is name as a TOML key: bare when it can be.
func poolExample(name string) string {
	if isIdent(name) {
		return name
	}
	return fmt.Sprintf("%q", name)
}

func (p *parser) table(path string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		p.fieldErr(path, "want a table ([%s]), got %s", path, describe(v))
	}
	return m, ok
}

func (p *parser) str(at keyPath, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		p.fieldErr(at.String(), "want a string, got %s", describe(v))
	}
	return s, ok
}

func (p *parser) strList(at keyPath, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		if _, isStr := v.(string); isStr {
			p.fieldErr(at.String(), "want a list of strings, got a string (write [%q])", v)
		} else {
			p.fieldErr(at.String(), "want a list of strings, got %s", describe(v))
		}
		return nil, false
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			p.fieldErr(at.String(), "item %d: want a string, got %s", i+1, describe(e))
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return "a string"
	case int64:
		return "a number"
	case float64:
		return "a decimal number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date or time"
	default:
		return fmt.Sprintf("%T", x)
	}
}

// step reads the table of the step written as written; name is what the
// step is called: written, or for an instance of a matrix step
// written[v1,...].
func (p *parser) step(name, written string, v any) *Step {
	base := "steps." + name
	m, ok := p.table(base, v)
	if !ok {
		return nil
	}
	nerrs := len(p.errs)
	st := &Step{Name: name}
	if pt := p.pos.child("steps").child(written); pt != nil {
		st.Pos, st.FieldPos = pt.pos, PositionsOf(pt.fields)
	} else {
		st.Pos = p.posOf(base)
	}
	if !isStepName(written) {
		p.errorf(base, "bad step name %q: use lowercase letters, digits, _ and -, starting with a letter", written)
		return nil
	}
	kindV, ok := m["kind"]
	if !ok {
		p.errorf(base+".kind", "missing field \"kind\": one of %s", strings.Join(p.kindNames(), ", "))
		return nil
	}
	kind, ok := p.str(keyPath{base, "kind"}, kindV)
	if !ok {
		return nil
	}
	info, ok := p.kinds[kind]
	if !ok {
		p.fieldErr(base+".kind", "unknown kind %q%s (kinds: %s)", kind, suggest(kind, p.kindNames()), strings.Join(p.kindNames(), ", "))
		return nil
	}
	st.Kind = kind
	st.Spec = info.NewSpec()
	if v := reflect.ValueOf(st.Spec); v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		p.errorf(base+".kind", "kind %q: NewSpec returned %T, not a pointer to a struct", kind, st.Spec)
		return nil
	}
	sf := p.specFields(st.Spec)
	// Map order is fine here: errors are sorted by position in the end.
	for k, val := range m {
		at := keyPath{base, k}
		switch k {
		case "kind":
		case "needs":
			st.Needs, _ = p.strList(at, val)
			seen := map[string]bool{}
			for _, n := range st.Needs {
				if seen[n] {
					p.fieldErr(at.String(), "%q is listed twice", n)
				}
				seen[n] = true
			}
		case "inputs":
			st.Inputs, _ = p.strList(at, val)
			for _, pat := range st.Inputs {
				if err := checkPattern(pat); err != nil {
					p.fieldErr(at.String(), "%v", err)
				}
			}
		case "env":
			st.Env, _ = p.strList(at, val)
			for _, e := range st.Env {
				if !isIdent(e) {
					p.fieldErr(at.String(), "%q is not a variable name", e)
				}
			}
		case "secrets":
			st.Secrets, _ = p.strList(at, val)
			p.secretNames(at, st.Secrets)
		case "pass_env":
			st.PassEnv, _ = p.strList(at, val)
			p.passEnvNames(at, st.PassEnv)
		case "environment":
			st.Environment = p.environment(at, val)
		case "tools":
			st.Tools, _ = p.strList(at, val)
			for _, t := range st.Tools {
				if strings.TrimSpace(t) == "" {
					p.fieldErr(at.String(), "empty tool name")
				}
			}
		case "description":
			st.Description, _ = p.str(at, val)
		case "timeout":
			s, ok := p.str(at, val)
			if !ok {
				continue
			}
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				p.fieldErr(at.String(), "bad duration %q: write it like \"90s\", \"10m\" or \"1h30m\"", s)
			case d <= 0:
				p.fieldErr(at.String(), "the timeout must be positive, got %q", s)
			}
			st.Timeout = d
		case "always":
			b, ok := val.(bool)
			if !ok {
				p.fieldErr(at.String(), "want true or false, got %s", describe(val))
			}
			st.Always = b
		case "pool":
			st.Pool, _ = p.str(at, val)
		case "matrix":
			// Read and taken out by steps before the table gets here.
		default:
			fi, ok := sf.index[k]
			if !ok {
				p.errorf(at.String(), "unknown field %q%s", k, suggest(k, sf.known))
				continue
			}
			p.assign(at, reflect.ValueOf(st.Spec).Elem().Field(fi), val)
		}
	}
	if r, ok := info.(SecretsRefuser); ok && len(st.Secrets) > 0 {
		if why := r.RefuseSecrets(st.Spec); why != "" {
			p.fieldErr(base+".secrets", "%s", why)
		}
	}
	if r, ok := info.(EnvRefuser); ok {
		if len(st.PassEnv) > 0 {
			p.fieldErr(base+".pass_env", "%s: pass_env has nowhere to go", r.RefuseEnv())
		}
		if len(st.Environment) > 0 {
			p.fieldErr(base+".environment", "%s: environment has nowhere to go", r.RefuseEnv())
		}
	}
	p.envOverlap(base, st)
	// Check only a spec that decoded cleanly: its complaints about a field
	// left empty by a type error would only repeat that error.
	if c, ok := st.Spec.(Checker); ok && len(p.errs) == nerrs {
		if err := c.Check(); err != nil {
			for _, e := range unjoin(err) {
				var fe *FieldError
				if errors.As(e, &fe) {
					p.fieldErr(base+"."+fe.Field, "%s", fe.Msg)
				} else {
					p.errorf(base+".kind", "%v", e)
				}
			}
		}
	}
	return st
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func specFieldIndex(spec any) map[string]int {
	out := map[string]int{}
	t := reflect.TypeOf(spec).Elem()
	for i := 0; i < t.NumField(); i++ {
		if n := tomlName(t.Field(i)); n != "" {
			out[n] = i
		}
	}
	return out
}

// assign stores a TOML value into a spec field of a supported type.
func (p *parser) assign(at keyPath, dst reflect.Value, val any) {
	switch dst.Kind() {
	case reflect.String:
		if s, ok := p.str(at, val); ok {
			dst.SetString(s)
		}
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			p.fieldErr(at.String(), "want true or false, got %s", describe(val))
			return
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := val.(int64)
		if !ok {
			p.fieldErr(at.String(), "want a whole number, got %s", describe(val))
			return
		}
		dst.SetInt(n)
	case reflect.Slice:
		if dst.Type().Elem().Kind() != reflect.String {
			p.fieldErr(at.String(), "unsupported field type %s", dst.Type())
			return
		}
		if l, ok := p.strList(at, val); ok {
			dst.Set(reflect.ValueOf(l).Convert(dst.Type()))
		}
	case reflect.Map:
		m, ok := val.(map[string]any)
		if !ok {
			p.fieldErr(at.String(), "want a table of strings, e.g. { KEY = \"value\" }, got %s", describe(val))
			return
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s, ok := m[k].(string)
			if !ok {
				p.fieldErr(at.String()+"."+k, "want a string, got %s", describe(m[k]))
				continue
			}
			out.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(s))
		}
		dst.Set(out)
	default:
		p.fieldErr(at.String(), "unsupported field type %s", dst.Type())
	}
}
