package remote

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bottle-build/bottle/cache"
)

// testResult is a result with every kind of content: small files (one of
// them twice), large ones (own layers), an executable, a symbolic link, a
// folder, a name that is not UTF-8, values and a log.
func testResult(t *testing.T, local *cache.Disk, step string) *cache.Result {
	shared := []byte("the same bytes in two files\n")
	return makeResult(t, local, step, []content{
		{path: "out/a.txt", data: []byte("hello\n")},
		{path: "out/b.txt", data: shared},
		{path: "out/copy-of-b.txt", data: shared},
		{path: "out/tool", data: []byte("#!/bin/sh\necho hi\n"), mode: 0o755},
		{path: "out/big1.bin", data: random(2 << 20)},
		{path: "out/big2.bin", data: random(3<<20 + 17)},
		{path: "out/caf\xe9.txt", data: []byte("latin-1 name\n")},
		{path: "out/empty", data: nil},
		{path: "out/link", link: "a.txt"},
		{path: "out/sub", dir: true},
	}, map[string]string{"outputs": "out/a.txt out/caf\xe9.txt", "image_id": "sha256:00"}, "built it\n")
}

func TestRoundTrip(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			cnt := newCounter()
			url := tg.url(t)
			rc := open(t, Options{URL: url, Write: true, Transport: cnt})
			from := newLocal(t)
			res := testResult(t, from, "build")

			if s, err := rc.Lookup(ctx, res.Key); err != nil || s != nil {
				t.Fatalf("lookup before push = %v, %v; want a miss", s, err)
			}
			st, err := rc.Push(ctx, res, from)
			if err != nil {
				t.Fatal(err)
			}
			// config, entry, two large blobs, one bundle
			if st.Skipped || st.Blobs != 5 || st.Bytes < 5<<20 {
				t.Errorf("first push: %+v, want 5 blobs and over 5 MiB", st)
			}

			// Another machine: a fresh Cache and an empty local cache.
			reader := open(t, Options{URL: url, Transport: cnt})
			cnt.snapshot()
			s, err := reader.Lookup(ctx, res.Key)
			if err != nil || s == nil {
				t.Fatalf("lookup after push = %v, %v", s, err)
			}
			if req, _, _ := cnt.snapshot(); req["GET blobs"] != 0 {
				t.Errorf("lookup downloaded blobs: %v", req)
			}
			if s.Key != res.Key || s.Step != "build" || s.Kind != "exec" || s.Digest != res.Digest() ||
				s.Files != len(res.Files) || s.Values["outputs"] != res.Values["outputs"] || len(s.Values) != 2 {
				t.Errorf("summary %+v does not describe the result", s)
			}
			if s.Size < res.Size() {
				t.Errorf("summary size %d, less than the files' %d", s.Size, res.Size())
			}
			local := newLocal(t)
			got, n, err := reader.Fetch(ctx, res.Key, local)
			if err != nil {
				t.Fatal(err)
			}
			sameResult(t, res, got, from, local)
			if n != s.Size {
				t.Errorf("fetch into an empty cache downloaded %d bytes; lookup said %d", n, s.Size)
			}
			if req, _, _ := cnt.snapshot(); req["GET manifests"] != 0 {
				t.Errorf("fetch read the manifest again after lookup: %v", req)
			}

			// Again into a cache that has it all: only the manifest and entry.
			if _, n, err = reader.Fetch(ctx, res.Key, local); err != nil {
				t.Fatal(err)
			}
			if req, _, _ := cnt.snapshot(); req["GET blobs"] != 1 || n > 4096 {
				t.Errorf("fetch into a full cache: %v, %d bytes; want the entry only", req, n)
			}

			// A second push of the same result costs one manifest HEAD.
			st, err = rc.Push(ctx, res, from)
			if err != nil {
				t.Fatal(err)
			}
			req, up, b := cnt.snapshot()
			if !st.Skipped || st.Blobs != 0 || st.Bytes != 0 || len(up) != 0 || b != 0 {
				t.Errorf("second push: %+v, uploaded %v, %d bytes", st, up, b)
			}
			if len(req) != 1 || req["HEAD manifests"] != 1 {
				t.Errorf("second push made %v, want one manifest HEAD", req)
			}
		})
	}
}

