package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// CommitAs and CommitUnsynced land the content at a name known only at the
// end (a blob named by its digest), in a folder that may not exist yet,
// with the mode asked for and nothing left in the temporary folder; a
// second commit fails, and an abort after a commit removes nothing.
func TestCommitAsAndUnsynced(t *testing.T) {
	for _, tt := range []struct {
		name   string
		commit func(f *File, dst string) error
	}{
		{"CommitAs", (*File).CommitAs},
		{"CommitUnsynced", (*File).CommitUnsynced},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tmp := filepath.Join(dir, "tmp")
			os.Mkdir(tmp, 0o755)
			f, err := New(tmp, "blob-", 0o444)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("content"))
			dst := filepath.Join(dir, "blobs", "ab", "abcdef")
			if err := tt.commit(f, dst); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(dst); string(b) != "content" {
				t.Errorf("content = %q", b)
			}
			if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o444 {
				t.Errorf("mode %v, %v", fi.Mode(), err)
			}
			if es, _ := os.ReadDir(tmp); len(es) != 0 {
				t.Errorf("tmp holds %d entries after commit", len(es))
			}
			if err := tt.commit(f, dst); err == nil {
				t.Error("a second commit succeeded")
			}
			f.Abort() // a no-op now
			if _, err := os.Stat(dst); err != nil {
				t.Errorf("abort after commit removed the destination: %v", err)
			}
		})
	}
}
