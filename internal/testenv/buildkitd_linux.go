package testenv

import "syscall"

// buildkitdSysProcAttr has the kernel send buildkitd SIGTERM when the test
// process dies without calling StopBuildkitd (a -timeout panic exits at once).
func buildkitdSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