func TestSharedBlobUploadedOnce(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			cnt := newCounter()
			rc := open(t, Options{URL: tg.url(t), Write: true, Transport: cnt})
			local := newLocal(t)
			big := random(4 << 20)
			r1 := makeResult(t, local, "one", []content{{path: "big", data: big}, {path: "a", data: []byte("one")}}, nil, "")
			r2 := makeResult(t, local, "two", []content{{path: "also-big", data: big}, {path: "b", data: []byte("two")}}, nil, "")
			for _, r := range []*cache.Result{r1, r2} {
				if _, err := rc.Push(ctx, r, local); err != nil {
					t.Fatal(err)
				}
			}
			_, up, b := cnt.snapshot()
			n := 0
			for _, d := range up {
				if d == ociDigest(cache.SumBytes(big)) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("the shared blob was uploaded %d times; uploads %v", n, up)
			}
			if b >= 2*int64(len(big)) {
				t.Errorf("uploaded %d bytes for two results sharing %d", b, len(big))
			}
			for _, r := range []*cache.Result{r1, r2} {
				into := newLocal(t)
				got, _, err := rc.Fetch(ctx, r.Key, into)
				if err != nil {
					t.Fatal(err)
				}
				sameResult(t, r, got, local, into)
			}
		})
	}
}

// TestManyFiles: 20,000 files round-trip in a manifest far under the 4 MiB
// limit, in a handful of requests.
func TestManyFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 files")
	}
	from := newLocal(t)
	files := make([]content, 20000)
	for i := range files {
		files[i] = content{path: fmt.Sprintf("out/%03d/file-%05d.txt", i/100, i), data: []byte(fmt.Sprintf("file %d\n%s", i, strings.Repeat("x", i%300)))}
	}
	// A few large ones too, so that standalone layers and bundles mix.
	for i := range 3 {
		files = append(files, content{path: fmt.Sprintf("out/large-%d", i), data: random(1<<20 + i)})
	}
	res := makeResult(t, from, "many", files, nil, "")
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			cnt := newCounter()
			url := tg.url(t)
			rc := open(t, Options{URL: url, Write: true, Transport: cnt})
			if _, err := rc.Push(ctx, res, from); err != nil {
				t.Fatal(err)
			}
			raw := rawManifest(t, url, res.Key)
			if len(raw) >= 1<<20 {
				t.Errorf("manifest of %d bytes, want under 1 MiB", len(raw))
			}
			var m manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) > 10 {
				t.Errorf("%d layers for 20,000 small files", len(m.Layers))
			}
			cnt.snapshot()
			local := newLocal(t)
			got, _, err := open(t, Options{URL: url, Transport: cnt}).Fetch(ctx, res.Key, local)
			if err != nil {
				t.Fatal(err)
			}
			sameResult(t, res, got, from, local)
			if req, _, _ := cnt.snapshot(); req["GET blobs"] > 10 {
				t.Errorf("fetching 20,000 files took %d blob requests", req["GET blobs"])
			}
		})
	}
}

// rawManifest reads the manifest tagged k as crane manifest would.
func rawManifest(t *testing.T, url string, k cache.Key) []byte {
	t.Helper()
	ref, err := name.ParseReference(strings.TrimPrefix(url, Scheme) + ":" + k.String())
	if err != nil {
		t.Fatal(err)
	}
	d, err := ggcr.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d.Manifest
}

