package remote

// The storage format (README "Remote cache format"): media types,
// annotations, the signature, how a result's blobs are laid out in layers,
// and the checks a manifest passes before anything in it is used.

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/internal/jsonbytes"
)

// Media types.
const (
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	ArtifactType      = "application/vnd.bottle.result.v1"
	MediaTypeEmpty    = "application/vnd.oci.empty.v1+json"
	MediaTypeEntry    = "application/vnd.bottle.result.entry.v1+json" // the cache.Result JSON
	MediaTypeBundle   = "application/vnd.bottle.files.v1.tar+gzip"    // small blobs, tar entries named by sha256 hex
	MediaTypeBlob     = "application/vnd.bottle.blob.v1"              // one blob as it is: layer digest = blob digest
)

// Manifest annotations.
const (
	AnnotationKey          = "dev.bottle.key"
	AnnotationStep         = "dev.bottle.step"
	AnnotationKind         = "dev.bottle.kind"
	AnnotationResultDigest = "dev.bottle.result-digest"
	AnnotationValues       = "dev.bottle.values"
	AnnotationSize         = "dev.bottle.size"
	AnnotationFiles        = "dev.bottle.files"
	AnnotationCreated      = "org.opencontainers.image.created"
	AnnotationSignature    = "dev.bottle.signature"
	// On a bundle layer: the smallest and largest blob digest it holds, so
	// that a reader missing a few blobs fetches only the bundles holding them.
	AnnotationBundleFirst = "dev.bottle.bundle.first"
	AnnotationBundleLast  = "dev.bottle.bundle.last"
)

// The layout's limits.
const (
	// smallBlob: blobs under this size go into bundles.
	smallBlob = 1 << 20
	// bundleTarget: a bundle is closed once its content would pass this.
	bundleTarget = 64 << 20
	// maxStandalone: at most this many blobs get a layer of their own; the
	// smallest of any others are bundled, so a manifest stays far under the
	// registries' 4 MiB limit.
	maxStandalone = 1000
	// maxManifest is the largest manifest read.
	maxManifest = 4 << 20
	// maxEntry is the largest result entry read.
	maxEntry = 256 << 20
)

// emptyJSON is the empty config: "{}", application/vnd.oci.empty.v1+json.
var emptyJSON = []byte("{}")

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Data        []byte            `json:"data,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations"`
}

func ociDigest(d cache.Digest) string { return "sha256:" + d.String() }

func parseOCIDigest(s string) (cache.Digest, error) {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok {
		return cache.Digest{}, fmt.Errorf("digest %q: only sha256 is read", s)
	}
	return cache.ParseDigest(h)
}

func emptyConfig() descriptor {
	return descriptor{MediaType: MediaTypeEmpty, Digest: ociDigest(cache.SumBytes(emptyJSON)), Size: 2, Data: emptyJSON}
}

// A Summary is what Lookup learns from a manifest, without a blob.
type Summary struct {
	Key    cache.Key
	Step   string
	Kind   string
	Digest cache.Digest      // the result's Digest(): what later keys use
	Values map[string]string // the result's values
	Size   int64             // bytes a Fetch into an empty local cache downloads
	Files  int               // output files in the result
}

// blobRef is one blob of a result.
type blobRef struct {
	d    cache.Digest
	size int64
}

// layout is how a result's blobs are split into layers.
type layout struct {
	standalone []blobRef   // one layer each, by digest
	bundles    [][]blobRef // each sorted by digest, the bundles in digest order
}

// blobsOf lists the distinct blobs a result names, with their sizes.
func blobsOf(r *cache.Result) []blobRef {
	seen := map[cache.Digest]bool{}
	var out []blobRef
	add := func(d cache.Digest, size int64) {
		if !seen[d] {
			seen[d] = true
			out = append(out, blobRef{d, size})
		}
	}
	for _, f := range r.Files {
		if f.Mode.IsRegular() {
			add(f.Digest, f.Size)
		}
	}
	if !r.Log.IsZero() {
		add(r.Log, r.LogSize)
	}
	return out
}

