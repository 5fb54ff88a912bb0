package remote

// Reading: Lookup reads a manifest, Fetch the blobs the local cache lacks.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/bottle-build/bottle/cache"
)

// getManifest reads the manifest tagged k; nil (and no error) when there
// is none.
func (c *Cache) getManifest(ctx context.Context, k cache.Key) ([]byte, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodGet,
		path:   "manifests/" + k.String(),
		header: map[string]string{"Accept": MediaTypeManifest},
		ok:     []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxManifest {
		return nil, c.refuse(k, "", fmt.Errorf("manifest larger than %d bytes", maxManifest))
	}
	return raw, nil
}

// Lookup reads the manifest of result k and returns what planning needs
// from it; (nil, nil) when the registry has no result for k. It downloads
// no blob. With a signing key, a result that is unsigned or signed with
// another key is refused with an error wrapping ErrUnsigned or
// ErrBadSignature (and cache.ErrMiss) that names the step.
func (c *Cache) Lookup(ctx context.Context, k cache.Key) (*Summary, error) {
	raw, err := c.getManifest(ctx, k)
	if err != nil || raw == nil {
		return nil, err
	}
	step, m, err := check(k, raw, c.opts.SigningKey)
	if err != nil {
		return nil, c.refuse(k, step, err)
	}
	c.manifests.Store(k, raw)
	return m.sum, nil
}

// Fetch downloads result k into local: the blobs local lacks, at most
// Options.Jobs at once, each verified against its digest while it streams
// into the local CAS (cache.Disk.PutVerified), then the result entry
// (PutResult), last. It returns the result and the bytes downloaded.
//
// Anything that does not check out — a blob whose bytes are not its digest,
// a bundle whose layer digest is wrong, an entry for another key or with
// another digest than the manifest says, a file blob the result names but
// the manifest does not hold, a missing or wrong signature when a signing
// key is set — is an error wrapping cache.ErrMiss, and the result is not
// stored: only blobs that were verified one by one may be left in the CAS.
func (c *Cache) Fetch(ctx context.Context, k cache.Key, local *cache.Disk) (res *cache.Result, downloaded int64, err error) {
	var n atomic.Int64
	defer func() { downloaded = n.Load() }()
	if local.ReadOnly() {
		return nil, 0, c.errorf("fetching result %s: %w", k.Short(), cache.ErrReadOnly)
	}
	var raw []byte
	if v, ok := c.manifests.LoadAndDelete(k); ok {
		raw = v.([]byte)
	} else if raw, err = c.getManifest(ctx, k); err != nil {
		return nil, 0, err
	} else if raw == nil {
		return nil, 0, c.refuse(k, "", errNotFound)
	}
	step, m, err := check(k, raw, c.opts.SigningKey)
	if err != nil {
		return nil, 0, c.refuse(k, step, err)
	}
	refuse := func(err error) error { return c.refuse(k, step, err) }

	// The entry first: it says which blobs the result needs.
	if m.entry.Size > maxEntry {
		return nil, 0, refuse(fmt.Errorf("result entry of %d bytes, more than %d", m.entry.Size, maxEntry))
	}
	b, err := c.getBlob(ctx, m.entryD, m.entry.Size, &n)
	if err != nil {
		return nil, 0, wrapMiss(err, refuse)
	}
	res = new(cache.Result)
	if err := json.Unmarshal(b, res); err != nil {
		return nil, 0, refuse(fmt.Errorf("result entry: %w", err))
	}
	if err := checkEntry(k, m.sum, res); err != nil {
		return nil, 0, refuse(err)
	}

	// Then what local lacks: each standalone layer, and the bundles that may
	// hold the rest.
	var jobs []func(context.Context) error
	inBundles := map[cache.Digest]bool{}
	for _, br := range blobsOf(res) {
		if local.HasBlob(br.d) {
			continue
		}
		if l, ok := m.standalone[br.d]; ok {
			jobs = append(jobs, func(ctx context.Context) error {
				return c.fetchBlob(ctx, local, br.d, l.Size, &n)
			})
			continue
		}
		inBundles[br.d] = true
	}
	if len(inBundles) > 0 {
		for _, bl := range m.bundles {
			var wanted []cache.Digest
			for d := range inBundles {
				if bl.holds(d) {
					wanted = append(wanted, d)
				}
			}
			if len(wanted) > 0 {
				jobs = append(jobs, func(ctx context.Context) error {
					return c.fetchBundle(ctx, local, bl, wanted, &n)
				})
			}
		}
	}
	if err := forEach(ctx, c.opts.Jobs, jobs); err != nil {
		return nil, 0, wrapMiss(err, refuse)
	}
	for _, d := range res.Blobs() {
		if !local.HasBlob(d) {
			return nil, 0, refuse(fmt.Errorf("blob %s of the result is not in the manifest", d.Short()))
		}
	}
	if err := local.PutResult(res); err != nil {
		return nil, 0, c.errorf("fetching result %s: %w", k.Short(), err)
	}
	return res, n.Load(), nil
}

