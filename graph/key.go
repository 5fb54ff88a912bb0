package graph

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph/files"
)

// A key is the sha256 of readable lines, one per part (STYLE habit 4):
//
//	bottle-key 1
//	kind exec 1
//	field run "go build -o bin/app ./cmd/app"
//	file src/main.go - 3a7bd3e2…
//	env GOFLAGS 9f86d081…
//	environment CGO_ENABLED "0"
//	var version 5feceb66…
//	secret NPM_TOKEN
//	tool go 5e884898…
//	platform linux/arm64
//	dep gen 2c26b46b…
//
// BOTTLE_DEBUG=hash prints every line hashed; explain diffs these lines
// against those of the last applied run.

// KeyInput is everything a key is made of besides the node itself.
type KeyInput struct {
	Vars    map[string]string
	Sources []files.Entry // the step's own input files, sorted by path
	Env     func(string) (string, bool)
	Tools   map[string]cache.Digest // tool name → digest of its binary
	// Deps is the digest of each need's result, in the order of the
	// node's Needs (a slice, not a map by name: at 20,000 steps the maps
	// held 6 MB). A need with none yet has the zero digest.
	Deps []cache.Digest
	// Platform is the engine's OS/architecture for a step that takes its
	// platform from the engine (steps.PlatformKeyed), else "".
	Platform string
}

// KeyLines returns the lines whose hash is the node's key.
func (n *Node) KeyLines(in *KeyInput) ([]string, error) {
	var lines []string
	err := n.writeKey(in, func(b []byte) { lines = append(lines, string(b)) }, nil)
	return lines, err
}

// Key hashes the node's key lines as they are made, without keeping them:
// for 100,000 input files that saves as many strings.
func (n *Node) Key(in *KeyInput) (cache.Key, error) {
	h := sha256.New()
	nl := []byte{'\n'}
	err := n.writeKey(in, func(b []byte) {
		h.Write(b)
		h.Write(nl)
	}, nil)
	var k cache.Key
	h.Sum(k[:0])
	return k, err
}

// A key memo is what a plan keeps of a step's key, through the file
// watcher (files.Watch.KeepMemo), so that the next plan need not look up
// and hash the lines of 100,000 unchanged input files again: one byte of
// version (keyMemoVersion), the sha256 of the key lines before the source
// lines, and sha256's state after those lines and the source lines. A plan
// whose lines before the sources are the same, and whose sources the
// watcher vouches for (files.Watch.Memo says why that is sound), goes on
// from that state with the lines after the sources: the key is the one
// hashing every line would give.
//
// keyMemoVersion changes whenever the source lines are written otherwise
// (appendSourceLine) without KeySchema changing.
const keyMemoVersion = 1

// keyAndMemo is Key that also returns the key's memo.
func (n *Node) keyAndMemo(in *KeyInput) (cache.Key, []byte, error) {
	h, head := sha256.New(), sha256.New()
	nl := []byte{'\n'}
	inHead := true
	var memo []byte
	err := n.writeKey(in, func(b []byte) {
		h.Write(b)
		h.Write(nl)
		if inHead {
			head.Write(b)
			head.Write(nl)
		}
	}, func() bool {
		inHead = false
		var b []byte
		for _, e := range in.Sources {
			b = appendSourceLine(b[:0], e)
			h.Write(b)
			h.Write(nl)
		}
		if st, err := h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
			memo = head.Sum([]byte{keyMemoVersion})
			memo = append(memo, st...)
		}
		return true
	})
	var k cache.Key
	h.Sum(k[:0])
	return k, memo, err
}

// keyFromMemo is Key with the source lines taken from memo (keyAndMemo's)
// instead of in.Sources; ok is false, and the key unknown, when the lines
// before the sources are not those the memo was made after, or the memo
// cannot be read.
func (n *Node) keyFromMemo(in *KeyInput, memo []byte) (k cache.Key, ok bool, err error) {
	if len(memo) < 1+sha256.Size || memo[0] != keyMemoVersion {
		return cache.Key{}, false, nil
	}
	h, head := sha256.New(), sha256.New()
	nl := []byte{'\n'}
	inHead := true
	err = n.writeKey(in, func(b []byte) {
		if inHead {
			head.Write(b)
			head.Write(nl)
			return
		}
		h.Write(b)
		h.Write(nl)
	}, func() bool {
		inHead = false
		ok = bytes.Equal(head.Sum(nil), memo[1:1+sha256.Size]) &&
			h.(encoding.BinaryUnmarshaler).UnmarshalBinary(memo[1+sha256.Size:]) == nil
		return true
	})
	if err != nil || !ok {
		return cache.Key{}, false, err
	}
	h.Sum(k[:0])
	return k, true, nil
}

