package workspace

import (
	"bytes"
	"encoding/gob"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/bottle-build/bottle/cache"
)

func sampleSteps() []*Step {
	return []*Step{
		{Name: "a", Key: cache.Key(cache.SumString("ka")), Result: cache.SumString("ra"), Log: cache.SumString("la"),
			Applied: time.Unix(1_700_000_000, 123_456_789),
			Files: []cache.File{
				{Path: "out/a", Digest: cache.SumString("x"), Size: 1, Mode: 0o755},
				{Path: "out/dir", Mode: fs.ModeDir | 0o755},
				{Path: "out/link", Digest: cache.SumString("t"), Size: 1, Mode: fs.ModeSymlink | 0o777, Link: "t"},
				{Path: "naïve \xff name", Size: -1},
			},
			Values: map[string]string{"ref": "host/x@sha256:1", "z": "", "": "empty name"}},
		{Name: "b"}, // nothing else set: a zero Applied time included
		{Name: "c[1,x]", Values: map[string]string{}},
	}
}

// normal is how a step reads back: an empty map or list as nil, times as
// instants.
func normal(steps []*Step) []*Step {
	var out []*Step
	for _, st := range steps {
		c := *st
		if len(c.Values) == 0 {
			c.Values = nil
		}
		if len(c.Files) == 0 {
			c.Files = nil
		}
		c.Applied = time.Unix(c.Applied.Unix(), int64(c.Applied.Nanosecond()))
		out = append(out, &c)
	}
	return out
}

func TestSnapshotRoundTrip(t *testing.T) {
	want := normal(sampleSteps())
	got, ok := decodeSnapshot(encodeSnapshot(sampleSteps()))
	if !ok {
		t.Fatal("decoding what was encoded failed")
	}
	if !reflect.DeepEqual(normal(got), want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if !got[1].Applied.IsZero() {
		t.Errorf("a zero time reads back as %v", got[1].Applied)
	}
}

// TestSnapshotDamaged cuts and flips the file everywhere: never a panic,
// and a cut file is always damaged.
func TestSnapshotDamaged(t *testing.T) {
	b := encodeSnapshot(sampleSteps())
	for n := len(snapshotMagic); n < len(b); n++ {
		if _, ok := decodeSnapshot(b[:n]); ok {
			t.Errorf("cut at %d of %d: read as whole", n, len(b))
		}
	}
	for i := len(snapshotMagic); i < len(b); i++ {
		for _, x := range []byte{0xff, 0x80, 0x01} {
			c := bytes.Clone(b)
			c[i] ^= x
			decodeSnapshot(c) // must not panic; may read as a different state
		}
	}
	if _, ok := decodeSnapshot(append(bytes.Clone(b), 0)); ok {
		t.Error("a trailing byte went unnoticed")
	}
}

// TestOldSnapshot loads the gob state bottle wrote before, and Compact
// replaces it with the new file.
func TestOldSnapshot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(Dir(root), 0o755)
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(gobSnapshot{Version: 1, Steps: sampleSteps()}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(Dir(root), oldSnapshotName), buf.Bytes(), 0o644)
	s, err := Load(root)
	if err != nil || len(s.Steps) != 3 || s.Steps["a"].Values["ref"] != "host/x@sha256:1" || len(s.Steps["a"].Files) != 4 {
		t.Fatalf("old state: %v, %v", s.Steps, err)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(Dir(root), oldSnapshotName)); !os.IsNotExist(err) {
		t.Errorf("the old state is still there: %v", err)
	}
	s2, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c[1,x]"} {
		if !reflect.DeepEqual(normal([]*Step{s2.Steps[name]}), normal([]*Step{s.Steps[name]})) {
			t.Errorf("%s after compact: %+v, want %+v", name, s2.Steps[name], s.Steps[name])
		}
	}
}
