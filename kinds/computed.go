package kinds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// maxComputedOutput bounds what a computed var's command may print: a
// value is a version or a commit, not a file.
const maxComputedOutput = 64 << 10

// RunVarCommand runs a computed var's command for planning (graph.VarCommand):
// /bin/sh -c command in dir, with bottle's environment and no stdin, in a
// process group of its own that is stopped after timeout (or when bottle
// dies, as a step's is). It returns stdout; a failure says how, with the
// end of stderr.
func RunVarCommand(dir, command string, timeout time.Duration) (string, error) {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	var stdout limitedBuffer
	var stderr tailBuffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := runProcess(ctx, &Runtime{KillGrace: time.Second}, cmd)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "", fmt.Errorf("took longer than %s and was stopped (set a longer timeout = \"…\" beside sh)", timeout)
	case err != nil:
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("%v: %s", err, msg)
		}
		return "", err
	case stdout.over:
		return "", fmt.Errorf("printed more than %d KiB: a var's value is a line, such as a version", maxComputedOutput>>10)
	}
	return stdout.String(), nil
}

// limitedBuffer keeps the first maxComputedOutput bytes written to it and
// notes whether there were more. (It does not embed bytes.Buffer, whose
// ReadFrom io.Copy would use instead of Write.)
type limitedBuffer struct {
	b    bytes.Buffer
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxComputedOutput - l.b.Len(); len(p) > room {
		l.over = true
		l.b.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *limitedBuffer) String() string { return l.b.String() }

// tailBuffer keeps the last 2 KiB written to it: the end of an error.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	const keep = 2 << 10
	t.b = append(t.b, p...)
	if len(t.b) > keep {
		t.b = append(t.b[:0], t.b[len(t.b)-keep:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
