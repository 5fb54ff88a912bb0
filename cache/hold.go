package cache

// Holds tell prune, in any process, what a running apply uses.
//
// A hold is a file holds/<pid>-<random>, exclusively locked (flock) for the
// life of the Hold. It lists keys, one lowercase hex per line, and the blobs
// put through the Disk since the Hold began, as "blob <hex>" lines: those
// are about to be named by results not yet written. Prune reads every hold
// file; one whose lock it can take belongs to a process that died (the
// kernel drops a dead process's locks), and is removed.
//
// One window stays open: prune reads the holds once, just before it
// removes anything, so a blob recorded after that read may still go. The
// writer then finds it missing when it stores its result (PutResult
// refuses), and the step fails instead of caching something incomplete.

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Hold registers results (and blobs) as in use, so that prune in any
// process leaves them alone until Release.
type Hold struct {
	c        *Disk
	mu       sync.Mutex
	f        *os.File // nil once released
	path     string
	readOnly bool // on a read-only cache: holds nothing
}

// Hold registers this process as a user of the cache and returns the Hold,
// which records every blob later put through c until it is released.
func (c *Disk) Hold() (*Hold, error) {
	if c.readOnly {
		// A read-only cache: nothing to protect from this user's prune,
		// and no file to hold with.
		return &Hold{c: c, readOnly: true}, nil
	}
	// Created and locked in tmp/, then renamed into holds/: prune never
	// sees a hold file that is not locked yet (and would take it for stale).
	f, err := createTemp(filepath.Join(c.dir, "tmp"), "hold-", 0o644)
	if err != nil {
		return nil, fmt.Errorf("registering a hold on the cache: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("registering a hold on the cache: locking %s: %w", f.Name(), err)
	}
	p := filepath.Join(c.dir, "holds", strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(rand.Uint64(), 36))
	if err := os.Rename(f.Name(), p); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("registering a hold on the cache: %w", err)
	}
	h := &Hold{c: c, f: f, path: p}
	c.mu.Lock()
	if c.holds == nil {
		c.holds = map[*Hold]bool{}
	}
	c.holds[h] = true
	c.mu.Unlock()
	return h, nil
}

// Add marks keys as in use: prune keeps their results and blobs.
func (h *Hold) Add(keys ...Key) error {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.String())
		b.WriteByte('\n')
	}
	if err := h.write(b.String()); err != nil {
		return fmt.Errorf("holding results: %w", err)
	}
	return nil
}

// write appends s to the hold file. One write call: another process reads
// whole lines or none of a line it cannot parse.
func (h *Hold) write(s string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.readOnly {
		return nil
	}
	if h.f == nil {
		return errors.New("hold already released")
	}
	_, err := h.f.WriteString(s)
	return err
}

// Release ends the hold: its file is removed and its lock dropped. Releasing
// twice is harmless.
func (h *Hold) Release() error {
	if h == nil {
		return nil
	}
	h.c.mu.Lock()
	delete(h.c.holds, h)
	h.c.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return nil
	}
	// Remove before unlocking, so that nobody sees it unlocked.
	rerr := os.Remove(h.path)
	cerr := h.f.Close()
	h.f = nil
	if rerr != nil {
		return fmt.Errorf("releasing hold: %w", rerr)
	}
	if cerr != nil {
		return fmt.Errorf("releasing hold: %w", cerr)
	}
	return nil
}

// recordBlob adds blob d to every live hold of c.
func (c *Disk) recordBlob(d Digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.holds) == 0 {
		return
	}
	line := "blob " + d.String() + "\n"
	for h := range c.holds {
		_ = h.write(line) // a lost line only weakens prune's protection
	}
}

// holdSet is what the live holds use.
type holdSet struct {
	keys  map[Key]bool
	blobs map[Digest]bool
}

// readHolds reads every live hold file and removes stale ones (whose
// process died).
func readHolds(dir string) holdSet {
	hs := holdSet{keys: map[Key]bool{}, blobs: map[Digest]bool{}}
	hdir := filepath.Join(dir, "holds")
	ents, _ := os.ReadDir(hdir)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(hdir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue // released meanwhile
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			// Nobody holds it: its process is gone.
			os.Remove(p)
			f.Close()
			continue
		}
		// Locked (or the lock could not be tested): its entries count.
		s := bufio.NewScanner(f)
		for s.Scan() {
			line := strings.TrimSpace(s.Text())
			if rest, ok := strings.CutPrefix(line, "blob "); ok {
				if d, err := ParseDigest(rest); err == nil {
					hs.blobs[d] = true
				}
			} else if k, err := ParseKey(line); err == nil {
				hs.keys[k] = true
			}
		}
		f.Close()
	}
	return hs
}