// putManifest replaces the manifest tagged k.
func putManifest(t *testing.T, rc *Cache, k cache.Key, raw []byte) {
	t.Helper()
	resp, err := rc.do(context.Background(), request{
		method: http.MethodPut, path: "manifests/" + k.String(),
		header: map[string]string{"Content-Type": MediaTypeManifest},
		body:   bytes.NewReader(raw), length: int64(len(raw)),
		ok: []int{http.StatusCreated, http.StatusOK},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Close()
}

// TestManifestReadable: what `crane manifest` shows is indented JSON a
// person can read, with the format's media types and annotations.
func TestManifestReadable(t *testing.T) {
	tg := inProcess(t)
	url := tg.url(t)
	rc := open(t, Options{URL: url, Write: true, SigningKey: []byte("k")})
	local := newLocal(t)
	res := testResult(t, local, "build")
	if _, err := rc.Push(context.Background(), res, local); err != nil {
		t.Fatal(err)
	}
	raw := rawManifest(t, url, res.Key)
	if !bytes.Contains(raw, []byte("\n  \"schemaVersion\": 2,\n")) {
		t.Errorf("manifest is not indented JSON:\n%s", raw)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != MediaTypeManifest || m.ArtifactType != ArtifactType || m.Config.MediaType != MediaTypeEmpty ||
		m.Config.Digest != "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" || m.Config.Size != 2 {
		t.Errorf("manifest head: %s", raw)
	}
	want := map[string]string{
		AnnotationKey:          res.Key.String(),
		AnnotationStep:         "build",
		AnnotationKind:         "exec",
		AnnotationResultDigest: res.Digest().String(),
		AnnotationValues:       `{"image_id":"sha256:00","outputs":{"base64":"b3V0L2EudHh0IG91dC9jYWbpLnR4dA=="}}`,
		AnnotationSize:         fmt.Sprint(res.Size()),
		AnnotationFiles:        "10",
		AnnotationCreated:      "2026-12-01T10:00:00Z",
	}
	for k, v := range want {
		if m.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}
	if len(m.Annotations[AnnotationSignature]) != 64 {
		t.Errorf("signature %q", m.Annotations[AnnotationSignature])
	}
	types := map[string]int{}
	for _, l := range m.Layers {
		types[l.MediaType]++
	}
	if m.Layers[0].MediaType != MediaTypeEntry || types[MediaTypeBlob] != 2 || types[MediaTypeBundle] != 1 {
		t.Errorf("layers %v", types)
	}
}

func TestSignature(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			ctx := context.Background()
			url := tg.url(t)
			local := newLocal(t)
			signed := testResult(t, local, "signed")
			unsigned := makeResult(t, local, "unsigned", []content{{path: "x", data: []byte("x")}}, nil, "")
			if _, err := open(t, Options{URL: url, Write: true, SigningKey: []byte("right key")}).Push(ctx, signed, local); err != nil {
				t.Fatal(err)
			}
			if _, err := open(t, Options{URL: url, Write: true}).Push(ctx, unsigned, local); err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				name string
				key  string
				res  *cache.Result
				want error
			}{
				{"right key", "right key", signed, nil},
				{"no key reads signed", "", signed, nil},
				{"no key reads unsigned", "", unsigned, nil},
				{"wrong key", "wrong key", signed, ErrBadSignature},
				{"unsigned with a key", "right key", unsigned, ErrUnsigned},
			} {
				t.Run(tt.name, func(t *testing.T) {
					var key []byte
					if tt.key != "" {
						key = []byte(tt.key)
					}
					rc := open(t, Options{URL: url, SigningKey: key})
					s, err := rc.Lookup(ctx, tt.res.Key)
					into := newLocal(t)
					_, _, ferr := open(t, Options{URL: url, SigningKey: key}).Fetch(ctx, tt.res.Key, into)
					if tt.want == nil {
						if err != nil || s == nil || ferr != nil {
							t.Fatalf("lookup %v, %v; fetch %v", s, err, ferr)
						}
						return
					}
					for _, err := range []error{err, ferr} {
						if !errors.Is(err, tt.want) {
							t.Fatalf("error %v, want %v", err, tt.want)
						}
						isMiss(t, err, "(step "+tt.res.Step+")")
					}
					if _, err := into.PeekResult(tt.res.Key); err == nil {
						t.Error("a refused result was stored")
					}
				})
			}

			// Changing what plan trusts breaks the signature.
			rc := open(t, Options{URL: url, Write: true, SigningKey: []byte("right key")})
			var m manifest
			if err := json.Unmarshal(rawManifest(t, url, signed.Key), &m); err != nil {
				t.Fatal(err)
			}
			m.Annotations[AnnotationValues] = `{"image_id":"sha256:ff","outputs":"out/a.txt"}`
			forged, _ := json.Marshal(m)
			putManifest(t, rc, signed.Key, forged)
			if _, err := rc.Lookup(ctx, signed.Key); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("forged values: %v, want a bad signature", err)
			}
			// A writer with the key replaces what is not validly signed.
			st, err := rc.Push(ctx, signed, local)
			if err != nil || st.Skipped {
				t.Fatalf("push over a forged result: %+v, %v; want a replacement", st, err)
			}
			if s, err := rc.Lookup(ctx, signed.Key); err != nil || s == nil {
				t.Fatalf("after the replacement: %v, %v", s, err)
			}
		})
	}
}

