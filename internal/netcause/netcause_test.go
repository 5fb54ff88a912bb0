package netcause

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name  string
		err   error
		ok    bool
		cause string
	}{
		{"refused, wrapped", fmt.Errorf("GET /v2/: %w", refused), true, "connection refused"},
		{"dns", &net.DNSError{Err: "no such host", Name: "reg.invalid"}, true, "lookup reg.invalid: no such host"},
		{"read after connect", &net.OpError{Op: "read", Err: errors.New("reset")}, false, ""},
		{"other", errors.New("denied"), false, ""},
	}
	for _, tt := range tests {
		cause, ok := Unreachable(tt.err)
		if ok != tt.ok || ok && cause.Error() != tt.cause {
			t.Errorf("%s: Unreachable = %v, %v; want %q, %v", tt.name, cause, ok, tt.cause, tt.ok)
		}
		if ok && tt.name == "refused, wrapped" && !errors.Is(cause, syscall.ECONNREFUSED) {
			t.Errorf("%s: the cause lost errors.Is", tt.name)
		}
	}
}
