package tests

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPlanContactsNothing proves that planning the whole launch pipeline
// makes no call to Docker, to the registry or to smolvm: DOCKER_HOST is a
// socket that counts connections, the registry a server that counts
// requests, and smolvm a script that records its arguments.
func TestPlanContactsNothing(t *testing.T) {
	bin := buildBottle(t)
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	os.MkdirAll(ws, 0o755)

	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dockerCalls atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dockerCalls.Add(1)
			c.Close()
		}
	}()
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
	for _, args := range [][]string{
		{"plan"}, {"plan", "--json"}, {"plan", "-v", "vm"}, {"graph"}, {"explain", "vm"},
	} {
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
	if n := dockerCalls.Load(); n != 0 {
		t.Errorf("planning connected to Docker %d times", n)
	}
	if n := registryCalls.Load(); n != 0 {
		t.Errorf("planning sent %d requests to the registry", n)
	}
	if b, err := os.ReadFile(argvLog); err == nil {
		t.Errorf("planning ran smolvm: %s", b)
	}

	// The counters can fail: apply does contact Docker.
	cmd := exec.Command(filepath.Join(bin, "bottle"), "-C", ws, "apply", "--yes")
	cmd.Env = env
	cmd.CombinedOutput()
	if dockerCalls.Load() == 0 {
		t.Error("apply did not contact the recording Docker socket: the check above proves nothing")
	}
}