// TestTampered: content that does not check out is refused, and nothing
// of the result is stored.
func TestTampered(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		tamper func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest)
		say    string
	}{
		{"large blob bytes", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			tg.blobs.tamper(largest(res), func(b []byte) []byte { b[100] ^= 1; return b })
		}, "corrupt"},
		{"large blob shorter", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			tg.blobs.tamper(largest(res), func(b []byte) []byte { return b[:len(b)-1] })
		}, "bytes"},
		{"bundle bytes", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			d, _ := parseOCIDigest(m.Layers[len(m.Layers)-1].Digest)
			tg.blobs.tamper(d, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}, "bundle"},
		{"entry bytes", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			d, _ := parseOCIDigest(m.Layers[0].Digest)
			tg.blobs.tamper(d, func(b []byte) []byte { return bytes.Replace(b, []byte(`"build"`), []byte(`"bUild"`), 1) })
		}, "corrupt"},
		{"file in a bundle", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			// A bundle whose layer digest is right but whose entry for
			// a.txt holds other bytes.
			a := findFile(res, "out/a.txt")
			evil := []byte("HELLO\n")
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: a.Digest.String(), Size: int64(len(evil)), Mode: 0o444})
			tw.Write(evil)
			tw.Close()
			gz := gzipBytes(t, buf.Bytes())
			m.Layers = append(m.Layers[:1:1], descriptor{MediaType: MediaTypeBundle, Digest: ociDigest(uploadRaw(t, rc, gz)), Size: int64(len(gz))})
			rewrite(t, rc, res.Key, m)
		}, "corrupt"},
		{"layer left out", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			m.Layers = m.Layers[:len(m.Layers)-1]
			rewrite(t, rc, res.Key, m)
		}, "not in the manifest"},
		{"entry of another key", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			r2 := *res
			r2.Key = cache.Key(cache.SumString("another key"))
			entry, _ := json.Marshal(&r2)
			m.Layers[0] = descriptor{MediaType: MediaTypeEntry, Digest: ociDigest(uploadRaw(t, rc, entry)), Size: int64(len(entry))}
			rewrite(t, rc, res.Key, m)
		}, "entry is for key"},
		{"manifest of another key", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			m.Annotations[AnnotationKey] = cache.SumString("another key").String()
			rewrite(t, rc, res.Key, m)
		}, "the manifest is for key"},
		{"values annotation", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			m.Annotations[AnnotationValues] = `{"image_id":"sha256:ff","outputs":"x"}`
			rewrite(t, rc, res.Key, m)
		}, "values differ"},
		{"result digest annotation", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			m.Annotations[AnnotationResultDigest] = cache.SumString("x").String()
			rewrite(t, rc, res.Key, m)
		}, "digest"},
		{"not a bottle result", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			m.ArtifactType = "application/vnd.example"
			rewrite(t, rc, res.Key, m)
		}, "not a bottle result"},
		{"deleted blob", func(t *testing.T, tg target, rc *Cache, res *cache.Result, m *manifest) {
			tg.blobs.mu.Lock()
			delete(tg.blobs.m, ociDigest(largest(res)))
			tg.blobs.mu.Unlock()
		}, "missing from the registry"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tg := inProcess(t)
			url := tg.url(t)
			rc := open(t, Options{URL: url, Write: true})
			from := newLocal(t)
			res := testResult(t, from, "build")
			if _, err := rc.Push(ctx, res, from); err != nil {
				t.Fatal(err)
			}
			var m manifest
			if err := json.Unmarshal(rawManifest(t, url, res.Key), &m); err != nil {
				t.Fatal(err)
			}
			tt.tamper(t, tg, rc, res, &m)
			local := newLocal(t)
			_, _, err := open(t, Options{URL: url}).Fetch(ctx, res.Key, local)
			isMiss(t, err, tt.say)
			if _, err := local.PeekResult(res.Key); err == nil {
				t.Error("the refused result was stored")
			}
		})
	}
}

