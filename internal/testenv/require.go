package testenv

import (
	"os"
	"strings"
)

// Required reports whether BOTTLE_TEST_REQUIRE names component (CI names
// docker, registry, pty, nobody, python, browser, buildkitd and watchman):
// then a test that needs it fails instead of skipping.
func Required(component string) bool {
	for _, c := range strings.Split(os.Getenv("BOTTLE_TEST_REQUIRE"), ",") {
		if strings.TrimSpace(c) == component {
			return true
		}
	}
	return false
}
