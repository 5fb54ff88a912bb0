package greet

import (
	"strings"
	"testing"
)

func TestAll(t *testing.T) {
	got := All("bottle")
	if !strings.HasPrefix(got, "hello, bottle!\n") {
		t.Errorf("All(bottle) = %q, want it to start with the first greeting", got)
	}
	if n := strings.Count(got, "\n"); n != len(greetings) {
		t.Errorf("got %d lines, want %d", n, len(greetings))
	}
}
