// Command remotebench is bench/remote.sh's helper: it puts a result of a
// given size into a remote cache, and an image made of exactly the same
// blobs next to it (for crane pull to fetch), and it fetches that result
// into an empty local cache, optionally restoring its files.
//
//	remotebench prepare -registry HOST:PORT -dir DIR [-size MiB] [-small N]
//	    prints: URL KEY IMAGE-REF
//	remotebench fetch -url URL -key KEY -dir DIR [-restore WORKSPACE]
//
// The content is pseudo-random from a fixed seed, so a second prepare
// pushes nothing new and the registry does not grow from run to run.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bottle-build/bottle/cache"
	cacheremote "github.com/bottle-build/bottle/cache/remote"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: remotebench prepare|fetch [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(os.Args[2:])
	case "fetch":
		err = fetch(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "remotebench:", err)
		os.Exit(1)
	}
}

func prepare(args []string) error {
	fl := flag.NewFlagSet("prepare", flag.ContinueOnError)
	registry := fl.String("registry", "127.0.0.1:5000", "registry HOST:PORT")
	dir := fl.String("dir", "", "folder for the source local cache")
	sizeMiB := fl.Int("size", 1024, "MiB of large files (in 256 MiB files)")
	small := fl.Int("small", 2000, "small files (4 KiB each) besides")
	if err := fl.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	local, err := cache.Open(*dir)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{'b', 'o', 't', 't', 'l', 'e'})
	r := &cache.Result{Step: "bench", Kind: "exec", Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for i := 0; i*256 < *sizeMiB; i++ {
		n := min(256, *sizeMiB-i*256) << 20
		d, err := store(local, io.LimitReader(rng, int64(n)), int64(n))
		if err != nil {
			return err
		}
		r.Files = append(r.Files, cache.File{Path: fmt.Sprintf("out/large-%d.bin", i), Digest: d, Size: int64(n), Mode: 0o644})
	}
	for i := range *small {
		b := make([]byte, 4096)
		rng.Read(b)
		d, err := store(local, bytes.NewReader(b), 4096)
		if err != nil {
			return err
		}
		r.Files = append(r.Files, cache.File{Path: fmt.Sprintf("out/small/%04d", i), Digest: d, Size: 4096, Mode: 0o644})
	}
	r.Key = cache.Key(cache.SumString(fmt.Sprintf("remotebench %d %d", *sizeMiB, *small)))
	if err := local.PutResult(r); err != nil {
		return err
	}
	url := fmt.Sprintf("oci://%s/bottle-bench/cache", *registry)
	rc, err := cacheremote.Open(cacheremote.Options{URL: url, Write: true})
	if err != nil {
		return err
	}
	if _, err := rc.Push(ctx, r, local); err != nil {
		return err
	}

	// The image: one layer per layer of the result's manifest, the same
	// bytes, so crane pull downloads exactly what Fetch does.
	repo, _ := cacheremote.ParseURL(url)
	desc, err := remote.Get(repo.Tag(r.Key.String()))
	if err != nil {
		return err
	}
	var m struct {
		Layers []struct {
			Digest string `json:"digest"`
			Size   int64  `json:"size"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return err
	}
	img := empty.Image
	for _, l := range m.Layers {
		h, err := v1.NewHash(l.Digest)
		if err != nil {
			return err
		}
		rl, err := remote.Layer(repo.Digest(l.Digest))
		if err != nil {
			return err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: &sameLayer{Layer: rl, h: h, size: l.Size}})
		if err != nil {
			return err
		}
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	ref, err := name.ParseReference(*registry + "/bottle-bench/image:v1")
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img); err != nil {
		return err
	}
	fmt.Println(url, r.Key, ref)
	return nil
}

// sameLayer is a blob of the remote cache presented as an image layer
// whose uncompressed form is itself.
type sameLayer struct {
	v1.Layer
	h    v1.Hash
	size int64
}

func (l *sameLayer) Digest() (v1.Hash, error)                { return l.h, nil }
func (l *sameLayer) DiffID() (v1.Hash, error)                { return l.h, nil }
func (l *sameLayer) Size() (int64, error)                    { return l.size, nil }
func (l *sameLayer) MediaType() (types.MediaType, error)     { return types.OCIUncompressedLayer, nil }
func (l *sameLayer) Uncompressed() (io.ReadCloser, error)    { return l.Layer.Compressed() }
func (l *sameLayer) Compressed() (rc io.ReadCloser, _ error) { return l.Layer.Compressed() }

func store(local *cache.Disk, r io.Reader, n int64) (cache.Digest, error) {
	tmp, err := os.CreateTemp(local.Dir(), "src-")
	if err != nil {
		return cache.Digest{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		return cache.Digest{}, err
	}
	d, size, err := local.PutFile(tmp.Name())
	if err == nil && size != n {
		err = fmt.Errorf("stored %d bytes, want %d", size, n)
	}
	return d, err
}

func fetch(args []string) error {
	fl := flag.NewFlagSet("fetch", flag.ContinueOnError)
	url := fl.String("url", "", "remote cache URL")
	key := fl.String("key", "", "result key")
	dir := fl.String("dir", "", "folder for the (empty) local cache")
	restore := fl.String("restore", "", "also restore the files into this folder")
	profile := fl.String("cpuprofile", "", "write a CPU profile of the fetch to this file")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	k, err := cache.ParseKey(*key)
	if err != nil {
		return err
	}
	local, err := cache.Open(*dir)
	if err != nil {
		return err
	}
	rc, err := cacheremote.Open(cacheremote.Options{URL: *url})
	if err != nil {
		return err
	}
	t0 := time.Now()
	res, n, err := rc.Fetch(context.Background(), k, local)
	if err != nil {
		return err
	}
	t1 := time.Now()
	if *restore != "" {
		// As run/step.go restores: 8 files at once, each through a
		// temporary in one folder on the workspace's file system.
		tmp := filepath.Join(*restore, ".bottle-tmp")
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return err
		}
		files := make(chan cache.File)
		errs := make(chan error, 8)
		for range 8 {
			go func() {
				var first error
				for f := range files {
					if first == nil {
						first = local.RestoreFile(f.Digest, filepath.Join(*restore, filepath.FromSlash(f.Path)), tmp, f.Mode&fs.ModePerm)
					}
				}
				errs <- first
			}()
		}
		for _, f := range res.Files {
			if f.Mode.IsRegular() {
				files <- f
			}
		}
		close(files)
		for range 8 {
			if err := <-errs; err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(os.Stderr, "fetched %d bytes in %v, restored in %v\n", n, t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	return nil
}