// wrapMiss passes err through refuse when it is a miss (content that does
// not check out), and as it is otherwise (the network).
func wrapMiss(err error, refuse func(error) error) error {
	var re *resultError
	if errors.Is(err, cache.ErrMiss) && !errors.As(err, &re) {
		return refuse(err)
	}
	return err
}

// getLayer starts downloading layer d. A layer the registry does not have
// is a miss: the result is incomplete there.
func (c *Cache) getLayer(ctx context.Context, d cache.Digest) (*response, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "blobs/" + ociDigest(d), ok: []int{http.StatusOK, http.StatusNotFound}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotFound {
		resp.Close()
		return nil, fmt.Errorf("layer %s is missing from the registry: %w", d.Short(), cache.ErrMiss)
	}
	return resp, nil
}

// getBlob downloads a small blob into memory, verified.
func (c *Cache) getBlob(ctx context.Context, d cache.Digest, size int64, n *atomic.Int64) ([]byte, error) {
	resp, err := c.getLayer(ctx, d)
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	b, err := io.ReadAll(io.LimitReader(resp, size+1))
	n.Add(int64(len(b)))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != size {
		return nil, fmt.Errorf("blob %s: got %d bytes or more, want %d: %w", d.Short(), len(b), size, cache.ErrMiss)
	}
	if got := cache.SumBytes(b); got != d {
		return nil, &cache.CorruptError{Digest: d, Got: got}
	}
	return b, nil
}

// fetchBlob streams a standalone layer into the local CAS, verified.
func (c *Cache) fetchBlob(ctx context.Context, local *cache.Disk, d cache.Digest, size int64, n *atomic.Int64) error {
	resp, err := c.getLayer(ctx, d)
	if err != nil {
		return err
	}
	defer resp.Close()
	if resp.ContentLength >= 0 && resp.ContentLength != size {
		return fmt.Errorf("blob %s: the registry sends %d bytes, the manifest says %d: %w", d.Short(), resp.ContentLength, size, cache.ErrMiss)
	}
	err = local.PutVerified(resp, d, size)
	n.Add(resp.body.read.Load())
	return err
}

// fetchBundle streams a bundle layer, storing the wanted blobs it holds
// into the local CAS, each verified against its name, and checks the
// layer's own digest at the end.
func (c *Cache) fetchBundle(ctx context.Context, local *cache.Disk, bl bundleLayer, wanted []cache.Digest, n *atomic.Int64) error {
	resp, err := c.getLayer(ctx, bl.d)
	if err != nil {
		return err
	}
	defer resp.Close()
	defer func() { n.Add(resp.body.read.Load()) }()
	want := map[cache.Digest]bool{}
	for _, d := range wanted {
		want[d] = true
	}
	h := sha256.New()
	raw := io.TeeReader(resp, h)
	bad := func(format string, args ...any) error {
		for _, a := range args {
			if err, ok := a.(error); ok && errors.As(err, new(*wireError)) {
				return err // the network, not the content
			}
		}
		return fmt.Errorf("bundle %s: %s: %w", bl.d.Short(), fmt.Sprintf(format, args...), cache.ErrMiss)
	}
	zr, err := gzip.NewReader(raw)
	if err != nil {
		return bad("%v", err)
	}
	// Small blobs are stored by a few writers while the stream goes on:
	// creating thousands of files costs more than reading them.
	st := newStorer(ctx, local, c.opts.Jobs)
	defer st.stop()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bad("%v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return bad("entry %q is not a file", hdr.Name)
		}
		d, err := cache.ParseDigest(hdr.Name)
		if err != nil {
			return bad("entry %q is not named by a sha256", hdr.Name)
		}
		if !want[d] || local.HasBlob(d) {
			continue // tar skips its content; the layer digest still covers it
		}
		if hdr.Size >= smallBlob {
			err = local.PutVerified(tr, d, hdr.Size)
		} else {
			b := make([]byte, hdr.Size)
			if _, err = io.ReadFull(tr, b); err != nil {
				return bad("entry %s: %v", hdr.Name, err)
			}
			err = st.put(d, b)
		}
		if err != nil {
			return fmt.Errorf("bundle %s: %w", bl.d.Short(), err)
		}
	}
	if err := st.wait(); err != nil {
		return fmt.Errorf("bundle %s: %w", bl.d.Short(), err)
	}
	if err := zr.Close(); err != nil {
		return bad("%v", err)
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return err
	}
	var got cache.Digest
	h.Sum(got[:0])
	if got != bl.d {
		return &cache.CorruptError{Digest: bl.d, Got: got}
	}
	if size := resp.body.read.Load(); size != bl.desc.Size {
		return bad("%d bytes, the manifest says %d", size, bl.desc.Size)
	}
	return nil
}

