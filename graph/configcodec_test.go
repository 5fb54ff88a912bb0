package graph

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/internal/binrec"
	"github.com/bottle-build/bottle/internal/testenv"
)

type fieldsSpec struct {
	Run     string
	Args    []string
	Env     map[string]string
	Quiet   bool
	Retries int
	Size    uint16
	Wait    time.Duration
}

type oddSpec struct {
	Nested struct{ A, B string } // not a kind specLayout handles: gob
	Ptr    *string
}

func init() { gob.Register(&oddSpec{}) }

// fill sets every field of v (a struct) to a value that is not zero, so a
// field the codec forgets shows in the round trip.
func fill(t *testing.T, v reflect.Value, seed string) {
	for i := range v.NumField() {
		f := v.Field(i)
		name := v.Type().Field(i).Name
		if f.Type() == reflect.TypeFor[config.Positions]() {
			f.Set(reflect.ValueOf(config.PositionsOf(map[string]config.Pos{name: {Line: 3, Col: 4}, seed: {Line: 1}})))
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(seed + " " + name + " \xff")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(-int64(len(name)) * 1e9)
		case reflect.Uint16:
			f.SetUint(uint64(len(name)))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{seed, "", name}).Convert(f.Type()))
		case reflect.Map:
			switch f.Type().Elem() {
			case reflect.TypeFor[string]():
				f.Set(reflect.ValueOf(map[string]string{seed: name, "": "empty"}).Convert(f.Type()))
			case reflect.TypeFor[config.Pos]():
				f.Set(reflect.ValueOf(map[string]config.Pos{name: {Line: 3, Col: 4}, seed: {Line: 1}}))
			default:
				t.Fatalf("fill: field %s: add its map type", name)
			}
		case reflect.Struct:
			fill(t, f, seed)
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			fill(t, f.Elem(), seed)
		case reflect.Interface: // Spec: set by the caller
		default:
			t.Fatalf("fill: field %s of kind %s: add it here and to configcodec.go", name, f.Kind())
		}
	}
}

func TestConfigCodecRoundTrip(t *testing.T) {
	specs := map[string]reflect.Type{"fields": reflect.TypeFor[*fieldsSpec](), "odd": reflect.TypeFor[*oddSpec]()}
	var f config.File
	f.Name = "bottle.toml"
	f.Vars = map[string]string{"v": "1"}
	f.VarPos = map[string]config.Pos{"v": {Line: 2, Col: 1}}
	f.Computed = map[string]config.Computed{"c": {Sh: "git describe", Timeout: time.Second}}
	f.Groups = []*config.Group{{Name: "g", Needs: []string{"a"}}}
	f.Settings = config.Settings{CacheDir: "c", Jobs: 3, Pools: map[string]int{"p": 1}, Default: []string{"a"}}
	for i, kind := range []string{"fields", "odd", "fields"} {
		st := &config.Step{}
		fill(t, reflect.ValueOf(st).Elem(), kind+string(rune('a'+i)))
		st.Kind = kind
		spec := reflect.New(specs[kind].Elem())
		if kind == "fields" {
			fill(t, spec.Elem(), "spec")
		} else {
			s := "p"
			spec.Interface().(*oddSpec).Ptr = &s
			spec.Interface().(*oddSpec).Nested.B = "b"
		}
		st.Spec = spec.Interface()
		f.Steps = append(f.Steps, st)
	}
	f.Steps = append(f.Steps, &config.Step{Name: "bare", Kind: "fields", Spec: &fieldsSpec{}})
	d := cache.SumString("config")
	lines := func(w *binrec.Writer, st *config.Step) {
		var l []string
		if st.Name == "bare" {
			l = []string{"field run \"x\"", ""}
		}
		w.Bool(l != nil)
		w.Strings(l)
	}
	var buf bytes.Buffer
	if err := encodeConfig(&buf, d, &f, lines); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	// Written a few bytes at a time, the file is the same.
	defer func(n int) { encodeChunk = n }(encodeChunk)
	encodeChunk = 1
	var small testenv.CountingWriter
	if err := encodeConfig(&small, d, &f, lines); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(small.Bytes(), b) {
		t.Errorf("encoded in small writes: %d bytes, want the %d of one write", small.Len(), len(b))
	}
	if small.Writes < len(f.Steps) {
		t.Errorf("%d writes for %d steps: want one at least after each step", small.Writes, len(f.Steps))
	}
	specType := func(k string) reflect.Type { return specs[k] }
	got, gotLines := decodeConfig(b, d, "bottle.toml", specType)
	if got == nil {
		t.Fatal("decoding what was encoded failed")
	}
	if want := [][]string{nil, nil, nil, {"field run \"x\"", ""}}; !reflect.DeepEqual(gotLines, want) {
		t.Errorf("field lines %q, want %q", gotLines, want)
	}
	if !reflect.DeepEqual(got, &f) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, &f)
		for i := range f.Steps {
			if !reflect.DeepEqual(got.Steps[i], f.Steps[i]) {
				t.Errorf("step %d:\n got %#v\nwant %#v", i, got.Steps[i], f.Steps[i])
			}
		}
	}
	// Another config, another name, another kind's spec: a miss.
	miss := func(d cache.Digest, name string, specType func(string) reflect.Type) bool {
		f, l := decodeConfig(b, d, name, specType)
		return f == nil && l == nil
	}
	if !miss(cache.SumString("other"), "bottle.toml", specType) || !miss(d, "other.toml", specType) ||
		!miss(d, "bottle.toml", func(string) reflect.Type { return reflect.TypeFor[*oddSpec]() }) {
		t.Error("a cache of another config was read")
	}
	// Cut anywhere: a miss, never a panic. Flipped bytes: never a panic.
	for n := 0; n < len(b); n++ {
		if f, _ := decodeConfig(b[:n], d, "bottle.toml", specType); f != nil {
			t.Errorf("cut at %d of %d: read", n, len(b))
		}
	}
	for i := len(configCacheMagic) + 32; i < len(b); i += 3 {
		c := bytes.Clone(b)
		c[i] ^= 0x81
		decodeConfig(c, d, "bottle.toml", specType)
	}
}

// A change of shape of config.Step or of a spec changes the digest.
func TestConfigShape(t *testing.T) {
	shape := func(specs map[string]reflect.Type) string {
		var b bytes.Buffer
		configShape(&b, specs)
		return b.String()
	}
	a := shape(map[string]reflect.Type{"k": reflect.TypeFor[*fieldsSpec]()})
	if b := shape(map[string]reflect.Type{"k": reflect.TypeFor[*oddSpec]()}); a == b {
		t.Error("two spec types, one shape")
	}
	if b := shape(map[string]reflect.Type{"j": reflect.TypeFor[*fieldsSpec]()}); a == b {
		t.Error("two kinds, one shape")
	}
}
