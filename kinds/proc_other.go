//go:build !linux

package kinds

import "os/exec"

// startPinned starts cmd and reports its group to sup. Without a
// parent-death signal (macOS has none) there is no thread to pin: the
// supervisor alone stops what bottle started.
func startPinned(cmd *exec.Cmd, sup *supervisor) error { return startPlain(cmd, sup) }
