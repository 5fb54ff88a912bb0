// The ioctl request that reads a terminal's settings is named differently
// on Linux and the BSDs (term_bsd.go); isTerminal uses it to tell a
// terminal.

package main

import "golang.org/x/sys/unix"

const ioctlGetTermios = unix.TCGETS
