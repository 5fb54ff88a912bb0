package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// decodeWhole is decodeTOML without pieces.
func decodeWhole(data []byte) (map[string]any, []toml.Key, error) {
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	return raw, md.Keys(), err
}

// decodeInPieces is decodeTOML with pieces of size bytes.
func decodeInPieces(t testing.TB, data []byte, size int) (map[string]any, []toml.Key, error) {
	t.Helper()
	defer func(n int) { chunkSize = n }(chunkSize)
	chunkSize = size
	raw, keys, err := decodeTOML(data, true)
	if err != nil {
		return nil, nil, err
	}
	if r, k, err := decodeTOML(data, false); err != nil || k != nil || !reflect.DeepEqual(r, raw) {
		t.Errorf("without keys: %v, %d keys, another tree: %v", err, len(k), !reflect.DeepEqual(r, raw))
	}
	return raw, keys, nil
}

// sameDecode fails t unless data decodes in pieces exactly as whole: the
// same tree, the same matrix key order, the same error.
func sameDecode(t testing.TB, data []byte, size int) {
	t.Helper()
	want, wantKeys, wantErr := decodeWhole(data)
	got, gotKeys, err := decodeInPieces(t, data, size)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("error in pieces %v, whole %v", err, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded in pieces:\n%v\nwhole:\n%v", got, want)
	}
	if g, w := matrixKeyOrder(gotKeys), matrixKeyOrder(wantKeys); !reflect.DeepEqual(g, w) {
		t.Fatalf("matrix key order in pieces %v, whole %v", g, w)
	}
}

func TestDecodeInPieces(t *testing.T) {
	step := func(name string) string {
		return fmt.Sprintf("[steps.%s]\nkind = \"exec\"\ninputs = [\"src/%s\"]\nrun = \"cat src/%s > out/%s\"\noutputs = [\"out/%s\"]\n\n", name, name, name, name, name)
	}
	steps := func(names ...string) string {
		var b strings.Builder
		for _, n := range names {
			b.WriteString(step(n))
		}
		return b.String()
	}
	tests := []struct {
		name   string
		src    string
		pieces bool // splitSteps cuts it
		merged bool // and the pieces decode to the whole (else it is decoded whole)
	}{
		{"steps only", steps("a", "b", "c", "d"), true, true},
		{"settings and vars first", "[settings]\njobs = 2\n[vars]\nv = \"1\"\n" + steps("a", "b", "c"), true, true},
		{"subtables and matrices", steps("a") + "[steps.b]\nkind = \"exec\"\nrun = \"x\"\n[steps.b.matrix]\nz = [\"1\", \"2\"]\na = [\"3\"]\n" + steps("c") + "[steps.d]\nkind = \"exec\"\nmatrix = { y = [\"1\"], x = [\"2\"] }\nrun = \"y\"\n", true, true},
		{"settings after the steps", steps("a", "b") + "[settings]\njobs = 2\n", false, false},
		{"vars header after the steps", steps("a", "b") + "[vars]\nv = \"1\"\n" + steps("c"), false, false},
		{"a step in two pieces", steps("a", "b", "a"), true, false},
		{"a subtable of an earlier piece's step", steps("a", "b") + "[steps.a.environment]\nX = \"1\"\n", true, false},
		{"a header inside a multi-line string", steps("a") + "[steps.b]\nkind = \"exec\"\nrun = \"\"\"\n[steps.c]\nkind = 1\n\"\"\"\n" + steps("d"), true, true},
		{"a header inside a multi-line literal string", steps("a") + "[steps.b]\nkind = \"exec\"\nrun = '''\n[steps.c]\n'''\n" + steps("d"), true, true},
		{"nested arrays", steps("a") + "[steps.b]\nkind = \"exec\"\nrun = \"x\"\nmatrix = { a = [\n[\"1\"],\n] }\n" + steps("c"), false, false},
		{"[steps] first", "[steps]\n" + steps("a", "b"), false, false},
		{"[steps] again later", steps("a", "b") + "[steps]\n" + steps("c"), false, false},
		{"dotted steps key first", "steps.x.kind = \"exec\"\nsteps.x.run = \"y\"\n" + steps("a", "b"), false, false},
		{"inline steps first", "steps = { x = { kind = \"exec\", run = \"y\" } }\n" + steps("a", "b"), false, false},
		{"quoted steps key first", "\"steps\".x.kind = \"exec\"\n" + steps("a", "b"), false, false},
		{"array of tables later", steps("a", "b") + "[[steps.c]]\nkind = \"exec\"\n", false, false},
		{"a syntax error late", steps("a", "b", "c") + "[steps.d]\nkind = \"exec\nrun = 1\n", true, false},
		{"a duplicate key late", steps("a", "b", "c") + "[steps.d]\nkind = \"exec\"\nkind = \"exec\"\n", true, false},
		{"CRLF lines", strings.ReplaceAll(steps("a", "b", "c"), "\n", "\r\n"), true, true},
		{"no final newline", strings.TrimRight(steps("a", "b", "c"), "\n"), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const size = 64
			chunks := splitSteps([]byte(tt.src), size)
			if got := len(chunks) > 1; got != tt.pieces {
				t.Errorf("cut in pieces: %v, want %v", got, tt.pieces)
			}
			// Not only the same result: the pieces were what gave it.
			if tt.pieces {
				if _, _, merged := decodeChunks(chunks, true); merged != tt.merged {
					t.Errorf("decoded in pieces: %v, want %v", merged, tt.merged)
				}
			}
			sameDecode(t, []byte(tt.src), size)
		})
	}
}