// writeKey produces every key line, in order, to emit. The slice passed is
// reused: emit must copy what it keeps. KeyLines and Key both use it, so the
// lines explain shows are exactly the ones hashed. sources, when not nil,
// is called where the source lines go, and writes them itself (key memos)
// when it returns true.
func (n *Node) writeKey(in *KeyInput, emit func([]byte), sources func() bool) error {
	var b []byte
	line := func(format string, args ...any) {
		b = fmt.Appendf(b[:0], format, args...)
		emit(b)
	}
	// The lines every key has are appended, not formatted: at 20,000
	// steps fmt's share showed in a plan's profile.
	b = strconv.AppendInt(append(b, "bottle-key "...), KeySchema, 10)
	emit(b)
	b = append(append(append(b[:0], "kind "...), n.Kind.Name()...), ' ')
	b = strconv.AppendInt(b, int64(n.Kind.Version()), 10)
	emit(b)
	vars := n.keyVars(in.Vars)
	fields := n.fieldLines
	if fields == nil || !n.literalSpec {
		var err error
		if fields, err = fieldLines(n.Step.Spec, vars, n.literalSpec); err != nil {
			return err
		}
	}
	for _, f := range fields {
		emit(append(b[:0], f...))
	}
	if sources == nil || !sources() {
		for _, e := range in.Sources {
			b = appendSourceLine(b[:0], e)
			emit(b)
		}
	}
	for _, name := range n.EnvNames {
		v, ok := in.Env(name)
		if !ok {
			line("env %s unset", name)
			continue
		}
		line("env %s %s", name, cache.SumString(v))
	}
	// environment values are the file's own words (vars expanded), so
	// they enter as written; pass_env names do not enter at all.
	environ, err := n.Environment(vars)
	if err != nil {
		return err
	}
	for _, kv := range environ {
		name, v, _ := strings.Cut(kv, "=")
		line("environment %s %s", name, strconv.Quote(v))
	}
	// A var whose value a command printed enters as a digest, as a host
	// variable does: a new tag reruns exactly the steps that use it.
	for _, v := range n.OutsideVars {
		val, ok := in.Vars[v]
		if !ok {
			return fmt.Errorf("${var.%s} has no value: its command did not run", v)
		}
		line("var %s %s", v, cache.SumString(val))
	}
	// A secret enters by its name only: whether the command gets it is
	// part of the step, its value never is (a rotated token is not a
	// change, and no digest of it lands in a result).
	secrets := append([]string(nil), n.Step.Secrets...)
	sort.Strings(secrets)
	for _, s := range secrets {
		line("secret %s", s)
	}
	for _, t := range n.ToolNames() {
		line("tool %s %s", t, in.Tools[t])
	}
	// The engine's platform, for a step whose spec leaves it to the engine:
	// the same Dockerfile builds another image on an arm64 laptop than on
	// an amd64 CI runner.
	if in.Platform != "" {
		line("platform %s", in.Platform)
	}
	for i, d := range n.Needs {
		var dg cache.Digest
		if i < len(in.Deps) {
			dg = in.Deps[i]
		}
		b = append(append(append(b[:0], "dep "...), d.Name...), ' ')
		b = hex.AppendEncode(b, dg[:])
		emit(b)
	}
	return nil
}

func appendSourceLine(b []byte, e files.Entry) []byte {
	if e.IsLink() {
		b = append(b, "link "...)
		b = append(b, quote(e.Path)...)
		b = append(b, ' ')
		return strconv.AppendQuote(b, e.Link)
	}
	b = append(b, "file "...)
	b = append(b, quote(e.Path)...)
	if e.Executable() {
		b = append(b, " x "...)
	} else {
		b = append(b, " - "...)
	}
	return hex.AppendEncode(b, e.Digest[:])
}

// SourceLines are the key lines of the step's own input files.
func (n *Node) SourceLines(sources []files.Entry) []string {
	lines := make([]string, 0, len(sources))
	var b []byte
	for _, e := range sources {
		b = appendSourceLine(b[:0], e)
		lines = append(lines, string(b))
	}
	return lines
}

// HashLines is the key of lines.
func HashLines(lines []string) cache.Key {
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
		h.Write([]byte{'\n'})
	}
	var k cache.Key
	h.Sum(k[:0])
	return k
}

