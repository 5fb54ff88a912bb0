// Package remote keeps bottle's results in an OCI registry, so that one
// machine (a CI job) builds and every other one restores: SPEC §11.
//
// One result is one OCI image manifest tagged by its key, whose layers are
// the result entry (cache.Result as JSON), its large blobs one layer each
// (the layer digest is the blob's sha256, so equal content is shared between
// results and uploaded once) and its small blobs bundled into gzipped tar
// layers. The manifest's annotations carry what planning needs without
// downloading a blob: the result's digest and values. README "Remote cache
// format" describes the format for other tools.
//
// The remote cache never materialises anything: Fetch verifies every blob
// while streaming it into the local cache (cache.Disk) and stores the result
// entry there last; restoring outputs stays the local cache's job. Nothing
// here is called while planning except Lookup, which reads one manifest.
//
// Every request is bounded by Options.Timeout (for a transfer: the longest
// wait for progress), and network failures are returned as errors that
// IsUnavailable recognises, so the caller can warn once and go on with the
// local cache alone.
package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bottle-build/bottle/cache"
)

// Scheme starts every remote cache URL.
const Scheme = "oci://"

// DefaultTimeout bounds each registry request when Options.Timeout is 0.
const DefaultTimeout = 15 * time.Second

// DefaultJobs is how many blobs move at once when Options.Jobs is 0.
const DefaultJobs = 8

// Options configure a remote cache.
type Options struct {
	// URL is "oci://HOST[:PORT]/REPO". Loopback and private hosts are
	// spoken to over plain HTTP, every other host over HTTPS.
	URL string
	// Write allows Push.
	Write bool
	// SigningKey signs what Push writes and is checked on everything Lookup
	// and Fetch read. Nil: results are written unsigned and read unchecked.
	SigningKey []byte
	// Keychain finds credentials; nil is authn.DefaultKeychain (the Docker
	// config and its credential helpers, as `docker login` leaves them).
	Keychain authn.Keychain
	// Timeout bounds each registry request: the wait for an answer, and
	// during a transfer the longest wait for progress. 0 is DefaultTimeout.
	Timeout time.Duration
	// Jobs is how many blobs are transferred at once; 0 is DefaultJobs.
	Jobs int
	// Transport carries the requests; nil is go-containerregistry's
	// default. Tests inject one to count or break requests.
	Transport http.RoundTripper
}

// Cache is a remote cache in one registry repository. Its methods may be
// called from many goroutines.
type Cache struct {
	repo name.Repository
	opts Options

	mu     sync.Mutex
	client *http.Client // authenticated; nil until the first request

	// manifests holds what Lookup read, by key, for the Fetch that
	// usually follows in the same run: one request less per restore.
	manifests sync.Map // cache.Key → []byte
}

// ParseURL parses "oci://HOST[:PORT]/REPO" into the repository it names.
func ParseURL(s string) (name.Repository, error) {
	bad := func(format string, args ...any) (name.Repository, error) {
		return name.Repository{}, fmt.Errorf("remote cache %s: %s", s, fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return bad("must start with %s (oci://HOST[:PORT]/REPO)", Scheme)
	}
	host, repo, ok := strings.Cut(rest, "/")
	switch {
	case host == "":
		return bad("no registry host (oci://HOST[:PORT]/REPO)")
	case !ok || repo == "":
		return bad("no repository after the host (oci://HOST[:PORT]/REPO)")
	case strings.ContainsAny(repo, "@:"):
		return bad("a remote cache is a repository: no tag or digest")
	}
	reg, err := name.NewRegistry(host, name.StrictValidation)
	if err != nil {
		return bad("%v", err)
	}
	r, err := name.NewRepository(host+"/"+repo, name.StrictValidation)
	if err != nil {
		return bad("%v", err)
	}
	if r.RegistryStr() != reg.RegistryStr() {
		return bad("registry %q read as %q", host, r.RegistryStr())
	}
	return r, nil
}

// Open returns the remote cache opts describe. It does not touch the
// network: the first request connects and authenticates.
func Open(opts Options) (*Cache, error) {
	repo, err := ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Jobs <= 0 {
		opts.Jobs = DefaultJobs
	}
	if opts.Transport == nil {
		opts.Transport = remote.DefaultTransport
	}
	return &Cache{repo: repo, opts: opts}, nil
}

// URL is the cache's oci:// URL.
func (c *Cache) URL() string { return Scheme + c.repo.Name() }

// connect returns the authenticated client, pinging the registry and
// resolving credentials on first use. A failure is not remembered: the
// next call tries again.
func (c *Cache) connect(ctx context.Context) (*http.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	auth, err := authn.Resolve(ctx, c.opts.Keychain, c.repo)
	if err != nil {
		return nil, c.errorf("reading credentials: %w", err)
	}
	scope := transport.PullScope
	if c.opts.Write {
		scope = transport.PushScope
	}
	ctx, w := c.watch(ctx)
	defer w.stop()
	rt, err := transport.NewWithContext(ctx, c.repo.Registry, auth, c.opts.Transport, []string{c.repo.Scope(scope)})
	if err != nil {
		return nil, c.netError(ctx, "connecting", err)
	}
	c.client = &http.Client{Transport: rt}
	return c.client, nil
}

// errorf is an error about this cache: "remote cache HOST/REPO: …".
func (c *Cache) errorf(format string, args ...any) error {
	return fmt.Errorf("remote cache %s: %w", c.repo.Name(), fmt.Errorf(format, args...))
}

// A resultError is a result the cache refuses to use: missing, malformed,
// unsigned, tampered with. It is a miss (errors.Is(err, cache.ErrMiss)),
// and unwraps to its cause (ErrUnsigned, ErrBadSignature, a
// *cache.CorruptError, …).
type resultError struct {
	repo string
	key  cache.Key
	step string
	err  error
}

func (e *resultError) Error() string {
	s := fmt.Sprintf("remote cache %s: result %s", e.repo, e.key.Short())
	if e.step != "" {
		s += " (step " + e.step + ")"
	}
	return s + ": " + e.err.Error()
}

func (e *resultError) Unwrap() error        { return e.err }
func (e *resultError) Is(target error) bool { return target == cache.ErrMiss }

// refuse is a resultError for result k of step.
func (c *Cache) refuse(k cache.Key, step string, err error) error {
	return &resultError{repo: c.repo.Name(), key: k, step: step, err: err}
}

// ErrUnsigned is a result without a signature, read with a signing key.
var ErrUnsigned = errors.New("not signed, and a signing key is set (BOTTLE_CACHE_SIGNING_KEY)")

// ErrBadSignature is a result whose signature the signing key does not
// give: written with another key, or changed since.
var ErrBadSignature = errors.New("signature does not match the signing key (BOTTLE_CACHE_SIGNING_KEY)")

// errNotFound is a result the registry does not hold.
var errNotFound = errors.New("not in the remote cache")
