package cache

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/bottle-build/bottle/internal/jsonbytes"
)

// A Result is what the action cache keeps for one key: the step's output
// files (as blobs in the CAS), its values, its log, and the key lines that
// produced it (so that explain can diff them).
type Result struct {
	Key      Key           `json:"key"`
	Step     string        `json:"step"` // name of the step that produced it (informational)
	Kind     string        `json:"kind"`
	Files    []File        `json:"files,omitempty"`  // sorted by Path
	Values   jsonbytes.Map `json:"values,omitempty"` // e.g. "image_id"; for exec "outputs"
	Log      Digest        `json:"log"`              // blob holding the step's combined output; zero if empty
	LogSize  int64         `json:"log_size"`
	Duration time.Duration `json:"duration"`
	Created  time.Time     `json:"created"`
	KeyLines []string      `json:"key_lines,omitempty"` // the readable lines hashed into Key

	// Location names the values that say where the step put what it made
	// rather than what it made (image.push's "ref", which holds the
	// registry's host), as the kind declares them (steps.Locator). Digest
	// leaves them out.
	Location []string `json:"location,omitempty"`

	// Remote is set on a result that a remote cache described without
	// downloading it (planning): Files is then empty, and Digest and Size
	// answer from what the remote said. Apply fetches it before restoring.
	Remote *RemoteInfo `json:"-"`
}

// RemoteInfo is what a remote cache says of a result before it is fetched.
type RemoteInfo struct {
	Digest Digest // the result's Digest()
	Size   int64  // bytes a fetch downloads
	Files  int
}

// A File is one captured output: a regular file (Digest names its blob), a
// symbolic link (Link holds its target) or a directory (Dir).
type File struct {
	Path   string      `json:"path"` // workspace-relative, slash-separated
	Digest Digest      `json:"digest,omitempty"`
	Size   int64       `json:"size,omitempty"`
	Mode   fs.FileMode `json:"mode"` // permission bits plus fs.ModeDir / fs.ModeSymlink
	Link   string      `json:"link,omitempty"`
}

// fileJSON is File as JSON holds it: names are bytes, so Path and Link use
// the lossless encoding of package jsonbytes (README: "Names in JSON").
type fileJSON struct {
	Path   jsonbytes.String `json:"path"`
	Digest Digest           `json:"digest,omitempty"`
	Size   int64            `json:"size,omitempty"`
	Mode   fs.FileMode      `json:"mode"`
	Link   jsonbytes.String `json:"link,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (f File) MarshalJSON() ([]byte, error) {
	return json.Marshal(fileJSON{jsonbytes.String(f.Path), f.Digest, f.Size, f.Mode, jsonbytes.String(f.Link)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *File) UnmarshalJSON(b []byte) error {
	var j fileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = File{Path: string(j.Path), Digest: j.Digest, Size: j.Size, Mode: j.Mode, Link: string(j.Link)}
	return nil
}

// Digest is the identity of what the step produced: its files and values, not
// its log, timing or key. Downstream keys use it, which gives early cutoff: a
// rerun that produces the same bytes gives the same result digest.
//
// Values named in Location are left out: downstream keys see what a step
// made, not where it put it. A push of one image to a laptop's own registry
// and to CI's gives one digest, so the steps after it share their results.
func (r *Result) Digest() Digest {
	if r.Remote != nil {
		return r.Remote.Digest
	}
	h := sha256.New()
	files := append([]File(nil), r.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		switch {
		case f.Mode&fs.ModeSymlink != 0:
			fmt.Fprintf(h, "link %q %q\n", f.Path, f.Link)
		case f.Mode.IsDir():
			fmt.Fprintf(h, "dir %q\n", f.Path)
		default:
			fmt.Fprintf(h, "file %q %v %s\n", f.Path, f.Mode&0o111 != 0, f.Digest)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Values)) {
		if slices.Contains(r.Location, k) {
			continue
		}
		fmt.Fprintf(h, "value %q %q\n", k, r.Values[k])
	}
	var d Digest
	h.Sum(d[:0])
	return d
}

// Size is the total size of the result's file blobs.
func (r *Result) Size() int64 {
	if r.Remote != nil {
		return r.Remote.Size
	}
	var n int64
	for _, f := range r.Files {
		n += f.Size
	}
	return n
}

// Blobs lists every blob the result names: file contents and the log.
func (r *Result) Blobs() []Digest {
	var ds []Digest
	for _, f := range r.Files {
		if f.Mode.IsRegular() {
			ds = append(ds, f.Digest)
		}
	}
	if !r.Log.IsZero() {
		ds = append(ds, r.Log)
	}
	return ds
}
