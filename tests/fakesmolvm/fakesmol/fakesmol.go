// Package fakesmol is the importable half of the fake smolvm CLI in the
// parent folder: the .smolmachine sidecar format the fake writes and reads
// (so tests can check what pack produced) and Build, which compiles the
// fake into a folder as "smolvm" for a test to put on PATH, and Main, the
// fake CLI itself (cli.go).
//
// The sidecar layout is the fake's own rendering of what INTERFACES.md
// documents for smolvm v1.9.2: a payload, then a JSON manifest, then a
// 64-byte footer that starts with "SMOLPACK" and points at the manifest.
// Footer fields (little endian):
//
//	[0:8)   "SMOLPACK"
//	[8:12)  format version (1)
//	[12:16) reserved, zero
//	[16:24) manifest offset from the start of the file
//	[24:32) manifest length
//	[32:40) payload offset
//	[40:48) payload length
//	[48:64) zero
//
// The real smolvm's footer fields beyond the magic are not verified here;
// bottle must treat the sidecar as opaque and only tests may look inside.
package fakesmol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Magic starts the footer; FooterSize is its length.
const (
	Magic         = "SMOLPACK"
	FooterSize    = 64
	FormatVersion = 1
)

// Manifest is the JSON document the footer points at.
type Manifest struct {
	Image      string `json:"image"`
	Digest     string `json:"digest"`
	Cpus       int    `json:"cpus"`
	Mem        int    `json:"mem"`
	Network    bool   `json:"network"`
	Entrypoint string `json:"entrypoint,omitempty"`
	Platform   string `json:"platform,omitempty"`
}

// Encode returns prefix + payload + manifest JSON + footer, with the
// footer's offsets counted from the start of prefix (a sidecar has no
// prefix; a --single-file stub has the launcher script). The same inputs
// give the same bytes.
func Encode(prefix, payload []byte, m Manifest) ([]byte, error) {
	mj, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(prefix)
	b.Write(payload)
	b.Write(mj)
	f := make([]byte, FooterSize)
	copy(f, Magic)
	binary.LittleEndian.PutUint32(f[8:], FormatVersion)
	binary.LittleEndian.PutUint64(f[16:], uint64(len(prefix)+len(payload)))
	binary.LittleEndian.PutUint64(f[24:], uint64(len(mj)))
	binary.LittleEndian.PutUint64(f[32:], uint64(len(prefix)))
	binary.LittleEndian.PutUint64(f[40:], uint64(len(payload)))
	b.Write(f)
	return b.Bytes(), nil
}

// Decode reads the manifest from a sidecar's (or single-file stub's) bytes.
func Decode(b []byte) (Manifest, error) {
	var m Manifest
	if len(b) < FooterSize {
		return m, errors.New("file too short for a SMOLPACK footer")
	}
	f := b[len(b)-FooterSize:]
	if string(f[:len(Magic)]) != Magic {
		return m, errors.New("no SMOLPACK footer")
	}
	if v := binary.LittleEndian.Uint32(f[8:]); v != FormatVersion {
		return m, fmt.Errorf("unsupported pack format version %d", v)
	}
	off, n := binary.LittleEndian.Uint64(f[16:]), binary.LittleEndian.Uint64(f[24:])
	body := uint64(len(b) - FooterSize)
	if off > body || n > body-off {
		return m, errors.New("SMOLPACK footer points outside the file")
	}
	if err := json.Unmarshal(b[off:off+n], &m); err != nil {
		return m, fmt.Errorf("damaged pack manifest: %v", err)
	}
	return m, nil
}

// ReadSidecar reads and decodes the file at path.
func ReadSidecar(path string) (Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, err
	}
	return Decode(b)
}

// Build compiles the fake into dir/smolvm and returns its path. Prepend dir
// to PATH (or pass the path as bottle's `smolvm` field) to use it. With
// race set the fake itself is built with -race.
func Build(dir string, race bool) (string, error) {
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("fakesmol: cannot locate the fake's source")
	}
	src := filepath.Dir(filepath.Dir(self))
	out := filepath.Join(dir, "smolvm")
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("fakesmol: go build: %v\n%s", err, b)
	}
	return out, nil
}