// plan lays blobs out: the largest (at least smallBlob, at most
// maxStandalone of them) alone, the rest in bundles of about bundleTarget
// bytes. The same blobs always give the same layout.
func plan(blobs []blobRef) layout {
	byDigest := func(a, b blobRef) int { return strings.Compare(string(a.d[:]), string(b.d[:])) }
	var large, small []blobRef
	for _, b := range blobs {
		if b.size >= smallBlob {
			large = append(large, b)
		} else {
			small = append(small, b)
		}
	}
	slices.SortFunc(large, func(a, b blobRef) int {
		if c := cmp.Compare(b.size, a.size); c != 0 {
			return c
		}
		return byDigest(a, b)
	})
	if len(large) > maxStandalone {
		small = append(small, large[maxStandalone:]...)
		large = large[:maxStandalone]
	}
	slices.SortFunc(large, byDigest)
	slices.SortFunc(small, byDigest)
	var l layout
	l.standalone = large
	var cur []blobRef
	var curSize int64
	for _, b := range small {
		if len(cur) > 0 && curSize+b.size > bundleTarget {
			l.bundles = append(l.bundles, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, b)
		curSize += b.size
	}
	if len(cur) > 0 {
		l.bundles = append(l.bundles, cur)
	}
	return l
}

// sign is the signature of a result: hex HMAC-SHA256 with key over
//
//	bottle-result-v1
//	KEY-HEX
//	LAYER-DIGEST        (each layer's "sha256:…", in manifest order)
//	RESULT-DIGEST       (the dev.bottle.result-digest annotation)
//	VALUES              (the dev.bottle.values annotation)
//
// each line ending in "\n". It covers the key, every byte of the result
// (through the layer digests: the entry names every file blob by digest)
// and the two annotations planning trusts without downloading.
func sign(key []byte, k cache.Key, layers []descriptor, resultDigest, values string) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "bottle-result-v1\n%s\n", k)
	for _, l := range layers {
		fmt.Fprintf(mac, "%s\n", l.Digest)
	}
	fmt.Fprintf(mac, "%s\n%s\n", resultDigest, values)
	return hex.EncodeToString(mac.Sum(nil))
}

// encodeValues is the dev.bottle.values annotation: a JSON object whose
// values use the lossless encoding of names.
func encodeValues(v map[string]string) (string, error) {
	if v == nil {
		v = map[string]string{}
	}
	b, err := json.Marshal(jsonbytes.Map(v))
	return string(b), err
}

// buildManifest is the manifest of result r whose entry is entry and whose
// other layers are layers.
func buildManifest(r *cache.Result, entry descriptor, layers []descriptor, signingKey []byte) ([]byte, error) {
	values, err := encodeValues(r.Values)
	if err != nil {
		return nil, err
	}
	all := append([]descriptor{entry}, layers...)
	rd := r.Digest().String()
	ann := map[string]string{
		AnnotationKey:          r.Key.String(),
		AnnotationStep:         r.Step,
		AnnotationKind:         r.Kind,
		AnnotationResultDigest: rd,
		AnnotationValues:       values,
		AnnotationSize:         strconv.FormatInt(r.Size(), 10),
		AnnotationFiles:        strconv.Itoa(len(r.Files)),
	}
	if !r.Created.IsZero() {
		ann[AnnotationCreated] = r.Created.UTC().Format(time.RFC3339)
	}
	if signingKey != nil {
		ann[AnnotationSignature] = sign(signingKey, r.Key, all, rd, values)
	}
	return json.MarshalIndent(manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		ArtifactType:  ArtifactType,
		Config:        emptyConfig(),
		Layers:        all,
		Annotations:   ann,
	}, "", "  ")
}

// checked is a manifest that passed check: its parts, parsed.
type checked struct {
	sum        *Summary
	entry      descriptor
	entryD     cache.Digest
	standalone map[cache.Digest]descriptor
	bundles    []bundleLayer
}

type bundleLayer struct {
	desc        descriptor
	d           cache.Digest
	first, last cache.Digest // zero: unknown, may hold anything
}