// TestTamperedInRegistryStorage changes a blob's bytes in a real
// registry's storage folder.
func TestTamperedInRegistryStorage(t *testing.T) {
	tg := ownRegistry(t, "")
	ctx := context.Background()
	url := tg.url(t)
	rc := open(t, Options{URL: url, Write: true})
	from := newLocal(t)
	res := testResult(t, from, "build")
	if _, err := rc.Push(ctx, res, from); err != nil {
		t.Fatal(err)
	}
	p := tg.blobData(largest(res))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[12345] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	local := newLocal(t)
	_, _, err = open(t, Options{URL: url}).Fetch(ctx, res.Key, local)
	isMiss(t, err, "corrupt")
	if _, err := local.PeekResult(res.Key); err == nil {
		t.Error("the refused result was stored")
	}
	if local.HasBlob(largest(res)) {
		t.Error("the tampered blob is in the local cache")
	}
}

func largest(r *cache.Result) cache.Digest {
	var best cache.File
	for _, f := range r.Files {
		if f.Size > best.Size {
			best = f
		}
	}
	return best.Digest
}

func findFile(r *cache.Result, p string) cache.File {
	for _, f := range r.Files {
		if f.Path == p {
			return f
		}
	}
	panic("no file " + p)
}

// rewrite puts manifest m back under k, unsigned.
func rewrite(t *testing.T, rc *Cache, k cache.Key, m *manifest) {
	t.Helper()
	delete(m.Annotations, AnnotationSignature)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	putManifest(t, rc, k, raw)
}

// uploadRaw uploads b as a blob and returns its digest.
func uploadRaw(t *testing.T, rc *Cache, b []byte) cache.Digest {
	t.Helper()
	var n1, n2 atomic.Int64
	u := &uploader{c: rc, blobs: &n1, bytes: &n2}
	d := cache.SumBytes(b)
	if err := u.bytesBlob(context.Background(), d, b); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); slow.Close() })
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)

	for _, tt := range []struct {
		name, host, say string
	}{
		{"closed port", closed, "unreachable: connection refused"},
		{"no answer", strings.TrimPrefix(slow.URL, "http://"), "no answer within 300ms"},
		{"503", strings.TrimPrefix(failing.URL, "http://"), "the registry is failing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := open(t, Options{URL: "oci://" + tt.host + "/bottle", Write: true, Timeout: 300 * time.Millisecond})
			local := newLocal(t)
			res := makeResult(t, local, "s", []content{{path: "f", data: []byte("f")}}, nil, "")
			_, lerr := rc.Lookup(ctx, res.Key)
			_, _, ferr := rc.Fetch(ctx, res.Key, local)
			_, perr := rc.Push(ctx, res, local)
			for _, err := range []error{lerr, ferr, perr} {
				if !IsUnavailable(err) {
					t.Fatalf("error %v is not unavailable", err)
				}
				if errors.Is(err, cache.ErrMiss) {
					t.Errorf("error %v is a miss", err)
				}
				want := "remote cache " + tt.host + "/bottle: "
				if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.say) {
					t.Errorf("error %q, want %q…%q", err, want, tt.say)
				}
			}
		})
	}
}

