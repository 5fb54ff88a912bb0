//go:build darwin || dragonfly || freebsd || netbsd || openbsd

// On macOS and the BSDs the ioctl request that reads a terminal's settings
// is TIOCGETA, not Linux's TCGETS (term_linux.go); isTerminal uses it to
// tell a terminal.

package main

import "golang.org/x/sys/unix"

const ioctlGetTermios = unix.TIOCGETA
