package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/bmatcuk/doublestar/v4"
)

// Errors is several config errors, sorted by position.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// ExitCode makes config errors exit 1.
func (es Errors) ExitCode() int { return 1 }

var commonFields = []string{"kind", "needs", "inputs", "env", "tools", "description", "timeout", "always"}

// parser collects errors while it reads one file.
type parser struct {
	name  string
	pos   map[string]Pos
	errs  Errors
	kinds map[string]KindInfo
}

func (p *parser) errorf(path string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.name, Pos: p.posOf(path), Path: parentPath(path), Msg: fmt.Sprintf(format, args...)})
}

// fieldErr reports a problem with the value at path: the path names the
// field in full.
func (p *parser) fieldErr(path string, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.name, Pos: p.posOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// posOf finds path, or the nearest enclosing table that has a position, or
// (for a table only written as part of longer keys) its first key.
func (p *parser) posOf(path string) Pos {
	if pos, ok := p.pos[path]; ok {
		return pos
	}
	var first Pos
	for k, pos := range p.pos {
		if strings.HasPrefix(k, path+".") && (!first.IsValid() || pos.Line < first.Line || pos.Line == first.Line && pos.Col < first.Col) {
			first = pos
		}
	}
	if first.IsValid() {
		return first
	}
	for path != "" {
		if pos, ok := p.pos[path]; ok {
			return pos
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return Pos{}
}

func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// Parse reads a bottle.toml. name is the file name used in messages; kinds
// are the step kinds by name. The error, if any, is an Errors listing every
// problem found, each with its position where it can be known.
func Parse(name string, data []byte, kinds map[string]KindInfo) (*File, error) {
	p := &parser{name: name, kinds: kinds}
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Errors{{File: name, Pos: Pos{pe.Position.Line, max(pe.Position.Col, 1)}, Msg: pe.Message}}
		}
		return nil, Errors{{File: name, Msg: err.Error()}}
	}
	p.pos = keyPositions(data)
	f := &File{Name: name, Vars: map[string]string{}, VarPos: map[string]Pos{}}
	for _, k := range sortedKeys(raw) {
		switch k {
		case "settings", "vars", "steps":
		default:
			p.errorf(k, "unknown table %q%s", k, suggest(k, []string{"settings", "vars", "steps"}))
		}
	}
	if v, ok := raw["settings"]; ok {
		p.settings(v, &f.Settings)
	}
	if v, ok := raw["vars"]; ok {
		if m, ok := p.table("vars", v); ok {
			for _, k := range sortedKeys(m) {
				path := "vars." + k
				if !identRE.MatchString(k) {
					p.fieldErr(path, "a var name is letters, digits and _, starting with a letter or _")
					continue
				}
				s, ok := p.str(path, m[k])
				if !ok {
					continue
				}
				if refs, err := Refs(s); err != nil {
					p.fieldErr(path, "%v", err)
				} else if len(refs) > 0 {
					p.fieldErr(path, "vars cannot use references (%s)", refs[0])
				}
				f.Vars[k] = s
				f.VarPos[k] = p.posOf(path)
			}
		}
	}
	if v, ok := raw["steps"]; ok {
		if m, ok := p.table("steps", v); ok {
			for _, k := range sortedKeys(m) {
				if st := p.step(k, m[k]); st != nil {
					f.Steps = append(f.Steps, st)
				}
			}
		}
	}
	sort.SliceStable(f.Steps, func(i, j int) bool {
		a, b := f.Steps[i].Pos, f.Steps[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	if len(p.errs) == 0 {
		p.crossCheck(f)
	}
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i].Pos, p.errs[j].Pos
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Col < b.Col
		})
		return nil, p.errs
	}
	return f, nil
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

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (p *parser) settings(v any, s *Settings) {
	m, ok := p.table("settings", v)
	if !ok {
		return
	}
	known := []string{"cache_dir", "jobs", "remote_cache"}
	for _, k := range sortedKeys(m) {
		path := "settings." + k
		switch k {
		case "cache_dir":
			s.CacheDir, _ = p.str(path, m[k])
		case "remote_cache":
			s.RemoteCache, _ = p.str(path, m[k])
		case "jobs":
			n, ok := m[k].(int64)
			if !ok {
				p.fieldErr(path, "want a whole number, got %s", describe(m[k]))
				continue
			}
			if n < 1 || n > 4096 {
				p.fieldErr(path, "want a number of steps at once from 1 to 4096, got %d", n)
				continue
			}
			s.Jobs = int(n)
		default:
			p.errorf(path, "unknown field %q%s", k, suggest(k, known))
		}
	}
}

func (p *parser) table(path string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		p.fieldErr(path, "want a table ([%s]), got %s", path, describe(v))
	}
	return m, ok
}

