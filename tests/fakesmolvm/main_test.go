package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bottle-build/bottle/tests/fakesmolvm/fakesmol"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var (
	smolvm  string // the built fake
	regHost string // host:port of the in-process registry
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fakesmolvm-bin-")
	if err != nil {
		log.Fatal(err)
	}
	if smolvm, err = fakesmol.Build(dir, false); err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	regHost = strings.TrimPrefix(srv.URL, "http://")
	code := m.Run()
	srv.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// push writes a random image to the test registry and returns its tag
// reference and digest.
func push(t *testing.T, repoTag string) (string, string) {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := regHost + "/" + repoTag
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref, d.String()
}

type env struct {
	dir  string // a scratch folder
	vars []string
}

// newEnv isolates the fake's state, log, HOME and Docker config.
func newEnv(t *testing.T, extra ...string) *env {
	d := t.TempDir()
	for _, sub := range []string{"home", "docker", "work"} {
		os.MkdirAll(filepath.Join(d, sub), 0o755)
	}
	vars := append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(d, "home"),
		"DOCKER_CONFIG=" + filepath.Join(d, "docker"),
		"SMOLVM_DATA_DIR=" + filepath.Join(d, "data"),
		"SMOLVM_FAKE_LOG=" + filepath.Join(d, "argv.log"),
	}, extra...)
	return &env{dir: d, vars: vars}
}

func (e *env) work(p string) string { return filepath.Join(e.dir, "work", p) }

type result struct {
	stdout, stderr string
	code           int
}

func (e *env) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(smolvm, args...)
	cmd.Env = e.vars
	cmd.Dir = filepath.Join(e.dir, "work")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func lastLines(s string, n int) []string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) < n {
		return l
	}
	return l[len(l)-n:]
}

func TestPack(t *testing.T) {
	ref, digest := push(t, "pack/ok:v1")
	byDigest := regHost + "/pack/ok@" + digest
	cases := []struct {
		name      string
		image     string
		flags     []string
		single    bool
		cpus, mem int
		entry     string
	}{
		{name: "defaults", image: ref, cpus: 1, mem: 512},
		{name: "equals and space forms", image: ref, flags: []string{"--cpus=2", "--mem", "1024"}, cpus: 2, mem: 1024},
		{name: "by digest", image: byDigest, cpus: 1, mem: 512},
		{name: "entrypoint and platform", image: ref, flags: []string{"--entrypoint", "/bin/app", "--oci-platform=linux/amd64"}, cpus: 1, mem: 512, entry: "/bin/app"},
		{name: "single file", image: ref, flags: []string{"--single-file"}, single: true, cpus: 1, mem: 512},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			out := e.work("app")
			args := append([]string{"pack", "create", "--image", c.image, "--output=" + out}, c.flags...)
			r := e.run(t, "", args...)
			if r.code != 0 {
				t.Fatalf("pack failed: %v", r)
			}
			if !strings.Contains(r.stderr, "Pulling") {
				t.Errorf("no pull progress on stderr: %v", r)
			}
			fi, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o755 {
				t.Errorf("stub mode %v, want 0755", fi.Mode().Perm())
			}
			stub, _ := os.ReadFile(out)
			if !bytes.Contains(stub, []byte(digest)) {
				t.Errorf("stub does not name the digest %s", digest)
			}
			sidecar := out + ".smolmachine"
			var side []byte
			if c.single {
				if _, err := os.Stat(sidecar); !os.IsNotExist(err) {
					t.Errorf("--single-file wrote a sidecar (err %v)", err)
				}
				if got := lastLines(r.stdout, 1); got[0] != "Packed: "+out {
					t.Errorf("stdout ends %q", got)
				}
				side = stub
			} else {
				if side, err = os.ReadFile(sidecar); err != nil {
					t.Fatal(err)
				}
				want := []string{"Packed: " + out, fmt.Sprintf("Assets: %s (%d bytes)", sidecar, len(side))}
				if got := lastLines(r.stdout, 2); strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("stdout ends %q, want %q", got, want)
				}
			}
			footer := side[len(side)-fakesmol.FooterSize:]
			if !bytes.HasPrefix(footer, []byte("SMOLPACK")) {
				t.Fatalf("footer %q does not start with SMOLPACK", footer)
			}
			m, err := fakesmol.Decode(side)
			if err != nil {
				t.Fatal(err)
			}
			want := fakesmol.Manifest{Image: c.image, Digest: digest, Cpus: c.cpus, Mem: c.mem, Entrypoint: c.entry}
			if c.entry != "" {
				want.Platform = "linux/amd64"
			}
			if m != want {
				t.Errorf("manifest %+v, want %+v", m, want)
			}
			// The raw JSON carries the documented keys.
			var raw map[string]any
			off, n := binary.LittleEndian.Uint64(footer[16:]), binary.LittleEndian.Uint64(footer[24:])
			if err := json.Unmarshal(side[off:off+n], &raw); err != nil {
				t.Fatalf("footer does not point at JSON: %v", err)
			}
			for _, k := range []string{"image", "digest", "cpus", "mem", "network"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("manifest lacks %q", k)
				}
			}
			// Same image and flags: the same bytes, overwritten silently.
			r2 := e.run(t, "", args...)
			if r2.code != 0 {
				t.Fatalf("second pack failed: %v", r2)
			}
			stub2, _ := os.ReadFile(out)
			if !bytes.Equal(stub, stub2) {
				t.Error("stub differs between two packs of the same image")
			}
			if !c.single {
				side2, _ := os.ReadFile(sidecar)
				if !bytes.Equal(side, side2) {
					t.Error("sidecar differs between two packs of the same image")
				}
			}
		})
	}
}

