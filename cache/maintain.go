package cache

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Hold records, for prune in other processes, which results a running
// apply uses. The file stays locked (flock) for the Hold's life; a hold
// file whose lock can be taken belongs to a dead process and is stale.
type Hold struct {
	f  *os.File
	mu sync.Mutex
}

// Hold registers this process as a user of the cache.
func (c *Disk) Hold() (*Hold, error) {
	f, err := os.CreateTemp(filepath.Join(c.dir, "holds"), strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, fmt.Errorf("registering a hold on the cache: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("locking hold file: %w", err)
	}
	return &Hold{f: f}, nil
}

// Add marks keys as in use.
func (h *Hold) Add(keys ...Key) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.String())
		b.WriteByte('\n')
	}
	_, err := h.f.WriteString(b.String())
	return err
}

// Release ends the hold.
func (h *Hold) Release() error {
	if h == nil || h.f == nil {
		return nil
	}
	name := h.f.Name()
	err := h.f.Close()
	h.f = nil
	os.Remove(name)
	return err
}

// heldKeys reads every live hold; stale ones are removed.
func (c *Disk) heldKeys() map[Key]bool {
	held := map[Key]bool{}
	dir := filepath.Join(c.dir, "holds")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) == nil {
			// Nobody holds it: its process is gone.
			f.Close()
			os.Remove(p)
			continue
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, err := ParseKey(strings.TrimSpace(s.Text())); err == nil {
				held[k] = true
			}
		}
		f.Close()
	}
	return held
}

// Stats describes a cache.
type Stats struct {
	Results     int
	Blobs       int
	Bytes       int64 // blobs and manifests
	Quarantined int
}

// Stats counts the cache's entries and size.
func (c *Disk) Stats() (Stats, error) {
	var st Stats
	err := walkFiles(filepath.Join(c.dir, "blobs"), func(p string, fi fs.FileInfo) {
		st.Blobs++
		st.Bytes += fi.Size()
	})
	if err != nil {
		return st, err
	}
	err = walkFiles(filepath.Join(c.dir, "results"), func(p string, fi fs.FileInfo) {
		st.Results++
		st.Bytes += fi.Size()
	})
	if ents, err := os.ReadDir(filepath.Join(c.dir, "corrupt")); err == nil {
		st.Quarantined = len(ents)
	}
	return st, err
}

func walkFiles(root string, f func(p string, fi fs.FileInfo)) error {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			f(p, fi)
		}
		return nil
	})
	return err
}

// PruneReport says what Prune did.
type PruneReport struct {
	Results, Blobs int   // removed
	Freed          int64 // bytes
	Before, After  int64 // total size
	Held           int   // results kept because a running apply holds them
}

type resultEntry struct {
	key   Key
	path  string
	mtime time.Time
	size  int64 // manifest plus the blobs only it names... computed later
	res   *Result
}

// Prune removes least recently used results until the cache is at most
// maxSize bytes, then every blob no remaining result names. Results held by
// a running apply are kept, with their blobs.
func (c *Disk) Prune(maxSize int64, now time.Time) (*PruneReport, error) {
	rep := &PruneReport{}
	held := c.heldKeys()
	var results []*resultEntry
	err := walkFiles(filepath.Join(c.dir, "results"), func(p string, fi fs.FileInfo) {
		k, err := ParseKey(strings.TrimSuffix(filepath.Base(p), ".json"))
		if err != nil {
			return
		}
		e := &resultEntry{key: k, path: p, mtime: fi.ModTime(), size: fi.Size()}
		if b, err := os.ReadFile(p); err == nil {
			var r Result
			if json.Unmarshal(b, &r) == nil {
				e.res = &r
			}
		}
		results = append(results, e)
	})
	if err != nil {
		return nil, err
	}
	blobSize := map[Digest]int64{}
	err = walkFiles(filepath.Join(c.dir, "blobs"), func(p string, fi fs.FileInfo) {
		if d, err := ParseDigest(filepath.Base(p)); err == nil {
			blobSize[d] = fi.Size()
		}
	})
	if err != nil {
		return nil, err
	}
	var total int64
	for _, r := range results {
		total += r.size
	}
	for _, s := range blobSize {
		total += s
	}
	rep.Before = total
	// References from results to blobs.
	refs := map[Digest]int{}
	for _, r := range results {
		if r.res != nil {
			for _, d := range r.res.Blobs() {
				refs[d]++
			}
		}
	}
	sort.Slice(results, func(i, j int) bool { return results[i].mtime.Before(results[j].mtime) })
	removeBlob := func(d Digest) {
		if err := os.Remove(c.BlobPath(d)); err == nil {
			rep.Blobs++
			rep.Freed += blobSize[d]
			total -= blobSize[d]
			delete(blobSize, d)
		}
	}
	for _, r := range results {
		if total <= maxSize {
			break
		}
		if held[r.key] {
			rep.Held++
			continue
		}
		if err := os.Remove(r.path); err != nil {
			continue
		}
		rep.Results++
		rep.Freed += r.size
		total -= r.size
		if r.res != nil {
			for _, d := range r.res.Blobs() {
				refs[d]--
				if refs[d] <= 0 {
					removeBlob(d)
				}
			}
		}
	}
	// Blobs no result names (left by an interrupted apply, say) go too,
	// unless they are recent: an apply may be about to name them.
	for d := range blobSize {
		if refs[d] > 0 {
			continue
		}
		if fi, err := os.Stat(c.BlobPath(d)); err == nil && now.Sub(fi.ModTime()) > time.Hour {
			removeBlob(d)
		}
	}
	// Old temporary files are leftovers of killed processes.
	if ents, err := os.ReadDir(filepath.Join(c.dir, "tmp")); err == nil {
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > time.Hour {
				os.Remove(filepath.Join(c.dir, "tmp", e.Name()))
			}
		}
	}
	rep.After = total
	return rep, nil
}