// storer stores small blobs held in memory into the local cache, n at once.
type storer struct {
	local  *cache.Disk
	ctx    context.Context
	queue  chan blobBytes
	wg     sync.WaitGroup
	once   sync.Once // the first error
	closed sync.Once // the queue
	err    error
	done   chan struct{} // closed at the first error
}

type blobBytes struct {
	d cache.Digest
	b []byte
}

func newStorer(ctx context.Context, local *cache.Disk, n int) *storer {
	s := &storer{local: local, ctx: ctx, queue: make(chan blobBytes, n), done: make(chan struct{})}
	for range n {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for bb := range s.queue {
				if err := local.PutVerified(bytes.NewReader(bb.b), bb.d, int64(len(bb.b))); err != nil {
					s.fail(err)
				}
			}
		}()
	}
	return s
}

func (s *storer) fail(err error) {
	s.once.Do(func() { s.err = err; close(s.done) })
}

// put queues blob d; it returns the first error any store met so far.
func (s *storer) put(d cache.Digest, b []byte) error {
	select {
	case s.queue <- blobBytes{d, b}:
		return nil
	case <-s.done:
		return s.err
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// wait waits for every queued store and returns the first error.
func (s *storer) wait() error {
	s.stop()
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// stop ends the writers once the queue is empty; it may be called twice.
func (s *storer) stop() {
	s.closed.Do(func() { close(s.queue) })
	s.wg.Wait()
}

// forEach runs jobs, at most n at once, and returns the first error; the
// others are cancelled by then.
func forEach(ctx context.Context, n int, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
loop:
	for _, job := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := job(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// Entry reads the manifest of result k and its result entry (the
// cache.Result as stored, key lines included), checked against the
// manifest as Fetch checks it, and downloads nothing else: for what the
// result records, not to restore it. A key the registry has no result for
// is an error wrapping cache.ErrMiss.
func (c *Cache) Entry(ctx context.Context, k cache.Key) (*cache.Result, error) {
	raw, err := c.getManifest(ctx, k)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, c.refuse(k, "", errNotFound)
	}
	step, m, err := check(k, raw, c.opts.SigningKey)
	if err != nil {
		return nil, c.refuse(k, step, err)
	}
	if m.entry.Size > maxEntry {
		return nil, c.refuse(k, step, fmt.Errorf("result entry of %d bytes, more than %d", m.entry.Size, maxEntry))
	}
	var n atomic.Int64
	b, err := c.getBlob(ctx, m.entryD, m.entry.Size, &n)
	if err != nil {
		return nil, wrapMiss(err, func(err error) error { return c.refuse(k, step, err) })
	}
	res := new(cache.Result)
	if err := json.Unmarshal(b, res); err != nil {
		return nil, c.refuse(k, step, fmt.Errorf("result entry: %w", err))
	}
	if err := checkEntry(k, m.sum, res); err != nil {
		return nil, c.refuse(k, step, err)
	}
	return res, nil
}
