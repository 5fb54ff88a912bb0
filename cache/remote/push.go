package remote

// Writing: Push uploads what the registry lacks, then the manifest.

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/bottle-build/bottle/cache"
)

// PushStats says what a Push sent.
type PushStats struct {
	Blobs   int   // blobs uploaded (the registry lacked them)
	Bytes   int64 // blob bytes uploaded; the manifest is not counted
	Skipped bool  // the registry already had this result: nothing was sent
}

// Push uploads result res, whose blobs are in local, unless the registry
// already has a result for its key: that costs one manifest request (a
// HEAD; with a signing key a GET, and a result that is not validly signed
// is replaced). Otherwise each blob the registry lacks is uploaded (a HEAD
// first), at most Options.Jobs at once, and the manifest last, tagged by
// the key, so a reader never sees a result whose blobs are not all there.
func (c *Cache) Push(ctx context.Context, res *cache.Result, local *cache.Disk) (PushStats, error) {
	var st PushStats
	k := res.Key
	if !c.opts.Write {
		return st, c.errorf("pushing result %s: writing is not enabled (--remote-cache-write)", k.Short())
	}
	present, err := c.present(ctx, k)
	if err != nil {
		return st, err
	}
	if present {
		st.Skipped = true
		return st, nil
	}
	blobs := blobsOf(res)
	for _, b := range blobs {
		if !local.HasBlob(b.d) {
			return st, c.errorf("pushing result %s: blob %s is not in the local cache", k.Short(), b.d.Short())
		}
	}
	entry, err := json.Marshal(res)
	if err != nil {
		return st, c.errorf("pushing result %s: %w", k.Short(), err)
	}
	l := plan(blobs)

	var nblobs, nbytes atomic.Int64
	up := &uploader{c: c, blobs: &nblobs, bytes: &nbytes}
	entryD := cache.SumBytes(entry)
	entryDesc := descriptor{MediaType: MediaTypeEntry, Digest: ociDigest(entryD), Size: int64(len(entry))}
	layers := make([]descriptor, len(l.standalone)+len(l.bundles))
	jobs := []func(context.Context) error{
		func(ctx context.Context) error {
			return up.bytesBlob(ctx, cache.SumBytes(emptyJSON), emptyJSON)
		},
		func(ctx context.Context) error { return up.bytesBlob(ctx, entryD, entry) },
	}
	for i, b := range l.standalone {
		layers[i] = descriptor{MediaType: MediaTypeBlob, Digest: ociDigest(b.d), Size: b.size}
		jobs = append(jobs, func(ctx context.Context) error {
			return up.fileBlob(ctx, b.d, b.size, local.BlobPath(b.d))
		})
	}
	tmpDir := ""
	if !local.ReadOnly() {
		tmpDir = filepath.Join(local.Dir(), "tmp")
	}
	for i, bundle := range l.bundles {
		jobs = append(jobs, func(ctx context.Context) error {
			desc, err := up.bundle(ctx, local, bundle, tmpDir)
			layers[len(l.standalone)+i] = desc
			return err
		})
	}
	err = forEach(ctx, c.opts.Jobs, jobs)
	st.Blobs, st.Bytes = int(nblobs.Load()), nbytes.Load()
	if err != nil {
		return st, err
	}
	m, err := buildManifest(res, entryDesc, layers, c.opts.SigningKey)
	if err != nil {
		return st, c.errorf("pushing result %s: %w", k.Short(), err)
	}
	resp, err := c.do(ctx, request{
		method: http.MethodPut,
		path:   "manifests/" + k.String(),
		header: map[string]string{"Content-Type": MediaTypeManifest},
		body:   bytesReader(m), length: int64(len(m)),
		ok: []int{http.StatusOK, http.StatusCreated, http.StatusAccepted},
	})
	if err != nil {
		return st, err
	}
	resp.Close()
	return st, nil
}