func TestPackNewImageChangesOutput(t *testing.T) {
	e := newEnv(t)
	ref, _ := push(t, "pack/change:v1")
	out := e.work("app")
	if r := e.run(t, "", "pack", "create", "--image", ref, "--output", out); r.code != 0 {
		t.Fatal(r)
	}
	before, _ := os.ReadFile(out + ".smolmachine")
	push(t, "pack/change:v1") // another random image under the same tag
	if r := e.run(t, "", "pack", "create", "--image", ref, "--output", out); r.code != 0 {
		t.Fatal(r)
	}
	after, _ := os.ReadFile(out + ".smolmachine")
	if bytes.Equal(before, after) {
		t.Error("a new image under the same tag packed to the same sidecar")
	}
}

func TestPackErrors(t *testing.T) {
	ref, _ := push(t, "pack/err:v1")
	cases := []struct {
		name   string
		image  string
		output string // relative to work/
		setup  func(e *env)
		want   string // in stderr after "Error: "
	}{
		{name: "missing image", image: regHost + "/pack/err:nope", output: "app", want: "failed to pull"},
		{name: "missing repository", image: regHost + "/nobody/here:v1", output: "app", want: "failed to pull"},
		{name: "existing local file", image: "img", output: "app", setup: func(e *env) { os.WriteFile(e.work("img"), []byte("x"), 0o644) }, want: "local file"},
		{name: "tarball name", image: "img.tar", output: "app", want: "local file"},
		{name: "dot slash", image: "./img", output: "app", want: "local file"},
		{name: "absolute path", image: "/tmp/img", output: "app", want: "local file"},
		{name: "output folder missing", image: ref, output: "no/such/app", want: "does not exist"},
		{name: "output is a sidecar name", image: ref, output: "app.smolmachine", want: ".smolmachine"},
		{name: "bad platform", image: ref, output: "app", want: "oci-platform"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.setup != nil {
				c.setup(e)
			}
			args := []string{"pack", "create", "--image", c.image, "--output", e.work(c.output)}
			if c.name == "bad platform" {
				args = append(args, "--oci-platform", "linux")
			}
			r := e.run(t, "", args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: ") && !strings.Contains(r.stderr, "\nError: ") {
				t.Fatalf("want exit 1 with Error:, got %v", r)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr lacks %q: %v", c.want, r)
			}
			if _, err := os.Stat(e.work(c.output)); err == nil && c.name != "existing local file" {
				t.Errorf("a failed pack wrote %s", c.output)
			}
			if _, err := os.Stat(e.work(c.output) + ".smolmachine"); err == nil {
				t.Errorf("a failed pack wrote the sidecar")
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no arguments", nil, "requires a subcommand"},
		{"unknown command", []string{"frobnicate"}, "unrecognized subcommand"},
		{"machine without subcommand", []string{"machine"}, "requires a subcommand"},
		{"unknown machine subcommand", []string{"vm", "explode"}, "unrecognized subcommand"},
		{"unknown flag", []string{"pack", "create", "--image", "r/x:1", "--output", "o", "--turbo"}, "unexpected argument '--turbo'"},
		{"missing required", []string{"pack", "create", "--image", "r/x:1"}, "--output <OUTPUT>"},
		{"missing both required", []string{"pack", "create"}, "--image <IMAGE>"},
		{"value missing at end", []string{"pack", "create", "--output", "o", "--image"}, "a value is required for '--image <IMAGE>'"},
		{"value missing before flag", []string{"pack", "create", "--image", "--output", "o"}, "a value is required for '--image <IMAGE>'"},
		{"not a number", []string{"pack", "create", "--image", "r/x:1", "--output", "o", "--cpus", "two"}, "invalid value 'two'"},
		{"repeated single flag", []string{"pack", "create", "--image", "r/x:1", "--image=r/y:1", "--output", "o"}, "cannot be used multiple times"},
		{"value on a switch", []string{"pack", "create", "--image", "r/x:1", "--output", "o", "--single-file=yes"}, "unexpected value"},
		{"positional", []string{"machine", "create", "box", "--from", "f"}, "unexpected argument 'box'"},
		{"from conflicts with image", []string{"machine", "create", "--name", "box", "--from", "f", "--image", "r/x:1"}, "cannot be used with"},
		{"create without source", []string{"machine", "create", "--name", "box"}, "--from <FROM>"},
		{"create without name", []string{"machine", "create", "--from", "f"}, "--name <NAME>"},
		{"label without equals", []string{"machine", "create", "--name", "box", "--image", "r/x:1", "--label", "nokey"}, "KEY=VALUE"},
		{"delete without name", []string{"machine", "delete", "-f"}, "--name <NAME>"},
		{"start without name", []string{"vm", "start"}, "--name <NAME>"},
		{"ls with value", []string{"machine", "ls", "--json=1"}, "unexpected value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.run(t, "", c.args...)
			if r.code != 2 {
				t.Fatalf("want exit 2, got %v", r)
			}
			if !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "Usage: ") {
				t.Errorf("stderr lacks %q and a usage line: %v", c.want, r)
			}
			if r.stdout != "" {
				t.Errorf("usage error wrote stdout %q", r.stdout)
			}
			if _, err := os.Stat(filepath.Join(e.dir, "data")); err == nil {
				t.Error("a usage error created the data directory")
			}
		})
	}
	t.Run("help and version exit 0", func(t *testing.T) {
		e := newEnv(t)
		for _, args := range [][]string{{"--help"}, {"pack", "create", "--help"}, {"machine", "-h"}} {
			if r := e.run(t, "", args...); r.code != 0 || r.stdout == "" {
				t.Errorf("%v: %v", args, r)
			}
		}
		if r := e.run(t, "", "--version"); r.code != 0 || r.stdout != "smolvm 1.9.2\n" {
			t.Errorf("--version: %v", r)
		}
	})
}

