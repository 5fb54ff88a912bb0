package remote

// Test fixtures: registries (in-process, the machine's real one, and real
// ones of our own on loopback), a transport that counts, and results.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/internal/testenv"
)

// skipOrFail skips the test, or fails it when the registry is required.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if testenv.Required("registry") {
		t.Fatalf("%s, and BOTTLE_TEST_REQUIRE=%s says the registry tests must run", msg, os.Getenv("BOTTLE_TEST_REQUIRE"))
	}
	t.Skip(msg)
}

// target is a registry to test against.
type target struct {
	name  string
	host  string // HOST:PORT
	blobs *tamperable
	root  string // a docker-registry's storage folder; "" when not ours
}

// url is a fresh repository in the registry, so that runs never share
// state: "oci://HOST/bottle-test/NAME-RANDOM".
func (tg target) url(t *testing.T) string {
	var b [6]byte
	rand.Read(b[:])
	n := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(n) > 60 {
		n = n[:60]
	}
	return fmt.Sprintf("oci://%s/bottle-test/%s-%x", tg.host, strings.Trim(n, "-"), b)
}

// inProcess is go-containerregistry's registry in this process, with blob
// storage the test can tamper with.
func inProcess(t *testing.T) target {
	blobs := &tamperable{m: map[string][]byte{}}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithBlobHandler(blobs)))
	t.Cleanup(srv.Close)
	return target{name: "in-process", host: strings.TrimPrefix(srv.URL, "http://"), blobs: blobs}
}

// machineRegistry is the real registry at BOTTLE_TEST_REGISTRY.
func machineRegistry(t *testing.T) target {
	addr := os.Getenv("BOTTLE_TEST_REGISTRY")
	if addr == "" {
		skipOrFail(t, "BOTTLE_TEST_REGISTRY is not set")
	}
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
		skipOrFail(t, "no registry answers at BOTTLE_TEST_REGISTRY=%s: %v", addr, err)
	} else {
		c.Close()
	}
	return target{name: "registry", host: addr}
}

// targets is every registry the round-trip tests run against.
func targets(t *testing.T) []target {
	ts := []target{inProcess(t)}
	if addr := os.Getenv("BOTTLE_TEST_REGISTRY"); addr != "" || testenv.Required("registry") {
		ts = append(ts, machineRegistry(t))
	}
	return ts
}

// ownRegistry starts a docker-registry of this test's own on a free
// loopback port, with its storage in a temporary folder (so the test may
// tamper with it) and, given htpasswd lines, basic authentication.
func ownRegistry(t *testing.T, htpasswd string) target {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		skipOrFail(t, "docker-registry is not installed (apt-get install docker-registry)")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "storage"), addr)
	if htpasswd != "" {
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(htpasswd), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd:\n    realm: bottle-test\n    path: %s\n", filepath.Join(dir, "htpasswd"))
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // this test's own process, by its PID
		<-done
	})
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("docker-registry exited: %s", out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if i > 300 {
			t.Fatalf("docker-registry did not listen on %s: %s", addr, out.String())
		}
	}
	return target{name: "own registry", host: addr, root: filepath.Join(dir, "storage")}
}

// blobData is where a docker-registry keeps blob d.
func (tg target) blobData(d cache.Digest) string {
	h := d.String()
	return filepath.Join(tg.root, "docker", "registry", "v2", "blobs", "sha256", h[:2], h, "data")
}

// tamperable is an in-memory blob store that serves whatever it holds, so a
// test can replace a blob's bytes behind the registry's back.
type tamperable struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *tamperable) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[h.String()]
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(v)), nil
}

func (b *tamperable) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[h.String()]
	if !ok {
		return nil, registry.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(v)), nil
}

func (b *tamperable) Put(_ context.Context, _ string, h v1.Hash, rc io.ReadCloser) error {
	defer rc.Close()
	v, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[h.String()] = v
	return nil
}

func (b *tamperable) tamper(d cache.Digest, f func([]byte) []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[ociDigest(d)] = f(append([]byte(nil), b.m[ociDigest(d)]...))
}

// counter is a transport that counts what goes through it.
type counter struct {
	base http.RoundTripper

	mu       sync.Mutex
	requests map[string]int // "METHOD kind": kind is manifests, blobs or uploads
	uploaded []string       // digests of finished blob uploads
	bytes    int64          // request body bytes of POST, PATCH and PUT
}

