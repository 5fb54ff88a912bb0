package config

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"testing"
)

func TestPositions(t *testing.T) {
	tests := []struct {
		name string
		m    map[string]Pos
	}{
		{"none", nil},
		{"one", map[string]Pos{"run": {3, 1}}},
		{"several", map[string]Pos{"run": {3, 1}, "kind": {2, 1}, "outputs": {400000, 17}, "": {1, 1}, "é.x": {9, 200}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := PositionsOf(tt.m)
			if n := len(ps.Map()); n != len(tt.m) {
				t.Errorf("%d keys, want %d", n, len(tt.m))
			}
			for k, want := range tt.m {
				if got, ok := ps.Get(k); !ok || got != want {
					t.Errorf("Get(%q) = %v, %v; want %v", k, got, ok, want)
				}
			}
			if p, ok := ps.Get("missing"); ok {
				t.Errorf("Get(missing) = %v, true", p)
			}
			back, ok := DecodePositions(ps.Encoded())
			if !ok || back != ps {
				t.Fatalf("DecodePositions(Encoded()) = %v, %v", back, ok)
			}
			if want := tt.m; len(want) > 0 && !reflect.DeepEqual(back.Map(), want) {
				t.Errorf("Map = %v, want %v", back.Map(), want)
			}
			var prev string
			for i, k := range func() []string {
				var ks []string
				for k := range ps.All() {
					ks = append(ks, k)
				}
				return ks
			}() {
				if i > 0 && k <= prev {
					t.Errorf("All yields %q after %q: want name order", k, prev)
				}
				prev = k
			}
		})
	}
}

func TestDecodePositionsRefusesDamage(t *testing.T) {
	good := PositionsOf(map[string]Pos{"kind": {2, 1}, "run": {3, 1}}).Encoded()
	for name, s := range map[string]string{
		"truncated name":   good[:3],
		"truncated number": good[:len(good)-1],
		"length past end":  "\x7fkind",
		"out of order":     PositionsOf(map[string]Pos{"run": {3, 1}}).Encoded() + PositionsOf(map[string]Pos{"kind": {2, 1}}).Encoded(),
		"repeated":         PositionsOf(map[string]Pos{"run": {3, 1}}).Encoded() + PositionsOf(map[string]Pos{"run": {3, 1}}).Encoded(),
		"unending varint":  "\x04kind\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
	} {
		if p, ok := DecodePositions(s); ok {
			t.Errorf("%s: DecodePositions(%q) = %v, true; want false", name, s, p.Map())
		}
	}
}

func TestPositionsThroughGob(t *testing.T) {
	in := Group{Name: "g", FieldPos: PositionsOf(map[string]Pos{"needs": {4, 1}})}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(in); err != nil {
		t.Fatal(err)
	}
	var out Group
	if err := gob.NewDecoder(&buf).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if p, ok := out.FieldPos.Get("needs"); !ok || p != (Pos{4, 1}) {
		t.Errorf("after gob, needs at %v, %v; want 4:1", p, ok)
	}
}
