package tests

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"time"
)

// required reports whether BOTTLE_TEST_REQUIRE names component (CI sets
// docker,registry,pty,nobody): then a test that needs it fails instead of
// skipping.
func required(component string) bool {
	for _, c := range strings.Split(os.Getenv("BOTTLE_TEST_REQUIRE"), ",") {
		if strings.TrimSpace(c) == component {
			return true
		}
	}
	return false
}

// haveDocker reports whether a Docker engine answers.
func haveDocker() bool {
	return exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run() == nil
}

// testRegistry is the real registry CI starts (BOTTLE_TEST_REGISTRY,
// host:port on loopback), if it answers.
func testRegistry() (string, bool) {
	addr := os.Getenv("BOTTLE_TEST_REGISTRY")
	if addr == "" {
		return "", false
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return addr, false
	}
	c.Close()
	return addr, true
}