// TestBasicAuth: credentials come from the Docker config.
func TestBasicAuth(t *testing.T) {
	// user bottle, password s3cret-pass (htpasswd -Bbn: bcrypt, cost 5)
	tg := ownRegistry(t, "bottle:$2y$05$ycQXL4CfiMvdsV2LL9BChOpVMbuOm7WbNt.OKpSwte6ZIKjV5D.s2\n")
	ctx := context.Background()
	url := tg.url(t)
	from := newLocal(t)
	res := testResult(t, from, "build")

	t.Run("without credentials", func(t *testing.T) {
		rc := open(t, Options{URL: url, Write: true})
		_, err := rc.Push(ctx, res, from)
		if !IsDenied(err) || IsUnavailable(err) || !strings.Contains(err.Error(), "access denied") || !strings.Contains(err.Error(), "docker login "+tg.host) {
			t.Fatalf("push without credentials: %v", err)
		}
		_, err = rc.Lookup(ctx, res.Key)
		if !IsDenied(err) {
			t.Fatalf("lookup without credentials: %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		dockerConfig(t, tg.host, "bottle", "wrong")
		c, err := Open(Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Lookup(ctx, res.Key)
		if !IsDenied(err) {
			t.Fatalf("lookup with a wrong password: %v", err)
		}
	})
	t.Run("docker config", func(t *testing.T) {
		dockerConfig(t, tg.host, "bottle", "s3cret-pass")
		c, err := Open(Options{URL: url, Write: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Push(ctx, res, from); err != nil {
			t.Fatal(err)
		}
		local := newLocal(t)
		got, _, err := c.Fetch(ctx, res.Key, local)
		if err != nil {
			t.Fatal(err)
		}
		sameResult(t, res, got, from, local)
	})
}

// dockerConfig points DOCKER_CONFIG at a config.json holding user:password
// for host, as `docker login` writes it.
func dockerConfig(t *testing.T, host, user, password string) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

func TestWriteNotEnabled(t *testing.T) {
	rc := open(t, Options{URL: "oci://127.0.0.1:1/bottle"})
	local := newLocal(t)
	res := makeResult(t, local, "s", []content{{path: "f", data: []byte("f")}}, nil, "")
	_, err := rc.Push(context.Background(), res, local)
	if err == nil || !strings.Contains(err.Error(), "writing is not enabled") {
		t.Fatalf("push on a read-only remote cache: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		in, repo, err string
	}{
		{"oci://127.0.0.1:5000/bottle", "127.0.0.1:5000/bottle", ""},
		{"oci://ghcr.io/acme/cache", "ghcr.io/acme/cache", ""},
		{"oci://localhost:5000/a/b/c", "localhost:5000/a/b/c", ""},
		{"127.0.0.1:5000/bottle", "", "must start with oci://"},
		{"https://ghcr.io/acme", "", "must start with oci://"},
		{"oci://", "", "no registry host"},
		{"oci:///bottle", "", "no registry host"},
		{"oci://ghcr.io", "", "no repository"},
		{"oci://ghcr.io/", "", "no repository"},
		{"oci://ghcr.io/acme/cache:latest", "", "no tag or digest"},
		{"oci://ghcr.io/acme/cache@sha256:00", "", "no tag or digest"},
		{"oci://ghcr.io/Acme", "", "repository can only contain"},
		{"oci://bad host/x", "", "remote cache oci://bad host/x: "},
	} {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "remote cache "+tt.in+": ") {
					t.Fatalf("ParseURL(%q) = %v, %v; want an error saying %q", tt.in, r, err, tt.err)
				}
				return
			}
			if err != nil || r.Name() != tt.repo {
				t.Fatalf("ParseURL(%q) = %v, %v; want %s", tt.in, r, err, tt.repo)
			}
			c, err := Open(Options{URL: tt.in})
			if err != nil || c.URL() != tt.in {
				t.Fatalf("Open(%q).URL() = %v, %v", tt.in, c, err)
			}
		})
	}
}

func TestPlanLayout(t *testing.T) {
	mk := func(n int, size int64) []blobRef {
		out := make([]blobRef, n)
		for i := range out {
			out[i] = blobRef{cache.SumString(fmt.Sprint(size, i)), size}
		}
		return out
	}
	for _, tt := range []struct {
		name             string
		blobs            []blobRef
		standalone, bund int
	}{
		{"nothing", nil, 0, 0},
		{"small only", mk(100, 10), 0, 1},
		{"large only", mk(3, 2<<20), 3, 0},
		{"exactly the small limit is large", mk(1, smallBlob), 1, 0},
		{"small bundles split at the target", mk(130, smallBlob-1), 0, 3},
		{"too many large", mk(maxStandalone+5, 1<<20), maxStandalone, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := plan(tt.blobs)
			if len(l.standalone) != tt.standalone || len(l.bundles) != tt.bund {
				t.Fatalf("%d standalone, %d bundles; want %d, %d", len(l.standalone), len(l.bundles), tt.standalone, tt.bund)
			}
			n := len(l.standalone)
			for _, b := range l.bundles {
				n += len(b)
				for i := 1; i < len(b); i++ {
					if string(b[i-1].d[:]) >= string(b[i].d[:]) {
						t.Fatal("a bundle is not in digest order")
					}
				}
			}
			if n != len(tt.blobs) {
				t.Fatalf("%d blobs laid out, want %d", n, len(tt.blobs))
			}
		})
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestManifestSizeWorstCase: the most layers a manifest can have (1,000
// standalone blobs, then bundles of everything else) stays far under the
// registries' 4 MiB limit.
func TestManifestSizeWorstCase(t *testing.T) {
	r := &cache.Result{Key: cache.Key(cache.SumString("k")), Step: "s", Kind: "exec",
		Values: map[string]string{"outputs": strings.Repeat("out/file ", 100)}}
	var blobs []blobRef
	for i := range 1200 {
		blobs = append(blobs, blobRef{cache.SumString(fmt.Sprint("large", i)), 1<<20 + int64(i)})
	}
	for i := range 20000 {
		blobs = append(blobs, blobRef{cache.SumString(fmt.Sprint("small", i)), 16 << 10})
	}
	l := plan(blobs)
	var layers []descriptor
	for _, b := range l.standalone {
		layers = append(layers, descriptor{MediaType: MediaTypeBlob, Digest: ociDigest(b.d), Size: b.size})
	}
	for _, b := range l.bundles {
		layers = append(layers, descriptor{MediaType: MediaTypeBundle, Digest: ociDigest(cache.SumString("b")), Size: 1 << 26,
			Annotations: map[string]string{AnnotationBundleFirst: b[0].d.String(), AnnotationBundleLast: b[len(b)-1].d.String()}})
	}
	m, err := buildManifest(r, descriptor{MediaType: MediaTypeEntry, Digest: ociDigest(cache.SumString("e")), Size: 1}, layers, []byte("key"))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.standalone) != maxStandalone || len(m) > 512<<10 {
		t.Errorf("%d standalone layers, %d bundles: a manifest of %d bytes", len(l.standalone), len(l.bundles), len(m))
	}
	t.Logf("%d layers: %d bytes", len(layers)+1, len(m))
}
