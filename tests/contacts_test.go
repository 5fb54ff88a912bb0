package tests

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPlanContactsNothing proves that planning the whole launch pipeline
// makes no call to the registry or to smolvm, and to Docker none but the
// one read-only question a build that names no platform needs (the engine's
// platform, for its key): DOCKER_HOST is a socket that records the calls it
// gets, the registry a server that counts requests, and smolvm a script
// that records its arguments. A build that names its platform asks Docker
// nothing.
func TestPlanContactsNothing(t *testing.T) {
	for _, tt := range []struct {
		name     string
		platform string
	}{
		{"platform named", `platform = "linux/amd64"`},
		{"engine's platform", ``},
	} {
		t.Run(tt.name, func(t *testing.T) { planContacts(t, tt.platform) })
	}
}

// dockerRecorder answers the Docker Engine API's ping and info on a unix
// socket, as an arm64 engine, and records every call; anything else is 404.
type dockerRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (d *dockerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.calls = append(d.calls, r.Method+" "+r.URL.Path)
	d.mu.Unlock()
	w.Header().Set("Api-Version", "1.41")
	switch {
	case strings.HasSuffix(r.URL.Path, "/_ping"):
		w.Write([]byte("OK"))
	case strings.HasSuffix(r.URL.Path, "/info"):
		w.Write([]byte(`{"OSType": "linux", "Architecture": "aarch64"}`))
	default:
		http.NotFound(w, r)
	}
}

func (d *dockerRecorder) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

func planContacts(t *testing.T, platform string) {
	bin := buildBottle(t)
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	os.MkdirAll(ws, 0o755)

	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	docker := &dockerRecorder{}
	dockerSrv := &http.Server{Handler: docker}
	go dockerSrv.Serve(ln)
	defer dockerSrv.Close()
	var registryCalls atomic.Int32
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		registryCalls.Add(1)
		http.NotFound(w, r)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")

	fakeBin := filepath.Join(dir, "bin")
	os.MkdirAll(fakeBin, 0o755)
	argvLog := filepath.Join(dir, "smolvm.argv")
	os.WriteFile(filepath.Join(fakeBin, "smolvm"), []byte("#!/bin/sh\necho \"$@\" >> "+argvLog+"\n"), 0o755)

	os.WriteFile(filepath.Join(ws, "Dockerfile"), []byte("FROM scratch\nCOPY app.txt /app.txt\n"), 0o644)
	os.WriteFile(filepath.Join(ws, "app.txt"), []byte("v1\n"), 0o644)
	// The packed machine is written inside the build context: without this
	// the image would need its own pack, a cycle bottle reports.
	os.WriteFile(filepath.Join(ws, ".dockerignore"), []byte("build\n"), 0o644)
	os.WriteFile(filepath.Join(ws, "bottle.toml"), []byte(`
[steps.build]
kind = "image.build"
tags = ["contacts/app:dev"]
`+platform+`

[steps.save]
kind = "image.save"
image = "${step.build.image_id}"

[steps.push]
kind = "image.push"
from = "${step.save.output}"
to = "`+host+`/contacts/app:dev"

[steps.pack]
kind = "pack"
image = "${step.push.ref}"
output = "build/app"

[steps.vm]
kind = "machine.create"
name = "app"
from = "${step.pack.sidecar}"
`), 0o644)

	env := append(os.Environ(),
		"DOCKER_HOST=unix://"+sock,
		"PATH="+fakeBin+":"+os.Getenv("PATH"),
		"BOTTLE_CACHE_DIR="+filepath.Join(dir, "cache"))
	commands := [][]string{
		{"plan"}, {"plan", "--json"}, {"plan", "-v", "vm"}, {"graph"}, {"explain", "vm"},
	}
	for _, args := range commands {
		cmd := exec.Command(filepath.Join(bin, "bottle"), append([]string{"-C", ws}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bottle %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if args[0] == "plan" && len(args) == 1 && !strings.Contains(string(out), "Plan: 1 to run, 0 to restore, 4 pending") {
			t.Errorf("unexpected plan:\n%s", out)
		}
	}
	calls := docker.Calls()
	if platform != "" && len(calls) != 0 {
		t.Errorf("planning a build that names its platform called Docker: %q", calls)
	}
	infos := 0
	for _, c := range calls {
		method, path, _ := strings.Cut(c, " ")
		if method != http.MethodGet && method != http.MethodHead || !strings.HasSuffix(path, "/_ping") && !strings.HasSuffix(path, "/info") {
			t.Errorf("planning called Docker with %q: it may only ask the engine's platform", c)
		}
		if strings.HasSuffix(path, "/info") {
			infos++
		}
	}
	if platform == "" && infos != len(commands) {
		t.Errorf("Docker was asked its info %d times by %d commands, want once each: %q", infos, len(commands), calls)
	}
	if n := registryCalls.Load(); n != 0 {
		t.Errorf("planning sent %d requests to the registry", n)
	}
	if b, err := os.ReadFile(argvLog); err == nil {
		t.Errorf("planning ran smolvm: %s", b)
	}

	// The recorder can fail: apply does more with Docker than ask.
	cmd := exec.Command(filepath.Join(bin, "bottle"), "-C", ws, "apply", "--yes")
	cmd.Env = env
	cmd.CombinedOutput()
	built := false
	for _, c := range docker.Calls() {
		built = built || strings.HasSuffix(c, "/build")
	}
	if !built {
		t.Errorf("apply did not ask the recording Docker socket to build: the checks above prove nothing (%q)", docker.Calls())
	}
}