// packed returns the sidecar of a fresh pack of a freshly pushed image.
func packed(t *testing.T, e *env, repoTag string) (sidecar, image string) {
	t.Helper()
	image, _ = push(t, repoTag)
	out := e.work(strings.NewReplacer("/", "_", ":", "_").Replace(repoTag))
	if r := e.run(t, "", "pack", "create", "--image", image, "--output", out, "--cpus", "2", "--mem", "768"); r.code != 0 {
		t.Fatal(r)
	}
	return out + ".smolmachine", image
}

func ls(t *testing.T, e *env) []map[string]any {
	t.Helper()
	r := e.run(t, "", "machine", "ls", "--json")
	if r.code != 0 {
		t.Fatal(r)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, r.stdout)
	}
	if list == nil {
		t.Fatalf("ls --json printed %q, want an array", r.stdout)
	}
	return list
}

func TestMachineLifecycle(t *testing.T) {
	e := newEnv(t)
	sidecar, image := packed(t, e, "machine/life:v1")

	if r := e.run(t, "", "machine", "ls", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("empty ls --json: %v", r)
	}
	steps := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string // a line stdout must contain
		stderr string // exact stderr when set
		count  int    // machines afterwards
	}{
		{"create", "", []string{"machine", "create", "--name", "box", "--from", sidecar, "--net", "--label", "bottle.key=abc", "--label=team=x"}, 0, "Created machine: box", "", 1},
		{"create via alias with sizes", "", []string{"vm", "create", "--name=box-2", "--from=" + sidecar, "--cpus", "4", "--mem", "2048"}, 0, "Created machine: box-2", "", 2},
		{"duplicate", "", []string{"machine", "create", "--name", "box", "--from", sidecar}, 1, "", "Error: config operation failed: create machine: machine 'box' already exists or is being created\n", 2},
		{"delete without -f on EOF", "", []string{"machine", "delete", "--name", "box"}, 0, "Cancelled", "", 2},
		{"delete without -f answered n", "n\n", []string{"machine", "delete", "--name", "box"}, 0, "Cancelled", "", 2},
		{"start", "", []string{"machine", "start", "--name", "box"}, 0, "Machine 'box' running (PID: ", "", 2},
		{"start again", "", []string{"vm", "start", "--name", "box"}, 0, "Machine 'box' running (PID: ", "", 2},
		{"delete -f", "", []string{"machine", "delete", "--name", "box", "-f"}, 0, "", "", 1},
		{"delete answered y", "y\n", []string{"machine", "delete", "--name", "box-2"}, 0, "", "", 0},
		{"delete missing", "", []string{"machine", "delete", "--name", "box", "-f"}, 1, "", "Error: vm not found: box\n", 0},
		{"start missing", "", []string{"machine", "start", "--name", "ghost"}, 1, "", "Error: vm not found: ghost\n", 0},
		{"create from a non-sidecar", "", []string{"machine", "create", "--name", "bad", "--from", e.work("machine_life_v1")}, 1, "", "", 0},
		{"create from a missing file", "", []string{"machine", "create", "--name", "bad", "--from", e.work("nope.smolmachine")}, 1, "", "", 0},
	}
	for _, s := range steps {
		r := e.run(t, s.stdin, s.args...)
		if r.code != s.code {
			t.Fatalf("%s: want exit %d, got %v", s.name, s.code, r)
		}
		if s.stdout != "" && !strings.Contains(r.stdout, s.stdout) {
			t.Errorf("%s: stdout lacks %q: %v", s.name, s.stdout, r)
		}
		if s.stderr != "" && r.stderr != s.stderr {
			t.Errorf("%s: stderr %q, want %q", s.name, r.stderr, s.stderr)
		}
		if s.code == 1 && !strings.HasPrefix(r.stderr, "Error: ") {
			t.Errorf("%s: stderr %q lacks Error:", s.name, r.stderr)
		}
		list := ls(t, e)
		if len(list) != s.count {
			t.Fatalf("%s: %d machines, want %d: %v", s.name, len(list), s.count, list)
		}
		if s.name == "create via alias with sizes" {
			box, box2 := list[0], list[1]
			want := map[string]any{"name": "box", "state": "created", "cpus": 2.0, "memory_mib": 768.0, "image": image,
				"labels": map[string]any{"bottle.key": "abc", "team": "x"}, "network": true}
			for k, v := range want {
				if fmt.Sprint(box[k]) != fmt.Sprint(v) {
					t.Errorf("box.%s = %v, want %v", k, box[k], v)
				}
			}
			if ca, _ := box["created_at"].(string); ca == "" {
				t.Errorf("box has no created_at: %v", box)
			}
			if box2["cpus"] != 4.0 || box2["memory_mib"] != 2048.0 || box2["network"] != false {
				t.Errorf("box-2 = %v", box2)
			}
			if l, ok := box2["labels"].(map[string]any); !ok || len(l) != 0 {
				t.Errorf("box-2 labels = %#v, want {}", box2["labels"])
			}
		}
		if s.name == "start" && list[0]["state"] != "running" {
			t.Errorf("after start: %v", list[0])
		}
	}
}

