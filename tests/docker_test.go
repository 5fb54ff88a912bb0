package tests

import (
	"os"
	"os/exec"
	"strings"
)

// required reports whether BOTTLE_TEST_REQUIRE names component (CI sets
// docker,registry): then a test that needs it fails instead of skipping.
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
