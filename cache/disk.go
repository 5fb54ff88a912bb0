package cache

// Writing and reading the cache: blobs, results, and the atomic-write
// helpers under them. Maintenance (stats, prune, verify) is in prune.go and
// verify.go; holds are in hold.go.

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/bottle-build/bottle/internal/atomicfile"
)

const readme = `This folder is a bottle cache: build results by key and their content by
sha256. Any number of bottle processes and workspaces may share it.

It is safe to delete: bottle rebuilds what it needs. To look after it, use
'bottle cache stats', 'bottle cache prune --max-size SIZE' and
'bottle cache verify'.
`

// useRefresh is how stale an entry's mtime may get before a use refreshes it
// (the LRU clock of prune), as in Go's build cache.
const useRefresh = time.Hour

// tmpMaxAge is the age after which prune takes a temporary file for the
// leftover of a killed process, and an unnamed blob for an abandoned one.
const tmpMaxAge = time.Hour

// bufSize is the copy buffer of every blob write and restore. Content that
// fits in it is hashed before anything is written, so storing a blob that
// is already there writes nothing.
const bufSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Disk is a cache on the local file system. Its methods may be called from
// many goroutines, and many processes may use one cache folder at once.
type Disk struct {
	dir      string
	readOnly bool // this user may read the cache but not write it
	// verified holds the blobs PutVerified stored in this process, with
	// their sizes: RestoreFile copies them without hashing them again.
	verified sync.Map

	mu    sync.Mutex
	holds map[*Hold]bool // live holds, which record every blob put (hold.go)

	// sync makes the listed files and folders of the cache durable
	// (commit.go); nil is the platform's own (syncfs on Linux). Tests set
	// it to watch the order of syncs and renames.
	sync func(paths []string) error
	// renamed holds the results/ folders CommitResults renamed manifests
	// into since the last Sync (under mu).
	renamed map[string]bool
}

// Open opens the cache at dir, creating its layout (mode 0755) and README if
// needed. A cache this user may read but not write (another user's, a
// read-only mount) opens read-only: see ReadOnly.
func Open(dir string) (*Disk, error) {
	err := create(dir)
	if err == nil {
		err = probeWrite(dir)
	}
	switch {
	case err == nil:
		return &Disk{dir: dir}, nil
	case notWritable(err) && readable(dir):
		return &Disk{dir: dir, readOnly: true}, nil
	}
	return nil, fmt.Errorf("opening cache %s: %w", dir, err)
}

func create(dir string) error {
	for _, sub := range []string{"blobs", "results", "tmp", "corrupt", "holds"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	rp := filepath.Join(dir, "README")
	if _, err := os.Stat(rp); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.WriteIn(rp, filepath.Join(dir, "tmp"), []byte(readme), 0o444); err != nil {
			return err
		}
	}
	return nil
}

