// Package atomicfile is bottle's one way of writing a file that readers
// must see whole or not at all: the cache's blobs and results, the
// workspace state, the file-hash index and the parsed-config cache.
//
// A write goes to a temporary file, which is synced, renamed over the
// destination, and then the destination's folder is synced so that the
// rename itself survives a crash. A killed writer leaves at most a
// temporary file behind, never a half-written destination.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// File is a temporary file that becomes its destination on Commit.
type File struct {
	*os.File
	dst  string
	done bool
}

// Create starts writing dst. The temporary file is made in tmpDir, or in
// dst's own folder when tmpDir is "" (a rename must not cross file
// systems). perm is the mode the destination ends up with; the returned
// file is writable whatever perm says.
func Create(dst, tmpDir string, perm fs.FileMode) (*File, error) {
	if tmpDir == "" {
		tmpDir = filepath.Dir(dst)
	}
	f, err := New(tmpDir, "."+filepath.Base(dst)+".tmp-", perm)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", dst, err)
	}
	f.dst = dst
	return f, nil
}

// New starts writing a file whose destination is known only at the end
// (a blob named by its digest): give it to CommitAs.
func New(tmpDir, prefix string, perm fs.FileMode) (*File, error) {
	for range 100 {
		name := filepath.Join(tmpDir, prefix+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &File{File: f}, nil
	}
	return nil, fmt.Errorf("too many temporary-file collisions in %s", tmpDir)
}

// Commit syncs the temporary file, renames it over the destination
// (creating the destination's folder if it is missing) and syncs that
// folder. After a failed Commit nothing is left behind.
func (f *File) Commit() error { return f.CommitAs(f.dst) }

// CommitAs is Commit to dst.
func (f *File) CommitAs(dst string) error { return f.commit(dst, true) }

// CommitUnsynced is CommitAs without waiting for the disk: the rename is
// still atomic for every process, but after a system crash dst may be
// short or empty. It is only for content that is checked whenever it is
// read and can be had again (the cache's blobs), or that the caller has
// already made durable by a sync of its own (the cache's result manifests,
// committed in groups behind one syncfs).
func (f *File) CommitUnsynced(dst string) error { return f.commit(dst, false) }

func (f *File) commit(dst string, sync bool) error {
	f.dst = dst
	if f.done {
		return fmt.Errorf("writing %s: already committed or aborted", f.dst)
	}
	f.done = true
	var err error
	if sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.dst)
		if errors.Is(err, fs.ErrNotExist) {
			if err = os.MkdirAll(filepath.Dir(f.dst), 0o755); err == nil {
				err = os.Rename(f.Name(), f.dst)
			}
		}
	}
	if err == nil && sync {
		err = syncDir(filepath.Dir(f.dst))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", f.dst, err)
	}
	return nil
}

// Abort drops the temporary file. It is a no-op after Commit, so it can be
// deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// Write writes b to dst atomically, with the temporary file in dst's folder.
func Write(dst string, b []byte, perm fs.FileMode) error {
	return WriteIn(dst, "", b, perm)
}

// WriteIn is Write with the temporary file in tmpDir.
func WriteIn(dst, tmpDir string, b []byte, perm fs.FileMode) error {
	f, err := Create(dst, tmpDir, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.File.Write(b); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return f.Commit()
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