func TestMachineNames(t *testing.T) {
	e := newEnv(t)
	sidecar, _ := packed(t, e, "machine/names:v1")
	cases := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"9lives", true},
		{"web_1-prod", true},
		{"A" + strings.Repeat("b", 127), true},
		{"A" + strings.Repeat("b", 128), false},
		{"-lead", false},
		{"_lead", false},
		{"trail-", false},
		{"dou--ble", false},
		{"dot.ted", false},
		{"sp ace", false},
		{"slash/x", false},
		{"ünï", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.run(t, "", "machine", "create", "--name="+c.name, "--from", sidecar)
			if c.ok && r.code != 0 {
				t.Errorf("valid name refused: %v", r)
			}
			if !c.ok && (r.code == 0 || !strings.HasPrefix(r.stderr, "Error: ")) {
				t.Errorf("invalid name accepted or not an Error: %v", r)
			}
		})
	}
}

func TestForcedFailure(t *testing.T) {
	ref, _ := push(t, "forced/x:v1")
	cases := []struct {
		fail   string
		args   []string
		failed bool
	}{
		{"pack create", []string{"pack", "create", "--image", ref, "--output", "app"}, true},
		{"machine create", []string{"vm", "create", "--name", "b", "--from", "x.smolmachine"}, true},
		{"vm create", []string{"machine", "create", "--name", "b", "--from", "x.smolmachine"}, true},
		{"machine ls", []string{"machine", "ls", "--json"}, true},
		{"machine delete, machine ls", []string{"machine", "ls", "--json"}, true},
		{"machine create", []string{"machine", "ls", "--json"}, false},
		{"pack create", []string{"machine", "ls", "--json"}, false},
	}
	for _, c := range cases {
		t.Run(c.fail+" vs "+strings.Join(c.args[:2], " "), func(t *testing.T) {
			e := newEnv(t, "SMOLVM_FAKE_FAIL="+c.fail)
			r := e.run(t, "", c.args...)
			if !c.failed {
				if r.code != 0 {
					t.Errorf("unexpected failure: %v", r)
				}
				return
			}
			if r.code != 1 || r.stderr != "Error: forced failure\n" {
				t.Errorf("want forced failure, got %v", r)
			}
			if _, err := os.Stat(e.work("app")); err == nil {
				t.Error("a forced failure still wrote output")
			}
		})
	}
}