// fieldLines encodes the kind's own fields, with ${var.X} replaced by its
// value and other references by a marker that no config string can hold
// (their values enter the key through the env and dep lines).
func fieldLines(raw any, vars map[string]string, literal bool) ([]string, error) {
	if literal {
		return specLines(raw)
	}
	spec, err := config.ExpandSpec(raw, func(r config.Ref) (string, error) {
		switch r.Kind {
		case config.RefVar:
			return vars[r.Name], nil
		case config.RefEnv:
			// A default is the file's own text: it enters as written,
			// beside the variable's env line.
			if r.HasDefault {
				return "\x00env." + r.Name + ":-" + r.Default + "\x00", nil
			}
			return "\x00env." + r.Name + "\x00", nil
		default:
			return "\x00step." + r.Name + "." + r.Field + "\x00", nil
		}
	})
	if err != nil {
		return nil, err
	}
	return specLines(spec)
}

// specLines encodes the fields of an expanded spec, a line each: the
// lines share one allocation (a first plan of 20,000 steps makes them
// twice, for its keys and for the parsed-config cache, and a copy a line,
// then three, were 27 MB a pass).
func specLines(spec any) ([]string, error) {
	buf, ends, err := appendSpecLines(nil, nil, spec)
	if err != nil {
		return nil, err
	}
	all := unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is not written again
	lines := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		lines[i], start = all[start:end], end
	}
	return lines, nil
}

// appendSpecLines appends specLines' lines to buf, one after another, and
// where each ends to ends.
func appendSpecLines(buf []byte, ends []int, spec any) ([]byte, []int, error) {
	v := reflect.ValueOf(spec)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	fields := keyFieldsOf(v.Type())
	if buf == nil {
		n := 0
		for _, f := range fields {
			if fv := v.Field(f.index); !fv.IsZero() {
				n += len("field ") + len(f.name) + 1 + plainSize(fv)
			}
		}
		buf = make([]byte, 0, n)
	}
	for _, f := range fields {
		fv := v.Field(f.index)
		if fv.IsZero() {
			continue
		}
		at := len(buf)
		buf = append(append(append(buf, "field "...), f.name...), ' ')
		val := len(buf)
		var ok bool
		if buf, ok = appendPlainJSON(buf, fv); !ok {
			js, err := json.Marshal(fv.Interface())
			if err != nil {
				return buf[:at], ends, fmt.Errorf("encoding field %s: %w", f.name, err)
			}
			buf = append(buf[:val], js...)
		}
		ends = append(ends, len(buf))
	}
	return buf, ends, nil
}

// keyField is a field of a spec that enters the key, by its TOML name.
type keyField struct {
	name  string
	index int
}

var keyFields sync.Map // reflect.Type -> []keyField

// keyFieldsOf returns the fields of the spec type t that enter the key,
// sorted by name: worked out once a type.
func keyFieldsOf(t reflect.Type) []keyField {
	if fs, ok := keyFields.Load(t); ok {
		return fs.([]keyField)
	}
	var fs []keyField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
		if name == "" || name == "-" || sf.Tag.Get("key") == "-" {
			continue
		}
		fs = append(fs, keyField{name, i})
	}
	slices.SortFunc(fs, func(a, b keyField) int { return strings.Compare(a.name, b.name) })
	keyFields.Store(t, fs)
	return fs
}

// plainSize is how long appendPlainJSON's text of v is, without escapes.
func plainSize(v reflect.Value) int {
	switch v.Type() {
	case stringType:
		return v.Len() + 2
	case stringsType:
		n := 2
		for i := 0; i < v.Len(); i++ {
			n += v.Index(i).Len() + 3
		}
		return n
	}
	return 0
}

// appendPlainJSON appends json.Marshal's text for a string or a list of
// strings of printable ASCII, made without reflection's encoder: most
// fields of most steps are such. ok is false for anything else (control
// characters, other Unicode), which json.Marshal encodes.
func appendPlainJSON(b []byte, v reflect.Value) ([]byte, bool) {
	// Only the plain types: a named one may have its own MarshalJSON.
	switch v.Type() {
	case stringType:
		return appendPlain(b, v.String())
	case stringsType:
		b = append(b, '[')
		for i := 0; i < v.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendPlain(b, v.Index(i).String()); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	}
	return b, false
}

var (
	stringType  = reflect.TypeFor[string]()
	stringsType = reflect.TypeFor[[]string]()
)

// appendPlain appends s quoted as json.Marshal quotes it, when s is
// printable ASCII: the quote and the backslash escaped, and <, > and &
// as json.Marshal writes them for HTML. ok is false for any other byte.
func appendPlain(b []byte, s string) ([]byte, bool) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			return b, false
		}
		var esc string
		switch c {
		case '"':
			esc = `\"`
		case '\\':
			esc = `\\`
		case '<':
			esc = `\u003c`
		case '>':
			esc = `\u003e`
		case '&':
			esc = `\u0026`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

func quote(p string) string {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == '"' || c == '\\' || c >= 0x7f {
			return strconv.Quote(p)
		}
	}
	return p
}