func (p *parser) str(path string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		p.fieldErr(path, "want a string, got %s", describe(v))
	}
	return s, ok
}

func (p *parser) strList(path string, v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		if _, isStr := v.(string); isStr {
			p.fieldErr(path, "want a list of strings, got a string (write [%q])", v)
		} else {
			p.fieldErr(path, "want a list of strings, got %s", describe(v))
		}
		return nil, false
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			p.fieldErr(path, "item %d: want a string, got %s", i+1, describe(e))
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
		return "a number"
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

func (p *parser) step(name string, v any) *Step {
	base := "steps." + name
	m, ok := p.table(base, v)
	if !ok {
		return nil
	}
	st := &Step{Name: name, Pos: p.posOf(base), FieldPos: map[string]Pos{}}
	if !stepNameRE.MatchString(name) {
		p.errorf(base, "bad step name %q: use lowercase letters, digits, _ and -, starting with a letter", name)
		return nil
	}
	for k := range m {
		if pos, ok := p.pos[base+"."+k]; ok {
			st.FieldPos[k] = pos
		}
	}
	kindV, ok := m["kind"]
	if !ok {
		p.errorf(base+".kind", "missing field \"kind\": one of %s", strings.Join(kindNames(p.kinds), ", "))
		return nil
	}
	kind, ok := p.str(base+".kind", kindV)
	if !ok {
		return nil
	}
	info, ok := p.kinds[kind]
	if !ok {
		p.fieldErr(base+".kind", "unknown kind %q%s (kinds: %s)", kind, suggest(kind, kindNames(p.kinds)), strings.Join(kindNames(p.kinds), ", "))
		return nil
	}
	st.Kind = kind
	st.Spec = info.NewSpec()
	specFields := specFieldIndex(st.Spec)
	known := append(append([]string{}, commonFields...), sortedFieldNames(specFields)...)
	for _, k := range sortedKeys(m) {
		path := base + "." + k
		val := m[k]
		switch k {
		case "kind":
		case "needs":
			st.Needs, _ = p.strList(path, val)
			seen := map[string]bool{}
			for _, n := range st.Needs {
				if seen[n] {
					p.fieldErr(path, "%q is listed twice", n)
				}
				seen[n] = true
			}
		case "inputs":
			st.Inputs, _ = p.strList(path, val)
			for _, pat := range st.Inputs {
				if err := checkPattern(pat); err != nil {
					p.fieldErr(path, "%v", err)
				}
			}
		case "env":
			st.Env, _ = p.strList(path, val)
			for _, e := range st.Env {
				if !identRE.MatchString(e) {
					p.fieldErr(path, "%q is not a variable name", e)
				}
			}
		case "tools":
			st.Tools, _ = p.strList(path, val)
			for _, t := range st.Tools {
				if strings.TrimSpace(t) == "" {
					p.fieldErr(path, "empty tool name")
				}
			}
		case "description":
			st.Description, _ = p.str(path, val)
		case "timeout":
			s, ok := p.str(path, val)
			if !ok {
				continue
			}
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				p.fieldErr(path, "bad duration %q: write it like \"90s\", \"10m\" or \"1h30m\"", s)
			case d <= 0:
				p.fieldErr(path, "the timeout must be positive, got %q", s)
			}
			st.Timeout = d
		case "always":
			b, ok := val.(bool)
			if !ok {
				p.fieldErr(path, "want true or false, got %s", describe(val))
			}
			st.Always = b
		default:
			fi, ok := specFields[k]
			if !ok {
				p.errorf(path, "unknown field %q%s", k, suggest(k, known))
				continue
			}
			p.assign(path, reflect.ValueOf(st.Spec).Elem().Field(fi), val)
		}
	}
	if c, ok := st.Spec.(Checker); ok && len(p.errs) == 0 {
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

func kindNames(kinds map[string]KindInfo) []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
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

func sortedFieldNames(m map[string]int) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// assign stores a TOML value into a spec field of a supported type.
func (p *parser) assign(path string, dst reflect.Value, val any) {
	switch dst.Kind() {
	case reflect.String:
		if s, ok := p.str(path, val); ok {
			dst.SetString(s)
		}
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			p.fieldErr(path, "want true or false, got %s", describe(val))
			return
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := val.(int64)
		if !ok {
			p.fieldErr(path, "want a whole number, got %s", describe(val))
			return
		}
		dst.SetInt(n)
	case reflect.Slice:
		if dst.Type().Elem().Kind() != reflect.String {
			p.fieldErr(path, "unsupported field type %s", dst.Type())
			return
		}
		if l, ok := p.strList(path, val); ok {
			dst.Set(reflect.ValueOf(l).Convert(dst.Type()))
		}
	case reflect.Map:
		m, ok := val.(map[string]any)
		if !ok {
			p.fieldErr(path, "want a table of strings, e.g. { KEY = \"value\" }, got %s", describe(val))
			return
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for _, k := range sortedKeys(m) {
			s, ok := m[k].(string)
			if !ok {
				p.fieldErr(path+"."+k, "want a string, got %s", describe(m[k]))
				continue
			}
			out.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(s))
		}
		dst.Set(out)
	default:
		p.fieldErr(path, "unsupported field type %s", dst.Type())
	}
}

// checkPattern validates one inputs pattern.
func checkPattern(pat string) error {
	body := pat
	switch {
	case strings.HasPrefix(body, "!"):
		body = body[1:]
	case strings.HasPrefix(body, "?"):
		body = body[1:]
	}
	switch {
	case body == "":
		return fmt.Errorf("empty pattern %q", pat)
	case strings.HasPrefix(body, "/"):
		return fmt.Errorf("%q is absolute: patterns are relative to the workspace", pat)
	}
	for _, el := range strings.Split(body, "/") {
		if el == ".." {
			return fmt.Errorf("%q leaves the workspace", pat)
		}
	}
	if !doublestar.ValidatePattern(body) {
		return fmt.Errorf("%q is not a valid glob", pat)
	}
	return nil
}

// crossCheck validates what needs the whole file: needs and references.
func (p *parser) crossCheck(f *File) {
	names := make([]string, 0, len(f.Steps))
	byName := map[string]*Step{}
	for _, s := range f.Steps {
		names = append(names, s.Name)
		byName[s.Name] = s
	}
	for _, s := range f.Steps {
		base := "steps." + s.Name
		for _, n := range s.Needs {
			switch {
			case n == s.Name:
				p.fieldErr(base+".needs", "a step cannot need itself")
			case byName[n] == nil:
				p.fieldErr(base+".needs", "no step %q%s", n, suggest(n, names))
			}
		}
		checkRef := func(field string, r Ref) {
			path := base + "." + field
			switch r.Kind {
			case RefVar:
				if _, ok := f.Vars[r.Name]; !ok {
					p.fieldErr(path, "%s: no var %q%s", r, r.Name, suggest(r.Name, mapKeys(f.Vars)))
				}
			case RefStep:
				other := byName[r.Name]
				switch {
				case r.Name == s.Name:
					p.fieldErr(path, "%s: a step cannot use its own results", r)
				case other == nil:
					p.fieldErr(path, "%s: no step %q%s", r, r.Name, suggest(r.Name, names))
				default:
					results := p.kinds[other.Kind].Results()
					if !contains(results, r.Field) {
						p.fieldErr(path, "%s: a step of kind %s has no result %q (it has: %s)", r, other.Kind, r.Field, strings.Join(results, ", "))
					}
				}
			}
		}
		refs, err := SpecRefs(s.Spec)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				p.fieldErr(base+"."+fe.Field, "%s", fe.Msg)
			} else {
				p.errorf(base+".kind", "%v", err)
			}
			continue
		}
		for _, field := range sortedRefFields(refs) {
			for _, r := range refs[field] {
				checkRef(field, r)
			}
		}
		for _, list := range []struct {
			field string
			vals  []string
		}{{"inputs", s.Inputs}, {"description", []string{s.Description}}} {
			for _, v := range list.vals {
				rs, err := Refs(v)
				if err != nil {
					p.fieldErr(base+"."+list.field, "%v", err)
					continue
				}
				for _, r := range rs {
					checkRef(list.field, r)
				}
			}
		}
	}
}

func sortedRefFields(m map[string][]Ref) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for the closest candidate, if any
// is close enough.
func suggest(got string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(got) > 8 {
		limit = len(got) / 3
	}
	if best == "" || bestD > limit || bestD == 0 && best == got {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance, so that a swap of two letters ("rnu" for "run") counts as one.
func editDistance(a, b string) int {
	la, lb := len(a), len(b)
	d := make([][]int, la+1)
	for i := range d {
		d[i] = make([]int, lb+1)
		d[i][0] = i
	}
	for j := 0; j <= lb; j++ {
		d[0][j] = j
	}
	for i := 1; i <= la; i++ {
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[la][lb]
}
