package cache

// The disk layout, after Go's build cache:
//
//	README                 what this folder is
//	blobs/ab/<hex>         content by sha256, read-only once written
//	results/ab/<hex>.json  result manifests by key, written after their blobs
//	tmp/                   temporary files of atomic writes
//	corrupt/               blobs and manifests that failed verification
//	holds/                 results in use by running applies (see hold.go)

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// ErrMiss is wrapped by every error that means "not in the cache": not
// found, or found damaged. The reason is in the wrapping error's text.
var ErrMiss = errors.New("cache miss")

// missError is a miss with its reason.
type missError struct{ reason string }

func (e *missError) Error() string        { return e.reason }
func (e *missError) Is(target error) bool { return target == ErrMiss }

// CorruptError is a blob whose content does not match its digest. It counts
// as a miss.
type CorruptError struct {
	Digest  Digest
	Got     Digest
	MovedTo string
}

func (e *CorruptError) Error() string {
	s := fmt.Sprintf("blob %s corrupt: want %s, got %s", e.Digest.Short(), e.Digest.Short(), e.Got.Short())
	if e.MovedTo != "" {
		s += " (moved to " + e.MovedTo + ")"
	}
	return s
}
func (e *CorruptError) Is(target error) bool { return target == ErrMiss }

const readme = `This folder is a bottle cache: build results by key and their content by
sha256. Any number of bottle processes and workspaces may share it. It is
safe to delete: bottle rebuilds what it needs. Use 'bottle cache stats',
'bottle cache prune --max-size SIZE' and 'bottle cache verify'.
`

// useRefresh is how stale a result's mtime may get before a use refreshes it
// (the LRU clock of prune).
const useRefresh = time.Hour

// Disk is a cache on the local file system.
type Disk struct {
	dir string
}

// Open opens the cache at dir, creating its layout if needed.
func Open(dir string) (*Disk, error) {
	for _, sub := range []string{"blobs", "results", "tmp", "corrupt", "holds"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("opening cache %s: %w", dir, err)
		}
	}
	rp := filepath.Join(dir, "README")
	if _, err := os.Stat(rp); errors.Is(err, fs.ErrNotExist) {
		_ = writeAtomic(filepath.Join(dir, "tmp"), rp, []byte(readme), 0o644)
	}
	return &Disk{dir: dir}, nil
}

// Dir is the cache's folder.
func (c *Disk) Dir() string { return c.dir }

// BlobPath is where the blob with digest d lives.
func (c *Disk) BlobPath(d Digest) string { return blobPath(c.dir, d) }

func blobPath(dir string, d Digest) string {
	h := d.String()
	return filepath.Join(dir, "blobs", h[:2], h)
}

func resultPath(dir string, k Key) string {
	h := k.String()
	return filepath.Join(dir, "results", h[:2], h+".json")
}

// HasBlob reports whether the blob exists (it is not re-hashed).
func (c *Disk) HasBlob(d Digest) bool {
	_, err := os.Stat(c.BlobPath(d))
	return err == nil
}

// PutFile copies the file at path into the CAS, hashing it while copying.
func (c *Disk) PutFile(path string) (Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, 0, err
	}
	defer f.Close()
	return c.PutReader(f)
}

// PutBytes stores b.
func (c *Disk) PutBytes(b []byte) (Digest, error) {
	d := SumBytes(b)
	if c.HasBlob(d) {
		return d, nil
	}
	if err := c.commitBlob(d, func(w io.Writer) (int64, error) {
		n, err := w.Write(b)
		return int64(n), err
	}, int64(len(b))); err != nil {
		return Digest{}, err
	}
	return d, nil
}

// PutReader stores everything r yields: into a temporary file, fsync'd,
// then renamed into place. A blob that already exists is kept as it is.
func (c *Disk) PutReader(r io.Reader) (Digest, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "blob-*")
	if err != nil {
		return Digest{}, 0, fmt.Errorf("storing blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := copyHashing(tmp, h, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Digest{}, 0, fmt.Errorf("storing blob: %w", err)
	}
	var d Digest
	h.Sum(d[:0])
	dst := c.BlobPath(d)
	if _, err := os.Stat(dst); err == nil {
		return d, n, nil
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return Digest{}, 0, fmt.Errorf("storing blob: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return Digest{}, 0, fmt.Errorf("storing blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Digest{}, 0, fmt.Errorf("storing blob: %w", err)
	}
	return d, n, nil
}

func (c *Disk) commitBlob(d Digest, write func(io.Writer) (int64, error), size int64) error {
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "blob-*")
	if err != nil {
		return fmt.Errorf("storing blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := write(tmp)
	if err == nil && n != size {
		err = fmt.Errorf("wrote %d of %d bytes", n, size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o444)
	}
	dst := c.BlobPath(d)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o755)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("storing blob %s: %w", d.Short(), err)
	}
	return nil
}

