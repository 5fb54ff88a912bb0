package fakesmol

import (
	"bytes"
	"strings"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	m := Manifest{Image: "h:5000/r:t", Digest: "sha256:" + strings.Repeat("a", 64), Cpus: 2, Mem: 1024}
	for _, prefix := range [][]byte{nil, []byte("#!/bin/sh\nexit 1\n")} {
		b, err := Encode(prefix, []byte("payload"), m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, prefix) || !bytes.HasPrefix(b[len(b)-FooterSize:], []byte(Magic)) {
			t.Fatalf("layout wrong: %q", b)
		}
		got, err := Decode(b)
		if err != nil || got != m {
			t.Fatalf("Decode = %+v, %v; want %+v", got, err, m)
		}
		again, _ := Encode(prefix, []byte("payload"), m)
		if !bytes.Equal(b, again) {
			t.Error("Encode is not deterministic")
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := Encode(nil, []byte("p"), Manifest{Image: "x"})
	cases := map[string][]byte{
		"short":       []byte("SMOLPACK"),
		"no magic":    append([]byte{}, bytes.Repeat([]byte{0}, 100)...),
		"truncated":   good[:len(good)-1],
		"bad offsets": append(append([]byte{}, good[:len(good)-48]...), bytes.Repeat([]byte{0xff}, 48)...),
	}
	for name, b := range cases {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: Decode accepted %q", name, b)
		}
	}
}
