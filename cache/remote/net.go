package remote

// The wire: requests with a time bound, bodies that count and keep the
// bound alive while they move, and errors that say what went wrong with the
// registry in words.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bottle-build/bottle/internal/netcause"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// timeoutError is a request that got no answer, or no progress, within
// Options.Timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within %v", e.d)
}
func (e *timeoutError) Timeout() bool { return true }

// A watchdog cancels a request's context when it sees no progress for the
// timeout; touch reports progress.
type watchdog struct {
	d      time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

// watch returns a context that is cancelled after Options.Timeout without
// progress, and its watchdog; stop releases it.
func (c *Cache) watch(parent context.Context) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watchdog{d: c.opts.Timeout, cancel: cancel}
	w.timer = time.AfterFunc(w.d, func() { cancel(&timeoutError{d: w.d}) })
	return ctx, w
}

func (w *watchdog) touch() { w.timer.Reset(w.d) }
func (w *watchdog) stop()  { w.timer.Stop(); w.cancel(nil) }

// request is one registry request.
type request struct {
	method string
	path   string // under /v2/REPO/, e.g. "manifests/TAG"; or
	url    string // a whole URL (an upload location)
	header map[string]string
	body   io.Reader // nil: none
	length int64     // of body
	ok     []int     // status codes that are not errors
	sent   *atomic.Int64
}

// response is an answer whose body keeps the request's watchdog alive as
// it is read; Close releases both.
type response struct {
	*http.Response
	body *watchedBody
}

func (r *response) Read(p []byte) (int, error) { return r.body.Read(p) }
func (r *response) Close() error               { return r.body.Close() }

// do sends rq and returns the answer if its status is one of rq.ok. The
// caller closes it.
func (c *Cache) do(ctx context.Context, rq request) (*response, error) {
	client, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	u := rq.url
	if u == "" {
		u = fmt.Sprintf("%s://%s/v2/%s/%s", c.repo.Scheme(), c.repo.RegistryStr(), c.repo.RepositoryStr(), rq.path)
	}
	wctx, w := c.watch(ctx)
	var body io.Reader
	if rq.body != nil {
		body = &progressReader{r: rq.body, w: w, n: rq.sent}
	}
	req, err := http.NewRequestWithContext(wctx, rq.method, u, body)
	if err != nil {
		w.stop()
		return nil, c.errorf("%v", err)
	}
	if rq.body != nil {
		req.ContentLength = rq.length
		if rq.length == 0 {
			req.Body = http.NoBody
		}
	}
	// Blobs are read as stored: no transparent decompression by net/http.
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		w.stop()
		return nil, c.netError(wctx, "", err)
	}
	if err := transport.CheckError(resp, rq.ok...); err != nil {
		resp.Body.Close()
		w.stop()
		return nil, c.netError(wctx, "", err)
	}
	w.touch()
	return &response{Response: resp, body: &watchedBody{c: c, ctx: wctx, rc: resp.Body, w: w}}, nil
}

// location resolves an upload's Location header against the request.
func location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, errors.New("the registry gave no upload location")
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("upload location %q: %w", loc, err)
	}
	return u, nil
}

// watchedBody is a response body: reading it is progress, an error from it
// is explained, closing it stops the watchdog.
type watchedBody struct {
	c    *Cache
	ctx  context.Context
	rc   io.ReadCloser
	w    *watchdog
	read atomic.Int64
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.touch()
		b.read.Add(int64(n))
	}
	if err != nil && err != io.EOF {
		err = b.c.netError(b.ctx, "reading", err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	b.w.stop()
	return err
}

// progressReader is a request body: sending it is progress, counted in n.
type progressReader struct {
	r io.Reader
	w *watchdog
	n *atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.touch()
		if p.n != nil {
			p.n.Add(int64(n))
		}
	}
	return n, err
}

// wireError is a failure of the registry or the network, as opposed to
// content that does not check out.
type wireError struct{ err error }

func (e *wireError) Error() string { return e.err.Error() }
func (e *wireError) Unwrap() error { return e.err }

// netError explains a failed request: "remote cache R: unreachable: …",
// "… no answer within 15s", "… the registry is failing: …", "… access
// denied: …". IsUnavailable and IsDenied see through it.
func (c *Cache) netError(ctx context.Context, doing string, err error) error {
	if errors.As(err, new(*wireError)) {
		return err // explained already
	}
	return &wireError{c.explain(ctx, doing, err)}
}

func (c *Cache) explain(ctx context.Context, doing string, err error) error {
	if doing != "" {
		doing += ": "
	}
	var te *timeoutError
	if cause := context.Cause(ctx); errors.As(cause, &te) {
		return c.errorf("%s%w", doing, te)
	}
	if cause, ok := netcause.Unreachable(err); ok {
		return c.errorf("%sunreachable: %w", doing, cause)
	}
	var he *transport.Error
	if errors.As(err, &he) {
		switch {
		case he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden:
			return c.errorf("%saccess denied (credentials come from the Docker config and its credential helpers: docker login %s): %w", doing, c.repo.RegistryStr(), err)
		case unavailableStatus(he.StatusCode):
			return c.errorf("%sthe registry is failing: %w", doing, err)
		}
	}
	return c.errorf("%s%w", doing, err)
}

func unavailableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// IsUnavailable reports whether err means the registry cannot be used now:
// it cannot be reached, gave no answer in time, or answered with a server
// error (5xx) or "too many requests". The caller may then go on with the
// local cache alone rather than wait for every other request to fail.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var te *timeoutError
	var he *transport.Error
	var ne net.Error
	if _, ok := netcause.Unreachable(err); ok {
		return true
	}
	switch {
	case errors.As(err, &te):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &he):
		return unavailableStatus(he.StatusCode)
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}

// IsDenied reports whether err is the registry refusing the credentials
// (401, 403): reading or writing needs a `docker login`.
func IsDenied(err error) bool {
	var he *transport.Error
	return errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden)
}