// present reports whether the registry has a usable result for k.
func (c *Cache) present(ctx context.Context, k cache.Key) (bool, error) {
	if c.opts.SigningKey != nil {
		raw, err := c.getManifest(ctx, k)
		if err != nil || raw == nil {
			return false, err
		}
		_, _, err = check(k, raw, c.opts.SigningKey)
		return err == nil, nil
	}
	resp, err := c.do(ctx, request{
		method: http.MethodHead,
		path:   "manifests/" + k.String(),
		header: map[string]string{"Accept": MediaTypeManifest},
		ok:     []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return false, err
	}
	resp.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// uploader uploads blobs and counts what it sent.
type uploader struct {
	c     *Cache
	blobs *atomic.Int64
	bytes *atomic.Int64
}

func (u *uploader) bytesBlob(ctx context.Context, d cache.Digest, b []byte) error {
	return u.upload(ctx, d, int64(len(b)), func() (io.ReadCloser, error) { return io.NopCloser(bytesReader(b)), nil })
}

func (u *uploader) fileBlob(ctx context.Context, d cache.Digest, size int64, path string) error {
	return u.upload(ctx, d, size, func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, u.c.errorf("uploading blob %s: %w", d.Short(), err)
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != size {
			f.Close()
			return nil, u.c.errorf("uploading blob %s: the local cache's copy is not %d bytes long", d.Short(), size)
		}
		return f, nil
	})
}

// upload sends blob d unless the registry has it: HEAD, then POST for an
// upload location, PATCH with the content, PUT with the digest (the
// sequence go-containerregistry uses, which every registry takes).
func (u *uploader) upload(ctx context.Context, d cache.Digest, size int64, open func() (io.ReadCloser, error)) error {
	c := u.c
	resp, err := c.do(ctx, request{method: http.MethodHead, path: "blobs/" + ociDigest(d), ok: []int{http.StatusOK, http.StatusNotFound}})
	if err != nil {
		return err
	}
	resp.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	resp, err = c.do(ctx, request{method: http.MethodPost, path: "blobs/uploads/", ok: []int{http.StatusAccepted}})
	if err != nil {
		return err
	}
	resp.Close()
	loc, err := location(resp.Response)
	if err != nil {
		return c.errorf("uploading blob %s: %w", d.Short(), err)
	}
	body, err := open()
	if err != nil {
		return err
	}
	defer body.Close()
	resp, err = c.do(ctx, request{
		method: http.MethodPatch, url: loc.String(),
		header: map[string]string{"Content-Type": "application/octet-stream"},
		body:   body, length: size, sent: u.bytes,
		ok: []int{http.StatusAccepted, http.StatusNoContent, http.StatusCreated},
	})
	if err != nil {
		return err
	}
	resp.Close()
	if loc, err = location(resp.Response); err != nil {
		return c.errorf("uploading blob %s: %w", d.Short(), err)
	}
	q := loc.Query()
	q.Set("digest", ociDigest(d))
	loc.RawQuery = q.Encode()
	resp, err = c.do(ctx, request{method: http.MethodPut, url: loc.String(), body: bytesReader(nil), ok: []int{http.StatusCreated}})
	if err != nil {
		return err
	}
	resp.Close()
	u.blobs.Add(1)
	return nil
}

// bundle writes blobs into a gzipped tar in tmpDir (each entry named by
// its digest, read from local and verified on the way), uploads it unless
// the registry has it, and returns its layer descriptor. The same blobs
// always give the same bytes.
func (u *uploader) bundle(ctx context.Context, local *cache.Disk, blobs []blobRef, tmpDir string) (descriptor, error) {
	f, err := os.CreateTemp(tmpDir, "bundle-")
	if err != nil {
		return descriptor{}, u.c.errorf("writing a bundle: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	d, size, err := writeBundle(f, local, blobs)
	if err != nil {
		return descriptor{}, u.c.errorf("writing a bundle: %w", err)
	}
	desc := descriptor{
		MediaType: MediaTypeBundle, Digest: ociDigest(d), Size: size,
		Annotations: map[string]string{
			AnnotationBundleFirst: blobs[0].d.String(),
			AnnotationBundleLast:  blobs[len(blobs)-1].d.String(),
		},
	}
	err = u.upload(ctx, d, size, func() (io.ReadCloser, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return io.NopCloser(f), nil
	})
	return desc, err
}

// writeBundle writes the bundle of blobs to w and returns its digest and
// size.
func writeBundle(w io.Writer, local *cache.Disk, blobs []blobRef) (cache.Digest, int64, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	bw := bufio.NewWriterSize(cw, 256<<10)
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return cache.Digest{}, 0, err
	}
	tw := tar.NewWriter(zw)
	for _, b := range blobs {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     b.d.String(),
			Size:     b.size,
			Mode:     0o444,
			ModTime:  time.Unix(0, 0),
			Format:   tar.FormatPAX,
		}); err != nil {
			return cache.Digest{}, 0, err
		}
		if err := copyVerified(tw, local, b); err != nil {
			return cache.Digest{}, 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return cache.Digest{}, 0, err
	}
	if err := zw.Close(); err != nil {
		return cache.Digest{}, 0, err
	}
	if err := bw.Flush(); err != nil {
		return cache.Digest{}, 0, err
	}
	var d cache.Digest
	h.Sum(d[:0])
	return d, cw.n, nil
}

// copyVerified copies blob b from local to w, refusing a local copy that is
// not its digest: a damaged blob must not reach the registry.
func copyVerified(w io.Writer, local *cache.Disk, b blobRef) error {
	f, err := os.Open(local.BlobPath(b.d))
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(f, b.size+1))
	if err != nil {
		return err
	}
	var got cache.Digest
	h.Sum(got[:0])
	if n != b.size || got != b.d {
		return fmt.Errorf("the local cache's blob %s is damaged (run bottle cache verify)", b.d.Short())
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// bytesReader reads b; unlike bytes.Reader it is not an io.WriterTo, so
// the request's progress reader sees every byte.
func bytesReader(b []byte) io.Reader { return &sliceReader{b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