func newCounter() *counter {
	return &counter{base: http.DefaultTransport, requests: map[string]int{}}
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	kind := "other"
	switch p := req.URL.Path; {
	case strings.Contains(p, "/blobs/uploads/"):
		kind = "uploads"
	case strings.Contains(p, "/blobs/"):
		kind = "blobs"
	case strings.Contains(p, "/manifests/"):
		kind = "manifests"
	}
	c.mu.Lock()
	c.requests[req.Method+" "+kind]++
	if d := req.URL.Query().Get("digest"); d != "" && req.Method == http.MethodPut {
		c.uploaded = append(c.uploaded, d)
	}
	c.mu.Unlock()
	if req.Body != nil && req.Body != http.NoBody && req.Method != http.MethodGet {
		req = req.Clone(req.Context())
		req.Body = &countBody{ReadCloser: req.Body, c: c}
	}
	return c.base.RoundTrip(req)
}

type countBody struct {
	io.ReadCloser
	c *counter
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.bytes += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// snapshot returns the counts so far and starts again from zero.
func (c *counter) snapshot() (requests map[string]int, uploaded []string, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	requests, uploaded, bytes = c.requests, c.uploaded, c.bytes
	c.requests, c.uploaded, c.bytes = map[string]int{}, nil, 0
	return
}

func newLocal(t *testing.T) *cache.Disk {
	t.Helper()
	d, err := cache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// put stores b in local's CAS.
func put(t testing.TB, local *cache.Disk, b []byte) cache.Digest {
	t.Helper()
	d := cache.SumBytes(b)
	if err := local.PutVerified(bytes.NewReader(b), d, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	return d
}

// content is a file of a result to make.
type content struct {
	path string
	data []byte
	mode fs.FileMode // 0: 0o644
	link string      // a symbolic link's target
	dir  bool
}

// makeResult stores a result of step with these files (and log) in local.
func makeResult(t testing.TB, local *cache.Disk, step string, files []content, values map[string]string, logText string) *cache.Result {
	t.Helper()
	r := &cache.Result{
		Key:      cache.Key(cache.SumString("key of " + step + fmt.Sprint(len(files)) + logText + fmt.Sprint(values))),
		Step:     step,
		Kind:     "exec",
		Values:   values,
		Created:  time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		Duration: time.Second,
		KeyLines: []string{"kind exec v1", "step " + step},
	}
	// Store the blobs first, many at once (each store syncs to disk).
	digests := make([]cache.Digest, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, f := range files {
		if f.dir || f.link != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := cache.SumBytes(f.data)
			if err := local.PutVerified(bytes.NewReader(f.data), d, int64(len(f.data))); err != nil {
				t.Error(err)
			}
			digests[i] = d
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, f := range files {
		switch {
		case f.dir:
			r.Files = append(r.Files, cache.File{Path: f.path, Mode: fs.ModeDir | 0o755})
		case f.link != "":
			r.Files = append(r.Files, cache.File{Path: f.path, Mode: fs.ModeSymlink | 0o777, Link: f.link})
		default:
			mode := f.mode
			if mode == 0 {
				mode = 0o644
			}
			r.Files = append(r.Files, cache.File{Path: f.path, Digest: digests[i], Size: int64(len(f.data)), Mode: mode})
		}
	}
	if logText != "" {
		r.Log = put(t, local, []byte(logText))
		r.LogSize = int64(len(logText))
	}
	if err := local.PutResult(r); err != nil {
		t.Fatal(err)
	}
	got, err := local.GetResult(r.Key)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// random returns n random bytes.
func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// open opens a remote cache on url with this test's options.
func open(t *testing.T, opts Options) *Cache {
	t.Helper()
	if opts.Keychain == nil {
		// Keep the host's Docker credentials out of the tests.
		t.Setenv("DOCKER_CONFIG", t.TempDir())
	}
	c, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameResult checks that fetched is res and that every blob it names is in
// local with the same bytes as in from.
func sameResult(t *testing.T, res, fetched *cache.Result, from, local *cache.Disk) {
	t.Helper()
	if fetched.Key != res.Key || fetched.Digest() != res.Digest() || fetched.Step != res.Step ||
		fetched.Log != res.Log || fetched.LogSize != res.LogSize || !fetched.Created.Equal(res.Created) ||
		strings.Join(fetched.KeyLines, "\n") != strings.Join(res.KeyLines, "\n") {
		t.Fatalf("fetched result differs:\n got %+v\nwant %+v", fetched, res)
	}
	stored, err := local.GetResult(res.Key)
	if err != nil {
		t.Fatalf("the fetched result is not in the local cache: %v", err)
	}
	if stored.Digest() != res.Digest() {
		t.Fatal("the local cache holds another result")
	}
	for _, d := range res.Blobs() {
		want, err := from.ReadBlob(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := local.ReadBlob(d)
		if err != nil {
			t.Fatalf("blob %s: %v", d.Short(), err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("blob %s differs", d.Short())
		}
	}
}

// isMiss checks that err is a refusal: a miss, not a network error.
func isMiss(t *testing.T, err error, contains string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("error %q is not a miss", err)
	}
	if IsUnavailable(err) {
		t.Fatalf("error %q is taken for an unavailable registry", err)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not say %q", err, contains)
	}
}
