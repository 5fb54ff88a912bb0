// Package netcause says why a connection could not be made: the one reading
// of Go's network errors shared by the image push and the remote cache.
package netcause

import (
	"errors"
	"net"
	"os"
)

// Unreachable reports whether err is a failure to reach a host: its name
// did not resolve, or dialing it failed. cause is what to show: the DNS
// error, or the dial's own reason ("connection refused", not "dial tcp
// 127.0.0.1:1: connect: connection refused").
func Unreachable(err error) (cause error, ok bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns, true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		cause := op.Err
		var sys *os.SyscallError
		if errors.As(cause, &sys) {
			cause = sys.Err
		}
		return cause, true
	}
	return nil, false
}
