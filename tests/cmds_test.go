package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rogpeppe/go-internal/testscript"
)

// waitFor polls cond until it holds, failing the script after timeout. The
// timeout only turns a hang into a failure: what the script waits for
// decides the order, never the clock.
func waitFor(ts *testscript.TestScript, timeout time.Duration, what string, cond func() bool) {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			ts.Fatalf("%s within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// timeoutFlag takes a leading "-timeout D" off args.
func timeoutFlag(ts *testscript.TestScript, args []string) (time.Duration, []string) {
	if len(args) >= 2 && args[0] == "-timeout" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		return d, args[2:]
	}
	return 30 * time.Second, args
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// corrupt-blob FILE: damage the cache's copy of FILE's content (the
	// blob named by FILE's sha256) without changing its size.
	"corrupt-blob": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: corrupt-blob FILE")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		p := filepath.Join(ts.Getenv("BOTTLE_CACHE_DIR"), "blobs", h[:2], h)
		ts.Check(os.Chmod(p, 0o644))
		blob, err := os.ReadFile(p)
		ts.Check(err)
		if len(blob) == 0 {
			ts.Fatalf("blob %s is empty", h)
		}
		blob[0] ^= 0xff
		ts.Check(os.WriteFile(p, blob, 0o444))
	},
	// tamper-results OLD NEW: replace the text OLD with NEW in every result
	// entry of the cache, as someone who can write the cache would.
	"tamper-results": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: tamper-results OLD NEW")
		}
		dir := filepath.Join(ts.Getenv("BOTTLE_CACHE_DIR"), "results")
		n := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !strings.Contains(string(b), args[0]) {
				return nil
			}
			n++
			os.Chmod(p, 0o644)
			return os.WriteFile(p, []byte(strings.ReplaceAll(string(b), args[0], args[1])), 0o444)
		})
		ts.Check(err)
		if n == 0 {
			ts.Fatalf("no result entry holds %q", args[0])
		}
	},
	// waitfile [-timeout 30s] FILE: wait until FILE exists.
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		timeout, args := timeoutFlag(ts, args)
		if len(args) != 1 {
			ts.Fatalf("usage: waitfile [-timeout D] FILE")
		}
		waitFor(ts, timeout, args[0]+" did not appear", func() bool {
			_, err := os.Stat(ts.MkAbs(args[0]))
			return err == nil
		})
	},
	// waitgone [-timeout 30s] PIDFILE...: wait until every process whose
	// pid a PIDFILE holds is gone (a zombie waiting for its reaper counts
	// as gone: it runs nothing).
	"waitgone": func(ts *testscript.TestScript, neg bool, args []string) {
		timeout, args := timeoutFlag(ts, args)
		if len(args) == 0 {
			ts.Fatalf("usage: waitgone [-timeout D] PIDFILE...")
		}
		start := time.Now()
		for _, f := range args {
			b, err := os.ReadFile(ts.MkAbs(f))
			ts.Check(err)
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			ts.Check(err)
			waitFor(ts, timeout, fmt.Sprintf("process %d (%s) did not go", pid, f), func() bool {
				return processGone(pid)
			})
		}
		ts.Logf("gone after %s", time.Since(start).Round(time.Millisecond))
	},
	// waitmatch [-timeout 30s] FILE REGEXP: wait until the first MiB of
	// FILE matches REGEXP (a background command's output, sent to a file,
	// says it got somewhere).
	"waitmatch": func(ts *testscript.TestScript, neg bool, args []string) {
		timeout, args := timeoutFlag(ts, args)
		if len(args) != 2 {
			ts.Fatalf("usage: waitmatch [-timeout D] FILE REGEXP")
		}
		re, err := regexp.Compile(args[1])
		ts.Check(err)
		waitFor(ts, timeout, args[0]+" did not match "+args[1], func() bool {
			f, err := os.Open(ts.MkAbs(args[0]))
			if err != nil {
				return false
			}
			defer f.Close()
			b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
			return re.Match(b)
		})
	},
	// registry-image VAR: start an in-process registry for the rest of the
	// script, push a small random image to it and set VAR to its reference
	// (what the fake smolvm pulls when it packs, with no Docker needed).
	"registry-image": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: registry-image VAR")
		}
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		ts.Defer(srv.Close)
		ref := strings.TrimPrefix(srv.URL, "http://") + "/app:dev"
		r, err := name.ParseReference(ref)
		ts.Check(err)
		img, err := random.Image(256, 1)
		ts.Check(err)
		ts.Check(remote.Write(r, img))
		ts.Setenv(args[0], ref)
	},
	// registry VAR: start an empty in-process registry for the rest of the
	// script and set VAR to its host:port (on loopback: plain HTTP).
	"registry": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: registry VAR")
		}
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		ts.Defer(srv.Close)
		ts.Setenv(args[0], strings.TrimPrefix(srv.URL, "http://"))
	},
	// image-tarball FILE TEXT: write a docker-save tarball of a one-layer
	// image holding TEXT as /content. The same TEXT gives the same image
	// digest, in any script and on any machine.
	"image-tarball": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: image-tarball FILE TEXT")
		}
		var layer bytes.Buffer
		tw := tar.NewWriter(&layer)
		ts.Check(tw.WriteHeader(&tar.Header{Name: "content", Mode: 0o644, Size: int64(len(args[1])), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(args[1]))
		ts.Check(err)
		ts.Check(tw.Close())
		img, err := mutate.AppendLayers(empty.Image, static.NewLayer(layer.Bytes(), types.DockerUncompressedLayer))
		ts.Check(err)
		tag, err := name.NewTag("bottle-test/content:latest")
		ts.Check(err)
		ts.Check(tarball.WriteToFile(ts.MkAbs(args[0]), tag, img))
	},
	// sleep D: wait. Only to let a file's mtime move past a second (the
	// racy-file rule); never to order events: use waitfile or waitmatch.
	"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: sleep DURATION")
		}
		d, err := time.ParseDuration(args[0])
		ts.Check(err)
		time.Sleep(d)
	},
	// append FILE TEXT...: append a line to FILE.
	"append": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: append FILE TEXT...")
		}
		f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		ts.Check(err)
		_, err = f.WriteString(strings.Join(args[1:], " ") + "\n")
		ts.Check(err)
		ts.Check(f.Close())
	},
	// holds PATH TEXT: some file under PATH (a file or a folder) holds the
	// bytes TEXT, looking inside tar archives and gzip streams too (image
	// layers), so "! holds" proves a secret is nowhere in an image, a cache
	// or a workspace.
	"holds": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: holds PATH TEXT")
		}
		root := ts.MkAbs(args[0])
		var found []string
		ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			found = append(found, holdsIn(p, b, []byte(args[1]), 0)...)
			return nil
		}))
		switch {
		case neg && len(found) > 0:
			ts.Fatalf("%q found in %s", args[1], strings.Join(found, ", "))
		case !neg && len(found) == 0:
			ts.Fatalf("%q is nowhere under %s", args[1], args[0])
		}
	},
	// count-lines N FILE: FILE has exactly N lines.
	"count-lines": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: count-lines N FILE")
		}
		want, err := strconv.Atoi(args[0])
		ts.Check(err)
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		got := strings.Count(string(b), "\n")
		if (got == want) == neg {
			ts.Fatalf("%s has %d lines, want %s%d", args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	},
}

// processGone reports whether process pid has ended: it no longer exists, or
// is a zombie that nothing has reaped yet.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The state is the field after the command's name in parentheses.
		s := string(st)
		i := strings.LastIndexByte(s, ')')
		return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
	} else if !errors.Is(err, fs.ErrNotExist) || runtime.GOOS == "linux" {
		return errors.Is(err, fs.ErrNotExist)
	}
	// No /proc (macOS): ask ps.
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	st := strings.TrimSpace(string(out))
	return err != nil && st == "" || strings.HasPrefix(st, "Z")
}

// holdsIn returns the names (name, or name!member for what is inside a tar
// or gzip stream) of the data b that contain text.
func holdsIn(name string, b, text []byte, depth int) []string {
	var found []string
	if bytes.Contains(b, text) {
		found = append(found, name)
	}
	if depth > 4 {
		return found
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if u, err := io.ReadAll(zr); err == nil {
				found = append(found, holdsIn(name+"!gunzip", u, text, depth+1)...)
			}
		}
		return found
	}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		m, err := io.ReadAll(tr)
		if err != nil {
			break
		}
		found = append(found, holdsIn(name+"!"+h.Name, m, text, depth+1)...)
	}
	return found
}