// probeWrite checks that this user can write the cache: folders that exist
// say nothing about that.
func probeWrite(dir string) error {
	f, err := createTemp(filepath.Join(dir, "tmp"), "probe-", 0o600)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func notWritable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// readable reports whether dir has the layout of a cache this user can read.
func readable(dir string) bool {
	for _, sub := range []string{"blobs", "results"} {
		f, err := os.Open(filepath.Join(dir, sub))
		if err != nil {
			return false
		}
		f.Close()
	}
	return true
}

// ReadOnly reports whether this user can only read the cache. Then results
// are restored from it, but nothing is stored: PutFile only hashes, and
// PutResult returns ErrReadOnly.
func (c *Disk) ReadOnly() bool { return c.readOnly }

// Dir is the cache's folder.
func (c *Disk) Dir() string { return c.dir }

// BlobPath is where the blob with digest d lives (whether or not it exists).
func (c *Disk) BlobPath(d Digest) string { return blobPath(c.dir, d) }

func blobPath(dir string, d Digest) string {
	h := d.String()
	return filepath.Join(dir, "blobs", h[:2], h)
}

func resultPath(dir string, k Key) string {
	h := k.String()
	return filepath.Join(dir, "results", h[:2], h+".json")
}

// HasBlob reports whether the blob exists. It is not re-hashed.
func (c *Disk) HasBlob(d Digest) bool {
	_, err := os.Stat(c.BlobPath(d))
	return err == nil
}

// PutFile copies the file at path into the CAS, hashing it while copying,
// and returns its digest and size. The copy is atomic: a temporary file in
// tmp/, synced, its size checked against the source's, renamed into place.
// A blob that already exists is kept as it is.
func (c *Disk) PutFile(path string) (Digest, int64, error) { return c.putFile(path, true) }

// StageFile is PutFile without waiting for the disk: the blob is renamed
// into place unsynced, like one PutVerified fetched (a blob is verified
// whenever it is read, so one a system crash cut short is a miss, never a
// wrong file). A result naming it must be stored through CommitResults,
// which syncs every blob a result names before the result is visible.
// Many steps' blobs then cost one sync instead of two each.
func (c *Disk) StageFile(path string) (Digest, int64, error) { return c.putFile(path, false) }

func (c *Disk) putFile(path string, sync bool) (Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, 0, fmt.Errorf("storing %s in the cache: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Digest{}, 0, fmt.Errorf("storing %s in the cache: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Digest{}, 0, fmt.Errorf("storing %s in the cache: not a regular file (%v)", path, fi.Mode().Type())
	}
	d, n, err := c.putBlobAs(f, fi.Size(), nil, sync)
	if err != nil {
		return Digest{}, 0, fmt.Errorf("storing %s in the cache: %w", path, err)
	}
	return d, n, nil
}

// PutVerified stores exactly size bytes read from r as blob want, verifying
// them while they are copied: content that is longer, shorter or hashes to
// anything else is refused with an error that wraps ErrMiss (a
// *CorruptError for the wrong bytes) and nothing is stored. The remote
// cache fills the local one through it, so a blob is visible in the CAS
// only once it is known to be right. A blob already present is kept.
//
// Unlike PutFile it does not wait for the disk (no fsync): the blob can be
// downloaded again, and every read of a blob verifies it, so a system crash
// costs a download, never a wrong file. Syncing each of thousands of small
// fetched blobs would cost more than the download (2,000 files: seconds).
func (c *Disk) PutVerified(r io.Reader, want Digest, size int64) error {
	if c.readOnly {
		return fmt.Errorf("storing blob %s: %w", want.Short(), ErrReadOnly)
	}
	if _, _, err := c.putBlobAs(r, size, &want, false); err != nil {
		return fmt.Errorf("storing blob %s: %w", want.Short(), err)
	}
	// Its bytes were just hashed: a restore in this process may copy it
	// without hashing it again (a fetched result is restored at once).
	c.verified.Store(want, size)
	return nil
}

// putBlob stores what r yields. If want >= 0 the content must be exactly
// that long (a file that changes while it is copied is refused).
func (c *Disk) putBlob(r io.Reader, want int64) (d Digest, size int64, err error) {
	return c.putBlobAs(r, want, nil, true)
}

// putBlobAs is putBlob that, given expect (PutVerified), refuses content
// with any other digest before it becomes visible, and syncs the blob
// before its rename only when sync is set.
func (c *Disk) putBlobAs(r io.Reader, want int64, expect *Digest, sync bool) (d Digest, size int64, err error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if c.readOnly {
		// Nothing can be stored: the digest is all the caller gets.
		h := sha256.New()
		n, err := copyHashing(discard{}, r, h, *bp)
		if err != nil {
			return Digest{}, 0, err
		}
		if want >= 0 && n != want {
			return Digest{}, 0, fmt.Errorf("read %d bytes, want %d: the file changed while it was read", n, want)
		}
		h.Sum(d[:0])
		return d, n, nil
	}
	buf := *bp

	// Read up to one buffer first. Content that fits is hashed before
	// anything is written: a blob already present costs no write at all.
	h := sha256.New()
	n, err := io.ReadFull(r, buf)
	whole := err == io.EOF || err == io.ErrUnexpectedEOF
	if err != nil && !whole {
		return Digest{}, 0, err
	}
	h.Write(buf[:n])
	size = int64(n)
	if whole {
		if want >= 0 && size != want {
			return Digest{}, 0, sizeError(expect, "reading", want, size)
		}
		h.Sum(d[:0])
		if expect != nil && d != *expect {
			return Digest{}, 0, &CorruptError{Digest: *expect, Got: d}
		}
		c.recordBlob(d)
		if c.blobPresent(d, size) {
			return d, size, nil
		}
	}

	tmp, err := atomicfile.New(filepath.Join(c.dir, "tmp"), "blob-", 0o444)
	if err != nil {
		return Digest{}, 0, err
	}
	defer tmp.Abort()
	if _, err := tmp.Write(buf[:n]); err != nil {
		return Digest{}, 0, err
	}
	if !whole {
		m, err := copyHashing(tmp, r, h, buf)
		size += m
		if err != nil {
			return Digest{}, 0, err
		}
		if want >= 0 && size != want {
			return Digest{}, 0, sizeError(expect, "copying", want, size)
		}
		h.Sum(d[:0])
		if expect != nil && d != *expect {
			return Digest{}, 0, &CorruptError{Digest: *expect, Got: d}
		}
		c.recordBlob(d)
		if c.blobPresent(d, size) {
			return d, size, nil // another writer was first; the deferred Abort removes ours
		}
	}
	fi, err := tmp.Stat()
	if err != nil {
		return Digest{}, 0, err
	}
	if fi.Size() != size {
		return Digest{}, 0, fmt.Errorf("temporary file %s holds %d bytes, want %d", tmp.Name(), fi.Size(), size)
	}
	commit := tmp.CommitAs
	if !sync {
		commit = tmp.CommitUnsynced // PutVerified, StageFile
	}
	if err := commit(c.BlobPath(d)); err != nil {
		return Digest{}, 0, err
	}
	return d, size, nil
}

// sizeError is content of the wrong length: a file that changed while it
// was copied, or (when the digest was expected) content that is not the
// blob, which is a miss.
func sizeError(expect *Digest, while string, want, got int64) error {
	if expect != nil {
		return miss("got %d bytes, want %d", got, want)
	}
	return fmt.Errorf("size changed while %s: want %d bytes, got %d", while, want, got)
}

// blobPresent reports whether blob d exists with the given size. A present
// blob whose mtime is older than useRefresh gets it refreshed, so that prune
// does not take it for abandoned while a writer is about to name it. A blob
// of the wrong size is damaged: it is not present, and the caller's rename
// replaces it.
func (c *Disk) blobPresent(d Digest, size int64) bool {
	p := c.BlobPath(d)
	fi, err := os.Stat(p)
	if err != nil || fi.Size() != size || !fi.Mode().IsRegular() {
		return false
	}
	if now := time.Now(); now.Sub(fi.ModTime()) > useRefresh {
		_ = os.Chtimes(p, now, now)
	}
	return true
}

// copyHashing copies src to dst through buf, feeding h on the way. It is a
// plain loop rather than io.CopyBuffer, which ignores the buffer when src is
// an *os.File (an io.WriterTo).
func copyHashing(dst io.Writer, src io.Reader, h hash.Hash, buf []byte) (int64, error) {
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total, werr
			}
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

// createTemp creates a new file in dir with the given mode. The returned
// file is writable whatever the mode: the mode applies to later opens.
func createTemp(dir, prefix string, perm fs.FileMode) (*os.File, error) {
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("creating a temporary file in %s: too many collisions", dir)
}

// moveAside quarantines the damaged file p in corrupt/ as <hex>.<unixnano>
// and returns where it went; "" if it could not be moved (it is then
// removed, so that it is never read again).
func moveAside(dir, p, hex string) string {
	dst := filepath.Join(dir, "corrupt", hex+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Rename(p, dst); err != nil {
		os.Remove(p)
		return ""
	}
	return dst
}

// ReadBlob returns a blob's content, verified. A missing blob is a miss; a
// corrupt one is moved to corrupt/ and reported as a *CorruptError.
func (c *Disk) ReadBlob(d Digest) ([]byte, error) {
	return readBlob(c.dir, d, true)
}

func readBlob(dir string, d Digest, quarantine bool) ([]byte, error) {
	p := blobPath(dir, d)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, miss("blob %s missing", d.Short())
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Short(), err)
	}
	if got := SumBytes(b); got != d {
		ce := &CorruptError{Digest: d, Got: got, Path: p}
		if quarantine {
			ce.MovedTo = moveAside(dir, p, d.String())
		}
		return nil, ce
	}
	return b, nil
}

