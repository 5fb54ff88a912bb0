package cache

// Maintenance: re-hashing every blob and checking every manifest.

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// VerifyReport says what Verify found.
type VerifyReport struct {
	Blobs        int   // blobs re-hashed
	Bytes        int64 // their total size
	Manifests    int   // result manifests read
	Corrupt      []CorruptBlob
	BadManifests []BadManifest
}

// Sound reports whether Verify found nothing wrong.
func (r *VerifyReport) Sound() bool { return len(r.Corrupt) == 0 && len(r.BadManifests) == 0 }

// CorruptBlob is one blob whose content did not match its digest, and the
// results that named it.
type CorruptBlob struct {
	Digest  Digest
	Got     Digest
	MovedTo string   // "" if it could not be moved (it was removed)
	Results []string // "step (key 0123456789ab)", sorted
}

// String describes the blob for a report line:
// "blob 0123456789ab, used by gen (key abcdef012345) (moved to …)".
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

// BadManifest is a result manifest that does not parse or does not match
// its file name.
type BadManifest struct {
	Path    string
	Reason  string
	MovedTo string
}

// String describes the manifest for a report line.
func (bm BadManifest) String() string {
	s := "result manifest " + bm.Path + ": " + bm.Reason
	if bm.MovedTo != "" {
		s += " (moved to " + bm.MovedTo + ")"
	}
	return s
}

// Verify re-hashes every blob, a worker per CPU, and moves corrupt ones to
// corrupt/, naming the results that used them (those are misses from now
// on). It also checks that every result manifest parses; bad ones are moved
// to corrupt/ too.
func (c *Disk) Verify() (*VerifyReport, error) {
	rep := &VerifyReport{}
	var paths []string
	if err := walkFiles(filepath.Join(c.dir, "blobs"), func(p string, fi fs.FileInfo) {
		paths = append(paths, p)
	}); err != nil {
		return nil, fmt.Errorf("verifying cache %s: %w", c.dir, err)
	}

	var (
		mu       sync.Mutex
		bad      = map[Digest]CorruptBlob{}
		sizes    = map[Digest]int64{}
		firstErr error
		work     = make(chan string)
		wg       sync.WaitGroup
	)
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bp)
			for p := range work {
				want, err := ParseDigest(filepath.Base(p))
				if err != nil {
					continue // not a blob of ours
				}
				f, err := os.Open(p)
				if errors.Is(err, fs.ErrNotExist) {
					continue // pruned meanwhile
				}
				var n int64
				h := sha256.New()
				if err == nil {
					n, err = copyHashing(discard{}, f, h, *bp)
					f.Close()
				}
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("verifying blob %s: %w", p, err)
					}
				} else {
					rep.Blobs++
					rep.Bytes += n
					var got Digest
					h.Sum(got[:0])
					sizes[want] = n
					if got != want {
						bad[want] = CorruptBlob{Digest: want, Got: got, MovedTo: moveAside(c.dir, p, want.String())}
					}
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
	if firstErr != nil {
		return nil, firstErr
	}

	err := walkFiles(filepath.Join(c.dir, "results"), func(p string, fi fs.FileInfo) {
		rep.Manifests++
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return // pruned meanwhile
		}
		var r Result
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err == nil && r.Key.String() != name {
			err = fmt.Errorf("it names key %s", r.Key.Short())
		}
		if err == nil {
			// The rules restore applies before writing anything, as far as
			// they can be checked without the step's config.
			err = r.CheckFiles(nil)
		}
		for _, f := range r.Files {
			if n, ok := sizes[f.Digest]; err == nil && ok && f.Mode.IsRegular() && n != f.Size {
				err = fmt.Errorf("it gives %s %d bytes, and its blob %s holds %d", f.Path, f.Size, f.Digest.Short(), n)
			}
		}
		if err != nil {
			rep.BadManifests = append(rep.BadManifests, BadManifest{Path: p, Reason: err.Error(), MovedTo: moveAside(c.dir, p, name)})
			return
		}
		for _, d := range r.Blobs() {
			if cb, ok := bad[d]; ok {
				cb.Results = append(cb.Results, fmt.Sprintf("%s (key %s)", r.Step, r.Key.Short()))
				bad[d] = cb
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("verifying cache %s: %w", c.dir, err)
	}
	for _, cb := range bad {
		sort.Strings(cb.Results)
		rep.Corrupt = append(rep.Corrupt, cb)
	}
	sort.Slice(rep.Corrupt, func(i, j int) bool { return rep.Corrupt[i].Digest.String() < rep.Corrupt[j].Digest.String() })
	return rep, nil
}

// discard is io.Discard without io.ReaderFrom, so that copyHashing's
// buffer is the one used.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