func TestArgvLog(t *testing.T) {
	e := newEnv(t)
	runs := [][]string{
		{"machine", "ls", "--json"},
		{"pack", "create", "--bogus"},
		{"vm", "delete", "--name", "x y", "-f"},
		{},
	}
	for _, a := range runs {
		e.run(t, "", a...)
	}
	b, err := os.ReadFile(filepath.Join(e.dir, "argv.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != len(runs) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(runs), b)
	}
	for i, l := range lines {
		var got []string
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if strings.Join(got, "\x00") != strings.Join(runs[i], "\x00") || got == nil {
			t.Errorf("line %d = %q, want %q", i, got, runs[i])
		}
	}
}

func TestConcurrentCreates(t *testing.T) {
	e := newEnv(t)
	sidecar, _ := packed(t, e, "machine/conc:v1")
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			codes[i] = e.run(t, "", "machine", "create", "--name", "same", "--from", sidecar).code
		}()
		go func() {
			defer wg.Done()
			if r := e.run(t, "", "machine", "create", "--name", fmt.Sprintf("m%d", i), "--from", sidecar); r.code != 0 {
				t.Errorf("m%d: %v", i, r)
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == 0 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent creates of one name succeeded, want 1 (codes %v)", ok, codes)
	}
	if got := len(ls(t, e)); got != n+1 {
		t.Errorf("%d machines, want %d", got, n+1)
	}
}

func TestPackIndexPlatform(t *testing.T) {
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	ref := regHost + "/pack/multi:v1"
	r, _ := name.ParseReference(ref)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	for _, c := range []struct {
		platform string
		code     int
	}{{"linux/arm64", 0}, {"linux/amd64", 0}, {"linux/s390x", 1}} {
		e := newEnv(t)
		res := e.run(t, "", "pack", "create", "--image", ref, "--output", e.work("app"), "--oci-platform", c.platform)
		if res.code != c.code {
			t.Fatalf("%s: want exit %d, got %v", c.platform, c.code, res)
		}
		if c.code != 0 {
			continue
		}
		m, err := fakesmol.ReadSidecar(e.work("app.smolmachine"))
		if err != nil || m.Digest != d.String() || m.Platform != c.platform {
			t.Errorf("%s: manifest %+v, %v", c.platform, m, err)
		}
	}
}

func TestDataDirDefault(t *testing.T) {
	e := newEnv(t)
	var vars []string
	for _, v := range e.vars {
		if !strings.HasPrefix(v, "SMOLVM_DATA_DIR=") {
			vars = append(vars, v)
		}
	}
	e.vars = vars
	state := filepath.Join(e.dir, "home", ".local", "share", "smolvm")
	if r := e.run(t, "", "machine", "ls", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatal(r)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("ls created %s (err %v)", state, err)
	}
	if r := e.run(t, "", "machine", "create", "--name", "b", "--image", "reg.example/x:1"); r.code != 0 {
		t.Fatal(r)
	}
	if _, err := os.Stat(filepath.Join(state, "machines.json")); err != nil {
		t.Errorf("state not under ~/.local/share/smolvm: %v", err)
	}
}