// RestoreFile copies blob d to dst with mode perm, creating dst's parent
// folders. The copy goes to a temporary file with a short name in tmpDir
// (which must be on dst's file system; beside dst when it is not), verified
// against the digest while copying, and is renamed over dst only if it
// matches: dst is never left half-written or wrong, and a kill leaves the
// partial copy in tmpDir, never beside the output. A missing or corrupt blob is a miss
// (errors.Is(err, ErrMiss)); a corrupt one is moved to corrupt/ and the error
// holds a *CorruptError.
//
// Unlike a store (internal/atomicfile), a restore does not fsync: the cache
// still holds the content, and planning checks every output against the
// digest the state recorded, so a crash costs a restore again, never a
// wrong file.
// Syncing each of thousands of restored files would cost more than that.
func (c *Disk) RestoreFile(d Digest, dst, tmpDir string, perm fs.FileMode) error {
	if err := c.restoreFile(d, dst, tmpDir, perm); err != nil {
		return fmt.Errorf("restoring %s: %w", dst, err)
	}
	return nil
}

func (c *Disk) restoreFile(d Digest, dst, tmpDir string, perm fs.FileMode) error {
	p := c.BlobPath(d)
	src, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return miss("blob %s missing", d.Short())
	}
	if err != nil {
		return err
	}
	defer src.Close()
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if tmpDir == "" {
		tmpDir = dir
	}
	tmp, err := createTemp(tmpDir, ".bottle-", 0o600)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := c.copyBlob(tmp, src, d); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	err = os.Rename(tmp.Name(), dst)
	if errors.Is(err, syscall.EXDEV) && tmpDir != dir {
		// dst is on another file system (a mount inside the workspace):
		// copy again, beside it.
		os.Remove(tmp.Name())
		committed = true
		src.Close()
		return c.restoreFile(d, dst, dir, perm)
	}
	if err != nil {
		return err
	}
	committed = true
	return nil
}