// TestSplitStepsPieces: the pieces are the document, each but the first
// starts with a [steps. header, and each is about the size asked.
func TestSplitStepsPieces(t *testing.T) {
	src := genW2(4, 50)
	for _, size := range []int{1, 100, 1000, len(src) / 3} {
		chunks := splitSteps(src, size)
		if len(chunks) < 2 {
			t.Fatalf("size %d: %d pieces of %d bytes", size, len(chunks), len(src))
		}
		var joined []byte
		for i, c := range chunks {
			joined = append(joined, c...)
			if i > 0 && !strings.HasPrefix(string(c), "[steps.") {
				t.Errorf("size %d: piece %d starts %q", size, i, string(c[:min(len(c), 20)]))
			}
			if i < len(chunks)-1 && len(c) < size {
				t.Errorf("size %d: piece %d of %d bytes, smaller than asked", size, i, len(c))
			}
		}
		if string(joined) != string(src) {
			t.Errorf("size %d: the pieces are not the document", size)
		}
		sameDecode(t, src, size)
	}
	if c := splitSteps(src, len(src)); c != nil {
		t.Errorf("a document smaller than two pieces was cut in %d", len(c))
	}
}

// FuzzDecodeInPieces: whatever the document, decoding it in pieces gives
// what decoding it whole does.
func FuzzDecodeInPieces(f *testing.F) {
	for _, s := range []string{
		"[steps.a]\nkind = \"exec\"\n[steps.b]\nkind = \"exec\"\n[steps.c]\nrun = 1\n",
		"[steps.a]\nrun = \"\"\"\n[steps.b]\n\"\"\"\n[steps.c]\nx = 1\n",
		"[steps]\n[steps.a]\nx = 1\n[steps.b]\ny = 2\n[steps]\n",
		"x = 1\n[steps.a]\nx = [\n1,\n]\n[steps.a.b]\nc = 2\n[steps.b]\n",
		"steps.a = 1\n[steps.b]\nx = 1\n[steps.c]\ny = 1\n",
		string(genW2(2, 3)),
	} {
		f.Add([]byte(s), uint8(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, size uint8) {
		sameDecode(t, data, int(size)+1)
	})
}
