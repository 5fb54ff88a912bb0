package workspace

import (
	"os"
	"testing"
)

// TestLogBusy: a log is busy from CreateLog until its file is closed, and
// CreateLog empties what an earlier run left.
func TestLogBusy(t *testing.T) {
	root := t.TempDir()
	if err := Init(root); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(Dir(root)+"/logs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(LogPath(root, "a"), []byte("old run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(LogPath(root, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if LogBusy(reader) {
		t.Fatal("a log nobody writes is busy")
	}
	w, err := CreateLog(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := w.Stat(); fi.Size() != 0 {
		t.Errorf("CreateLog left %d bytes of the earlier log", fi.Size())
	}
	if !LogBusy(reader) {
		t.Error("a log being written is not busy")
	}
	w.Close()
	if LogBusy(reader) {
		t.Error("a closed log is still busy")
	}
}
