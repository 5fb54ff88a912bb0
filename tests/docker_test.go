package tests

import (
	"net"
	"os"
	"os/exec"
	"time"
)

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
