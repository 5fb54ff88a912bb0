package kinds

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/config"
)

func run(t *testing.T, spec *ExecSpec, env []string, timeout time.Duration, ctx context.Context) (string, error) {
	t.Helper()
	var log bytes.Buffer
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	rt := &Runtime{KillGrace: 200 * time.Millisecond}
	_, err := Get("exec").Run(ctx, &Job{Step: "s", Workspace: t.TempDir(), Spec: spec, Env: env, Log: &log, Runtime: rt})
	return log.String(), err
}

func TestExecRun(t *testing.T) {
	path := "PATH=" + os.Getenv("PATH")
	tests := []struct {
		name    string
		spec    ExecSpec
		env     []string
		timeout time.Duration
		log     string
		err     string
	}{
		{"shell", ExecSpec{Run: "echo hello; echo err >&2"}, []string{path}, 0, "hello\nerr\n", ""},
		{"argv", ExecSpec{Argv: []string{"echo", "a b", "$HOME"}}, []string{path}, 0, "a b $HOME\n", ""},
		{"only the given env", ExecSpec{Run: `echo "[$SECRET][$MODE]"`}, []string{path, "MODE=x"}, 0, "[][x]\n", ""},
		{"stdin is empty", ExecSpec{Run: "cat; echo done"}, []string{path}, 0, "done\n", ""},
		{"exit code", ExecSpec{Run: "exit 7"}, []string{path}, 0, "", "exit status 7"},
		{"deadline", ExecSpec{Run: "sleep 5"}, []string{path}, 100 * time.Millisecond, "", "context deadline exceeded"},
		{"missing program", ExecSpec{Argv: []string{"no-such-program-xyz"}}, []string{path}, 0, "", "starting no-such-program-xyz"},
	}
	t.Setenv("SECRET", "must not leak")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, err := run(t, &tt.spec, tt.env, tt.timeout, context.Background())
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if log != tt.log {
				t.Errorf("log = %q, want %q", log, tt.log)
			}
		})
	}
}

// TestExecStopsProcessGroup: cancelling stops the command and everything it
// started, even a child that ignores SIGTERM.
func TestExecStopsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	ctx, cancel := context.WithCancel(context.Background())
	spec := &ExecSpec{Run: "sh -c 'trap \"\" TERM; echo $$ > " + pidFile + "; exec sleep 30' & wait"}
	done := make(chan error, 1)
	go func() {
		_, err := run(t, spec, []string{"PATH=" + os.Getenv("PATH")}, 0, ctx)
		done <- err
	}()
	for i := 0; i < 100; i++ {
		if b, _ := os.ReadFile(pidFile); len(b) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	b, _ := os.ReadFile(pidFile)
	pid := strings.TrimSpace(string(b))
	// The child ignored SIGTERM; the SIGKILL after the grace period got it.
	for i := 0; i < 50; i++ {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(st), ") Z") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("child %s survived", pid)
}

func TestExecCheck(t *testing.T) {
	tests := []struct {
		spec ExecSpec
		want string
	}{
		{ExecSpec{Run: "x", Outputs: []string{"out/a"}}, ""},
		{ExecSpec{}, `an exec step needs "run"`},
		{ExecSpec{Run: "x", Argv: []string{"y"}}, `give "run" or "argv", not both`},
		{ExecSpec{Run: "x", Outputs: []string{"/abs"}}, "is absolute"},
		{ExecSpec{Run: "x", Outputs: []string{"a/../../b"}}, "leaves the workspace"},
		{ExecSpec{Run: "x", Outputs: []string{"."}}, "names the workspace itself"},
		{ExecSpec{Run: "x", Outputs: []string{"a", "a"}}, "listed twice"},
	}
	for _, tt := range tests {
		err := tt.spec.Check()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.spec, err)
			}
			continue
		}
		var fe *config.FieldError
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &fe) {
			t.Errorf("%+v: err = %v, want a field error saying %q", tt.spec, err, tt.want)
		}
	}
}

// TestExecOutputsValue: ${step.X.outputs} is the declared outputs, clean
// and space-separated, reported by the kind itself.
func TestExecOutputsValue(t *testing.T) {
	dir := t.TempDir()
	out, err := Get("exec").Run(context.Background(), &Job{Step: "s", Workspace: dir,
		Spec: &ExecSpec{Run: "true", Outputs: []string{"b/./x", "a"}}, Env: []string{"PATH=" + os.Getenv("PATH")}, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Values["outputs"]; got != "b/x a" {
		t.Errorf("outputs = %q, want %q", got, "b/x a")
	}
}
