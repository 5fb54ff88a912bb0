package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// genW2 writes a bottle.toml shaped like the W2 benchmark workload
// (/work/shared/bench/gen): layers x width exec steps, each with its own
// five inputs plus the outputs of two or three steps of the layer before.
func genW2(layers, width int) []byte {
	var b strings.Builder
	for l := 0; l < layers; l++ {
		for s := 0; s < width; s++ {
			var ins []string
			for i := 0; i < 5; i++ {
				ins = append(ins, fmt.Sprintf("src/l%02d/s%03d/i%d.txt", l, s, i))
			}
			if l > 0 {
				for _, k := range []int{s, (s + 7) % width, (s + 31) % width} {
					ins = append(ins, fmt.Sprintf("out/l%02d/s%03d.out", l-1, k))
				}
			}
			out := fmt.Sprintf("out/l%02d/s%03d.out", l, s)
			fmt.Fprintf(&b, "[steps.l%02d_s%03d]\nkind = \"exec\"\ninputs = [\"%s\"]\nrun = \"mkdir -p out/l%02d && cat %s | sha256sum > %s\"\noutputs = [\"%s\"]\n\n",
				l, s, strings.Join(ins, `", "`), l, strings.Join(ins, " "), out, out)
		}
	}
	return []byte(b.String())
}

func BenchmarkParseW2(b *testing.B) {
	data := genW2(50, 100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse("bottle.toml", data, kinds)
		if err != nil {
			b.Fatal(err)
		}
		if len(f.Steps) != 5000 {
			b.Fatalf("%d steps", len(f.Steps))
		}
	}
}

func BenchmarkKeyPositionsW2(b *testing.B) {
	data := genW2(50, 100)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		keyPositions(data)
	}
}

// BenchmarkTOMLDecodeW2 is toml.Decode alone, which Parse falls back to.
func BenchmarkTOMLDecodeW2(b *testing.B) {
	data := genW2(50, 100)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var m map[string]any
		if _, err := toml.Decode(string(data), &m); err != nil {
			b.Fatal(err)
		}
	}
}
