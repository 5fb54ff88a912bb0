//go:build unix && !linux

package testenv

import "syscall"

// buildkitdSysProcAttr: only Linux can tie buildkitd's life to the test
// process; elsewhere StopBuildkitd alone stops it.
func buildkitdSysProcAttr() *syscall.SysProcAttr { return nil }