// VerifyReport says what Verify found.
type VerifyReport struct {
	Blobs   int
	Bytes   int64
	Corrupt []CorruptBlob
}

// CorruptBlob is one damaged blob and the results that named it.
type CorruptBlob struct {
	Digest  Digest
	MovedTo string
	Results []string // "step (key abc123…)"
}

func (cb CorruptBlob) String() string {
	s := "blob " + cb.Digest.Short()
	if len(cb.Results) > 0 {
		s += ", used by " + strings.Join(cb.Results, ", ")
	}
	if cb.MovedTo != "" {
		s += " (moved to " + cb.MovedTo + ")"
	}
	return s
}

// Verify re-hashes every blob on all cores, moves corrupt ones to corrupt/
// and names the results that used them. Damaged manifests are moved too.
func (c *Disk) Verify() (*VerifyReport, error) {
	rep := &VerifyReport{}
	var paths []string
	err := walkFiles(filepath.Join(c.dir, "blobs"), func(p string, fi fs.FileInfo) {
		paths = append(paths, p)
	})
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	bad := map[Digest]string{}
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256<<10)
			for p := range work {
				want, err := ParseDigest(filepath.Base(p))
				if err != nil {
					continue
				}
				f, err := os.Open(p)
				if err != nil {
					continue
				}
				h := sha256.New()
				n, err := io.CopyBuffer(h, f, buf)
				f.Close()
				if err != nil {
					continue
				}
				mu.Lock()
				rep.Blobs++
				rep.Bytes += n
				if hex.EncodeToString(h.Sum(nil)) != want.String() {
					bad[want] = moveAside(c.dir, p, want.String())
				}
				mu.Unlock()
			}
		}()
	}
	for _, p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	users := map[Digest][]string{}
	walkFiles(filepath.Join(c.dir, "results"), func(p string, fi fs.FileInfo) {
		b, err := os.ReadFile(p)
		var r Result
		if err != nil || json.Unmarshal(b, &r) != nil {
			moveAside(c.dir, p, filepath.Base(p))
			return
		}
		for _, d := range r.Blobs() {
			if _, ok := bad[d]; ok {
				users[d] = append(users[d], fmt.Sprintf("%s (key %s)", r.Step, r.Key.Short()))
			}
		}
	})
	for d, moved := range bad {
		sort.Strings(users[d])
		rep.Corrupt = append(rep.Corrupt, CorruptBlob{Digest: d, MovedTo: moved, Results: users[d]})
	}
	sort.Slice(rep.Corrupt, func(i, j int) bool { return rep.Corrupt[i].Digest.String() < rep.Corrupt[j].Digest.String() })
	return rep, nil
}

// ParseSize reads a size such as "500MB", "2GiB", "1G" or "1048576".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" {
		return 0, fmt.Errorf("bad size %q: write it like 500MB or 2GiB", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: write it like 500MB or 2GiB", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "kib": 1 << 10,
		"m": 1e6, "mb": 1e6, "mib": 1 << 20,
		"g": 1e9, "gb": 1e9, "gib": 1 << 30,
		"t": 1e12, "tb": 1e12, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("bad size %q: unknown unit %q (use B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)", s, t[i:])
	}
	return int64(v * mult), nil
}