// check parses the manifest read for key k and checks everything that can
// be checked without a blob: that it is a bottle result for k, well formed,
// and (with signingKey) signed. An error names the step when it is known.
func check(k cache.Key, raw []byte, signingKey []byte) (step string, _ *checked, _ error) {
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", nil, fmt.Errorf("manifest is not JSON: %w", err)
	}
	ann := m.Annotations
	step = ann[AnnotationStep]
	switch {
	case m.SchemaVersion != 2 || m.MediaType != MediaTypeManifest:
		return step, nil, fmt.Errorf("not an OCI image manifest (schemaVersion %d, mediaType %q)", m.SchemaVersion, m.MediaType)
	case m.ArtifactType != ArtifactType:
		return step, nil, fmt.Errorf("not a bottle result: artifactType %q, want %s", m.ArtifactType, ArtifactType)
	case ann[AnnotationKey] != k.String():
		return step, nil, fmt.Errorf("the manifest is for key %.12s", ann[AnnotationKey])
	case len(m.Layers) == 0 || m.Layers[0].MediaType != MediaTypeEntry:
		return step, nil, errors.New("the first layer is not the result entry")
	}
	if signingKey != nil {
		sig, ok := ann[AnnotationSignature]
		if !ok {
			return step, nil, ErrUnsigned
		}
		want := sign(signingKey, k, m.Layers, ann[AnnotationResultDigest], ann[AnnotationValues])
		if !hmac.Equal([]byte(sig), []byte(want)) {
			return step, nil, ErrBadSignature
		}
	}
	rd, err := cache.ParseDigest(ann[AnnotationResultDigest])
	if err != nil {
		return step, nil, fmt.Errorf("annotation %s: %w", AnnotationResultDigest, err)
	}
	var values jsonbytes.Map
	if err := json.Unmarshal([]byte(ann[AnnotationValues]), &values); err != nil {
		return step, nil, fmt.Errorf("annotation %s: %w", AnnotationValues, err)
	}
	files, err := strconv.Atoi(ann[AnnotationFiles])
	if err != nil || files < 0 {
		return step, nil, fmt.Errorf("annotation %s: %q is not a count", AnnotationFiles, ann[AnnotationFiles])
	}
	c := &checked{
		sum: &Summary{
			Key: k, Step: step, Kind: ann[AnnotationKind], Digest: rd,
			Values: map[string]string(values), Files: files,
		},
		standalone: map[cache.Digest]descriptor{},
	}
	if c.sum.Values == nil {
		c.sum.Values = map[string]string{}
	}
	for i, l := range m.Layers {
		d, err := parseOCIDigest(l.Digest)
		if err != nil {
			return step, nil, fmt.Errorf("layer %d: %w", i, err)
		}
		if l.Size < 0 {
			return step, nil, fmt.Errorf("layer %d: size %d", i, l.Size)
		}
		c.sum.Size += l.Size
		switch {
		case i == 0:
			c.entry, c.entryD = l, d
		case l.MediaType == MediaTypeBlob:
			c.standalone[d] = l
		case l.MediaType == MediaTypeBundle:
			b := bundleLayer{desc: l, d: d}
			first, err1 := cache.ParseDigest(l.Annotations[AnnotationBundleFirst])
			last, err2 := cache.ParseDigest(l.Annotations[AnnotationBundleLast])
			if err1 == nil && err2 == nil {
				b.first, b.last = first, last
			}
			c.bundles = append(c.bundles, b)
		default:
			return step, nil, fmt.Errorf("layer %d: unknown media type %q", i, l.MediaType)
		}
	}
	return step, c, nil
}

// holds reports whether bundle b may hold blob d.
func (b bundleLayer) holds(d cache.Digest) bool {
	if b.first.IsZero() && b.last.IsZero() {
		return true
	}
	return string(d[:]) >= string(b.first[:]) && string(d[:]) <= string(b.last[:])
}

// checkEntry checks the downloaded result entry against the manifest.
func checkEntry(k cache.Key, sum *Summary, r *cache.Result) error {
	if r.Key != k {
		return fmt.Errorf("the result entry is for key %s", r.Key.Short())
	}
	if d := r.Digest(); d != sum.Digest {
		return fmt.Errorf("the result entry's digest %s differs from the manifest's %s", d.Short(), sum.Digest.Short())
	}
	v := r.Values
	if v == nil {
		v = map[string]string{}
	}
	if !maps.Equal(map[string]string(v), sum.Values) {
		return errors.New("the result entry's values differ from the manifest's")
	}
	return nil
}
