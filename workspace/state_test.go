package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/cache"
)

func TestRecordLoadCompact(t *testing.T) {
	root := t.TempDir()
	dir := Dir(root)
	s, err := Load(root)
	if err != nil || len(s.Steps) != 0 {
		t.Fatalf("empty state: %v, %v", s.Steps, err)
	}
	a := &Step{Name: "a", Key: cache.Key(cache.SumString("ka")), Values: map[string]string{"v": "1"}}
	b := &Step{Name: "b", Key: cache.Key(cache.SumString("kb"))}
	if err := s.Record(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget("b"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The journal alone is enough.
	s2, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Steps) != 1 || s2.Steps["a"].Key != a.Key || s2.Steps["a"].Values["v"] != "1" {
		t.Fatalf("after journal replay: %+v", s2.Steps)
	}
	if err := s2.Compact(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.journal")); !os.IsNotExist(err) {
		t.Error("journal kept after compaction")
	}
	s3, _ := Load(root)
	if len(s3.Steps) != 1 || s3.Steps["a"].Key != a.Key {
		t.Fatalf("after compaction: %+v", s3.Steps)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".gitignore")); string(b) != "*\n" {
		t.Errorf(".gitignore = %q", b)
	}
}

func TestTornJournalLine(t *testing.T) {
	root := t.TempDir()
	dir := Dir(root)
	s, _ := Load(root)
	s.Record(&Step{Name: "a", Key: cache.Key(cache.SumString("ka"))})
	s.Close()
	f, _ := os.OpenFile(filepath.Join(dir, "state.journal"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"name":"b","key":"0000`) // a kill in the middle of a line
	f.Close()
	s2, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Steps) != 1 || s2.Steps["a"] == nil {
		t.Errorf("steps = %v", s2.Steps)
	}
}

func TestDamagedSnapshot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(Dir(root), 0o755)
	os.WriteFile(filepath.Join(Dir(root), snapshotName), []byte("{oops"), 0o644)
	s, err := Load(root)
	if s == nil || len(s.Steps) != 0 || err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("state %v, err %v: want an empty state and a warning", s, err)
	}
}

func TestLockWaitsAndSaysWho(t *testing.T) {
	dir := t.TempDir()
	l1, err := Acquire(context.Background(), dir, "first", nil)
	if err != nil {
		t.Fatal(err)
	}
	var holder string
	got := make(chan *Lock)
	go func() {
		l2, err := Acquire(context.Background(), dir, "second", func(h string) { holder = h })
		if err != nil {
			t.Error(err)
		}
		got <- l2
	}()
	select {
	case <-got:
		t.Fatal("second lock taken while the first is held")
	case <-time.After(200 * time.Millisecond):
	}
	l1.Release()
	l2 := <-got
	defer l2.Release()
	if !strings.Contains(holder, "first") || !strings.Contains(holder, "pid") {
		t.Errorf("holder = %q", holder)
	}
	// A cancelled wait gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, dir, "third", nil); err == nil {
		t.Error("lock taken twice")
	}
}