// copyBlob copies blob d from src to dst and checks it: by its digest while
// copying, or, for a blob PutVerified stored in this process (hashed as it
// arrived, moments ago), by its size only, with a plain copy the kernel may
// do on its own (copy_file_range). A blob that fails is moved aside.
func (c *Disk) copyBlob(dst *os.File, src *os.File, d Digest) error {
	if size, ok := c.verified.Load(d); ok {
		n, err := io.Copy(dst, src)
		if err != nil {
			return err
		}
		if n != size.(int64) {
			c.verified.Delete(d)
			src.Close()
			return &CorruptError{Digest: d, Path: src.Name(), MovedTo: moveAside(c.dir, src.Name(), d.String())}
		}
		return nil
	}
	bp := bufPool.Get().(*[]byte)
	h := sha256.New()
	_, err := copyHashing(dst, src, h, *bp)
	bufPool.Put(bp)
	if err != nil {
		return err
	}
	var got Digest
	h.Sum(got[:0])
	if got != d {
		src.Close()
		return &CorruptError{Digest: d, Got: got, Path: src.Name(), MovedTo: moveAside(c.dir, src.Name(), d.String())}
	}
	return nil
}

// GetResult loads the result stored for k and marks it used (its manifest's
// mtime is refreshed if older than an hour: prune's LRU clock). A miss
// wraps ErrMiss and says why: "result not found", "result manifest corrupt:
// …" (the manifest is moved to corrupt/), or "blob <short> missing" (every
// blob the result names must exist; they are not re-hashed here).
func (c *Disk) GetResult(k Key) (*Result, error) {
	r, err := peekResult(c.dir, k, true)
	if err != nil {
		return nil, err
	}
	p := resultPath(c.dir, k)
	if fi, err := os.Stat(p); err == nil {
		if now := time.Now(); now.Sub(fi.ModTime()) > useRefresh {
			_ = os.Chtimes(p, now, now)
		}
	}
	return r, nil
}

// PeekResult is GetResult without any write: no mtime refresh, no
// quarantine. Planning uses it.
func (c *Disk) PeekResult(k Key) (*Result, error) { return peekResult(c.dir, k, false) }

func peekResult(dir string, k Key, quarantine bool) (*Result, error) {
	p := resultPath(dir, k)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, miss("result not found")
	}
	if err != nil {
		return nil, fmt.Errorf("reading result %s: %w", k.Short(), err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil || r.Key != k {
		if err == nil {
			err = fmt.Errorf("it names key %s", r.Key.Short())
		}
		if quarantine {
			moveAside(dir, p, k.String())
		}
		return nil, miss("result manifest corrupt: %v", err)
	}
	for _, d := range r.Blobs() {
		if _, err := os.Stat(blobPath(dir, d)); err != nil {
			return nil, miss("blob %s missing", d.Short())
		}
	}
	return &r, nil
}

// PutResult stores r's manifest under r.Key, atomically, replacing any
// older one. Every blob r names must already be in the cache.
func (c *Disk) PutResult(r *Result) error {
	if c.readOnly {
		return fmt.Errorf("storing result %s: %w", r.Key.Short(), ErrReadOnly)
	}
	for _, d := range r.Blobs() {
		if !c.HasBlob(d) {
			return fmt.Errorf("storing result %s: blob %s is not in the cache", r.Key.Short(), d.Short())
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("storing result %s: %w", r.Key.Short(), err)
	}
	if err := atomicfile.WriteIn(resultPath(c.dir, r.Key), filepath.Join(c.dir, "tmp"), b, 0o444); err != nil {
		return fmt.Errorf("storing result %s: %w", r.Key.Short(), err)
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

// CopyBlob writes blob d to w without holding it in memory: it hashes the
// blob first and copies it only if it is sound, so w never gets corrupt
// bytes (a step log can be hundreds of megabytes).
func (r *Reader) CopyBlob(w io.Writer, d Digest) (int64, error) {
	p := blobPath(r.dir, d)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, miss("blob %s missing", d.Short())
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	h := sha256.New()
	if _, err := copyHashing(discard{}, f, h, *bp); err != nil {
		return 0, fmt.Errorf("reading blob %s: %w", d.Short(), err)
	}
	var got Digest
	h.Sum(got[:0])
	if got != d {
		return 0, &CorruptError{Digest: d, Got: got, Path: p}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.CopyBuffer(w, f, *bp)
}