// ReadBlob returns a blob's content, verified. A corrupt blob is moved
// aside and reported as a *CorruptError.
func (c *Disk) ReadBlob(d Digest) ([]byte, error) {
	return readBlob(c.dir, d, true)
}

func readBlob(dir string, d Digest, quarantine bool) ([]byte, error) {
	p := blobPath(dir, d)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &missError{fmt.Sprintf("blob %s missing", d.Short())}
	}
	if err != nil {
		return nil, err
	}
	if got := SumBytes(b); got != d {
		ce := &CorruptError{Digest: d, Got: got}
		if quarantine {
			ce.MovedTo = moveAside(dir, p, d.String())
		}
		return nil, ce
	}
	return b, nil
}

// moveAside quarantines a damaged file in corrupt/ and returns where it went.
func moveAside(dir, p, name string) string {
	dst := filepath.Join(dir, "corrupt", name+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Rename(p, dst); err != nil {
		os.Remove(p)
		return ""
	}
	return dst
}

// RestoreFile copies blob d to dst: into a temporary file beside dst,
// verifying the digest while copying, then renamed over dst. A corrupt blob
// is moved aside and dst is left untouched.
func (c *Disk) RestoreFile(d Digest, dst string, perm fs.FileMode) error {
	p := c.BlobPath(d)
	src, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &missError{fmt.Sprintf("blob %s missing", d.Short())}
	}
	if err != nil {
		return err
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".bottle-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = copyHashing(tmp, h, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restoring %s: %w", dst, err)
	}
	var got Digest
	h.Sum(got[:0])
	if got != d {
		src.Close()
		return &CorruptError{Digest: d, Got: got, MovedTo: moveAside(c.dir, p, d.String())}
	}
	if err := os.Chmod(tmp.Name(), perm); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// GetResult loads the result for k and marks it used. Every blob it names
// must exist.
func (c *Disk) GetResult(k Key) (*Result, error) {
	r, err := peekResult(c.dir, k, true)
	if err != nil {
		return nil, err
	}
	p := resultPath(c.dir, k)
	if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > useRefresh {
		now := time.Now()
		_ = os.Chtimes(p, now, now)
	}
	return r, nil
}

// PeekResult is GetResult without any write: planning uses it.
func (c *Disk) PeekResult(k Key) (*Result, error) { return peekResult(c.dir, k, false) }

func peekResult(dir string, k Key, quarantine bool) (*Result, error) {
	p := resultPath(dir, k)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &missError{"result not found"}
	}
	if err != nil {
		return nil, fmt.Errorf("reading result %s: %w", k.Short(), err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil || r.Key != k {
		if quarantine {
			moveAside(dir, p, k.String()+".json")
		}
		if err == nil {
			err = fmt.Errorf("it names key %s", r.Key.Short())
		}
		return nil, &missError{fmt.Sprintf("result manifest corrupt: %v", err)}
	}
	for _, d := range r.Blobs() {
		if _, err := os.Stat(blobPath(dir, d)); err != nil {
			return nil, &missError{fmt.Sprintf("blob %s missing", d.Short())}
		}
	}
	return &r, nil
}

// PutResult stores r's manifest; every blob it names must already exist.
func (c *Disk) PutResult(r *Result) error {
	for _, d := range r.Blobs() {
		if !c.HasBlob(d) {
			return fmt.Errorf("storing result %s: blob %s is not in the cache", r.Key.Short(), d.Short())
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	p := resultPath(c.dir, r.Key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(c.dir, "tmp"), p, b, 0o444)
}

func writeAtomic(tmpDir, dst string, b []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(tmpDir, "w-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

// Reader reads a cache without ever writing to it, not even to create it:
// planning and `bottle logs` use it.
type Reader struct{ dir string }

// NewReader reads the cache at dir, which need not exist.
func NewReader(dir string) *Reader { return &Reader{dir: dir} }

// PeekResult loads the result for k without marking it used.
func (r *Reader) PeekResult(k Key) (*Result, error) { return peekResult(r.dir, k, false) }

// ReadBlob returns a blob's content, verified; a corrupt one is reported,
// not moved.
func (r *Reader) ReadBlob(d Digest) ([]byte, error) { return readBlob(r.dir, d, false) }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyHashing copies r to w and into h with a pooled buffer (io.Copy from
// an *os.File would allocate a new buffer on every call).
func copyHashing(w io.Writer, h hash.Hash, r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			h.Write(buf[:n])
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
