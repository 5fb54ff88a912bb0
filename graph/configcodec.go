package graph

// The parsed-config cache's file: binrec records for the steps (the bulk:
// a 5,000-step config is 5,000 of them), and a gob of the rest. A no-op
// plan reads it on every run; gob spent most of its time copying strings
// and decoding each step's spec through an interface, by reflection.

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/internal/binrec"
)

const configCacheMagic = "bottle-config\n"

// configHead is everything of a config but its steps.
type configHead struct {
	Settings config.Settings
	Vars     map[string]string
	VarPos   map[string]config.Pos
	Computed map[string]config.Computed
	Groups   []*config.Group
}

// A spec is written field by field when all its fields are of the kinds
// specFields handles (every kind's spec today), and as a gob otherwise.
const (
	specFields = 0
	specGob    = 1
)

// encodeChunk is how much encodeConfig holds before it writes: the parsed
// config of 20,000 steps is 14 MB, which a plan need not hold all at once.
var encodeChunk = 256 << 10

// encodeConfig writes f to out, and beside each step the field lines of
// its key when lines writes them (a spec with no ${: they are its own):
// lines writes whether it has them (Bool), then them (Strings). A nil
// lines writes none.
func encodeConfig(out io.Writer, d cache.Digest, f *config.File, lines func(*binrec.Writer, *config.Step)) error {
	w := &binrec.Writer{B: make([]byte, 0, encodeChunk+encodeChunk/4)}
	flush := func() error {
		_, err := out.Write(w.B)
		w.B = w.B[:0]
		return err
	}
	w.Fixed([]byte(configCacheMagic))
	w.Fixed(d[:])
	w.String(f.Name)
	var head bytes.Buffer
	if err := gob.NewEncoder(&head).Encode(configHead{f.Settings, f.Vars, f.VarPos, f.Computed, f.Groups}); err != nil {
		return err
	}
	w.String(head.String())
	w.Uint(uint64(len(f.Steps)))
	for _, st := range f.Steps {
		if err := encodeStep(w, st); err != nil {
			return fmt.Errorf("step %s: %w", st.Name, err)
		}
		if lines != nil {
			lines(w, st)
		} else {
			w.Bool(false)
			w.Strings(nil)
		}
		if len(w.B) >= encodeChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func encodeStep(w *binrec.Writer, st *config.Step) error {
	w.String(st.Name)
	w.String(st.Kind)
	writePos(w, st.Pos)
	w.Strings(st.Needs)
	w.Strings(st.Inputs)
	w.Strings(st.Env)
	w.Strings(st.Secrets)
	w.Strings(st.PassEnv)
	writeMap(w, st.Environment)
	w.Strings(st.Tools)
	w.String(st.Description)
	w.Int(int64(st.Timeout))
	w.Bool(st.Always)
	w.String(st.Pool)
	w.Bool(st.Matrix != nil)
	if st.Matrix != nil {
		w.String(st.Matrix.Base)
		w.Strings(st.Matrix.Keys)
		w.Strings(st.Matrix.Values)
	}
	w.String(st.FieldPos.Encoded())
	if st.Spec == nil {
		return fmt.Errorf("no spec")
	}
	v := reflect.ValueOf(st.Spec)
	if fields, ok := specLayout(v.Type()); ok && v.Kind() == reflect.Pointer && !v.IsNil() {
		w.Uint(specFields)
		encodeSpec(w, v.Elem(), fields)
		return nil
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&st.Spec); err != nil {
		return err
	}
	w.Uint(specGob)
	w.String(b.String())
	return nil
}

func writePos(w *binrec.Writer, p config.Pos) {
	w.Int(int64(p.Line))
	w.Int(int64(p.Col))
}

func readPos(r *binrec.Reader) config.Pos {
	return config.Pos{Line: int(r.Int()), Col: int(r.Int())}
}

func writeMap(w *binrec.Writer, m map[string]string) {
	w.Uint(uint64(len(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.String(k)
		w.String(m[k])
	}
}

func readMap(r *binrec.Reader) map[string]string {
	n := r.Len(2)
	if n == 0 {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := r.String()
		m[k] = r.String()
	}
	return m
}

// decodeConfig reads a cache file made by encodeConfig, for a config whose
// digest is d and name is name; nil when it is for another, or damaged.
// lines holds each step's field lines, nil for a step without.
func decodeConfig(b []byte, d cache.Digest, name string, specType func(kind string) reflect.Type) (f *config.File, lines [][]string) {
	if !bytes.HasPrefix(b, []byte(configCacheMagic)) {
		return nil, nil
	}
	r := binrec.NewReader(b[len(configCacheMagic):])
	var got cache.Digest
	r.Fixed(got[:])
	if got != d || r.String() != name || r.Err != nil {
		return nil, nil
	}
	var head configHead
	if gob.NewDecoder(bytes.NewReader([]byte(r.String()))).Decode(&head) != nil {
		return nil, nil
	}
	f = &config.File{Name: name, Settings: head.Settings, Vars: head.Vars, VarPos: head.VarPos, Computed: head.Computed, Groups: head.Groups}
	if f.Vars == nil {
		f.Vars = map[string]string{}
	}
	const minStep = 24 // the fewest bytes a step takes
	n := r.Len(minStep)
	all := make([]config.Step, n) // one allocation for every step
	f.Steps = make([]*config.Step, n)
	lines = make([][]string, n)
	for i := range all {
		st := &all[i]
		if !decodeStep(r, st, specType) {
			return nil, nil
		}
		f.Steps[i] = st
		if r.Bool() {
			lines[i] = r.Strings()
		} else if r.Len(0) != 0 {
			return nil, nil
		}
	}
	if !r.Done() {
		return nil, nil
	}
	return f, lines
}

func decodeStep(r *binrec.Reader, st *config.Step, specType func(kind string) reflect.Type) bool {
	st.Name = r.String()
	st.Kind = r.String()
	st.Pos = readPos(r)
	st.Needs = r.Strings()
	st.Inputs = r.Strings()
	st.Env = r.Strings()
	st.Secrets = r.Strings()
	st.PassEnv = r.Strings()
	st.Environment = readMap(r)
	st.Tools = r.Strings()
	st.Description = r.String()
	st.Timeout = time.Duration(r.Int())
	st.Always = r.Bool()
	st.Pool = r.String()
	if r.Bool() {
		st.Matrix = &config.Matrix{Base: r.String(), Keys: r.Strings(), Values: r.Strings()}
	}
	fp, ok := config.DecodePositions(r.String())
	if !ok {
		return false
	}
	st.FieldPos = fp
	t := specType(st.Kind)
	if t == nil || r.Err != nil {
		return false
	}
	switch r.Uint() {
	case specFields:
		fields, ok := specLayout(t)
		if !ok {
			return false
		}
		v := reflect.New(t.Elem())
		decodeSpec(r, v.Elem(), fields)
		st.Spec = v.Interface()
	case specGob:
		if gob.NewDecoder(bytes.NewReader([]byte(r.String()))).Decode(&st.Spec) != nil || reflect.TypeOf(st.Spec) != t {
			return false
		}
	default:
		return false
	}
	return r.Err == nil && st.Name != ""
}

// specLayout returns the kinds of the fields of *T, the type of a kind's
// spec, when every one is a string, bool, integer, []string or
// map[string]string; ok is false otherwise.
func specLayout(t reflect.Type) (fields []reflect.Kind, ok bool) {
	if v, found := layouts.Load(t); found {
		l := v.(layout)
		return l.fields, l.ok
	}
	l := layout{ok: t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct}
	if l.ok {
		for i := range t.Elem().NumField() {
			ft := t.Elem().Field(i)
			k := ft.Type.Kind()
			switch {
			case !ft.IsExported():
				l.ok = false
			case k == reflect.String, k == reflect.Bool, k >= reflect.Int && k <= reflect.Int64, k >= reflect.Uint && k <= reflect.Uint64:
			case k == reflect.Slice && ft.Type.Elem().Kind() == reflect.String:
			case k == reflect.Map && ft.Type.Key().Kind() == reflect.String && ft.Type.Elem().Kind() == reflect.String:
			default:
				l.ok = false
			}
			l.fields = append(l.fields, k)
		}
	}
	layouts.Store(t, l)
	return l.fields, l.ok
}

type layout struct {
	fields []reflect.Kind
	ok     bool
}

var layouts sync.Map // reflect.Type -> layout

func encodeSpec(w *binrec.Writer, v reflect.Value, fields []reflect.Kind) {
	for i, k := range fields {
		f := v.Field(i)
		switch {
		case k == reflect.String:
			w.String(f.String())
		case k == reflect.Bool:
			w.Bool(f.Bool())
		case k >= reflect.Int && k <= reflect.Int64:
			w.Int(f.Int())
		case k >= reflect.Uint && k <= reflect.Uint64:
			w.Uint(f.Uint())
		case k == reflect.Slice:
			w.Strings(f.Convert(reflect.TypeFor[[]string]()).Interface().([]string))
		case k == reflect.Map:
			writeMap(w, f.Convert(reflect.TypeFor[map[string]string]()).Interface().(map[string]string))
		}
	}
}

func decodeSpec(r *binrec.Reader, v reflect.Value, fields []reflect.Kind) {
	for i, k := range fields {
		f := v.Field(i)
		switch {
		case k == reflect.String:
			f.SetString(r.String())
		case k == reflect.Bool:
			f.SetBool(r.Bool())
		case k >= reflect.Int && k <= reflect.Int64:
			f.SetInt(r.Int())
		case k >= reflect.Uint && k <= reflect.Uint64:
			f.SetUint(r.Uint())
		case k == reflect.Slice:
			if ss := r.Strings(); ss != nil {
				f.Set(reflect.ValueOf(ss).Convert(f.Type()))
			}
		case k == reflect.Map:
			if m := readMap(r); m != nil {
				f.Set(reflect.ValueOf(m).Convert(f.Type()))
			}
		}
	}
}

// configShape describes the Go types the cache's records are read into,
// for its digest: a bottle whose config.Step or a kind's spec changed shape
// misses the cache rather than misread it.
func configShape(w io.Writer, specs map[string]reflect.Type) {
	describe := func(t reflect.Type) {
		for i := range t.NumField() {
			fmt.Fprintf(w, " %s:%s", t.Field(i).Name, t.Field(i).Type)
		}
		fmt.Fprintln(w)
	}
	describe(reflect.TypeFor[config.Step]())
	describe(reflect.TypeFor[config.Matrix]())
	describe(reflect.TypeFor[config.Pos]())
	for _, k := range slices.Sorted(maps.Keys(specs)) {
		fmt.Fprintf(w, "spec %s", k)
		if t := specs[k]; t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
			describe(t.Elem())
		} else {
			fmt.Fprintf(w, " %s\n", t)
		}
	}
}
