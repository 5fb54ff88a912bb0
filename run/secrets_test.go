package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// secretRunner prints the TOKEN it was given in pieces, records the
// environment of each step, and fails a step whose run text is "leak" with
// an error quoting the token, as a daemon's message might.
type secretRunner struct {
	fakeRunner
	envs map[string][]string
}

func (r *secretRunner) Run(ctx context.Context, job *kinds.Job) (*kinds.Outcome, error) {
	r.mu.Lock()
	r.envs[job.Step] = job.Env
	r.mu.Unlock()
	tok := ""
	for _, e := range job.Env {
		if v, ok := strings.CutPrefix(e, "TOKEN="); ok {
			tok = v
		}
	}
	if tok != "" {
		half := len(tok) / 2
		io.WriteString(job.Log, "token is "+tok[:half])
		io.WriteString(job.Log, tok[half:len(tok)-1])
		io.WriteString(job.Log, tok[len(tok)-1:]+" (printed in three writes)\n")
	}
	if job.Spec.(*kinds.ExecSpec).Run == "leak" {
		return nil, fmt.Errorf("the registry said: bad token %q: %w", tok, &kinds.ExitError{Code: 4})
	}
	return r.fakeRunner.Run(ctx, job)
}

const secretsConfig = `
[steps.uses]
kind = "exec"
secrets = ["TOKEN"]
run = "write used"
outputs = ["used.txt"]

[steps.plain]
kind = "exec"
run = "write plain"
outputs = ["plain.txt"]
`

func applySecrets(t *testing.T, config string, env map[string]string) (*Applier, *secretRunner, *Summary, error) {
	t.Helper()
	sr := &secretRunner{envs: map[string][]string{}}
	a, p := setup(t, config, &sr.fakeRunner, Options{KeepGoing: true})
	a.Kind = func(string) kinds.Kind { return fakeExec{kinds.Get("exec"), sr} }
	a.Planner.Getenv = func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		if name == "PATH" {
			return os.LookupEnv(name)
		}
		return "", false
	}
	sum, err := a.Apply(context.Background(), p)
	return a, sr, sum, err
}

func TestSecretReachesOnlyItsStep(t *testing.T) {
	const tok = "tok-3f9a1c77"
	a, sr, _, err := applySecrets(t, secretsConfig, map[string]string{"TOKEN": tok})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(sr.envs["uses"], "TOKEN="+tok) {
		t.Errorf("uses ran with %q, want TOKEN in it", sr.envs["uses"])
	}
	if slices.ContainsFunc(sr.envs["plain"], func(e string) bool { return strings.HasPrefix(e, "TOKEN=") }) {
		t.Errorf("plain ran with %q: a step that names no secret got one", sr.envs["plain"])
	}
	log, err := os.ReadFile(workspace.LogPath(a.root(), "uses"))
	if err != nil {
		t.Fatal(err)
	}
	if string(log) != "token is *** (printed in three writes)\n" {
		t.Errorf("log = %q", log)
	}
	rec := a.State.Steps["uses"]
	blob, err := os.ReadFile(filepath.Join(a.root(), ".cache", "blobs", rec.Log.String()[:2], rec.Log.String()))
	if err != nil {
		t.Fatalf("the log in the cache: %v", err)
	}
	if string(blob) != string(log) {
		t.Errorf("cached log = %q, want the masked log", blob)
	}
}

func TestSecretInErrorIsMasked(t *testing.T) {
	const tok = "tok-3f9a1c77"
	config := strings.Replace(secretsConfig, `run = "write used"`, `run = "leak"`, 1)
	var events syncBuffer
	sr := &secretRunner{envs: map[string][]string{}}
	a, p := setup(t, config, &sr.fakeRunner, Options{KeepGoing: true})
	a.Kind = func(string) kinds.Kind { return fakeExec{kinds.Get("exec"), sr} }
	a.Reporter = detailReporter{&events}
	a.Planner.Getenv = func(name string) (string, bool) {
		if name == "TOKEN" {
			return tok, true
		}
		return os.LookupEnv(name)
	}
	sum, err := a.Apply(context.Background(), p)
	if !errors.Is(err, ErrFailed) || len(sum.Failures) != 1 {
		t.Fatalf("Apply = %v, failures %d", err, len(sum.Failures))
	}
	f := sum.Failures[0]
	if msg := f.Err.Error(); strings.Contains(msg, tok) || !strings.Contains(msg, `bad token "***"`) {
		t.Errorf("failure error %q", msg)
	}
	var ee *kinds.ExitError
	if !errors.As(f.Err, &ee) || ee.Code != 4 {
		t.Errorf("the masked error lost its cause: %v", f.Err)
	}
	if strings.Contains(events.String(), tok) || !strings.Contains(events.String(), "***") {
		t.Errorf("reported:\n%s", events.String())
	}
	if want := []string{"token is *** (printed in three writes)"}; !slices.Equal(f.Tail, want) {
		t.Errorf("tail %q, want %q", f.Tail, want)
	}
}

func TestMissingSecretFailsOnlyItsStep(t *testing.T) {
	tests := []struct {
		name, value string
		set         bool
		want        string
	}{
		{"unset", "", false, "secret TOKEN is not set: export it in the environment of bottle apply"},
		{"empty", "", true, "secret TOKEN is shorter than 4 bytes"},
		{"three bytes", "abc", true, "secret TOKEN is shorter than 4 bytes: too short to mask in logs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			if tt.set {
				env["TOKEN"] = tt.value
			}
			_, sr, sum, err := applySecrets(t, secretsConfig, env)
			if !errors.Is(err, ErrFailed) || sum.Failed != 1 || sum.Ran != 1 {
				t.Fatalf("Apply = %v, %+v", err, sum)
			}
			f := sum.Failures[0]
			if f.Step != "uses" || !strings.HasPrefix(f.Err.Error(), tt.want) {
				t.Errorf("failure %s: %v, want uses: %s", f.Step, f.Err, tt.want)
			}
			if tt.value != "" && strings.Contains(f.Err.Error(), tt.value) {
				t.Errorf("the error shows the value: %v", f.Err)
			}
			if _, ran := sr.envs["uses"]; ran {
				t.Error("the step ran without its secret")
			}
			if _, ran := sr.envs["plain"]; !ran {
				t.Error("the independent step did not run")
			}
			if len(f.Tail) != 0 {
				t.Errorf("tail %q: want none (the step printed nothing)", f.Tail)
			}
		})
	}
}

func TestMissingSecretsNamedTogether(t *testing.T) {
	config := "[steps.uses]\nkind = \"exec\"\nsecrets = [\"TOKEN\", \"B_TOKEN\", \"C\"]\nrun = \"write x\"\noutputs = [\"x\"]\n"
	_, _, sum, _ := applySecrets(t, config, map[string]string{"C": "ab"})
	if len(sum.Failures) != 1 {
		t.Fatalf("%+v", sum)
	}
	want := "secrets TOKEN, B_TOKEN are not set: export them in the environment of bottle apply\nsecret C is shorter than 4 bytes"
	if got := sum.Failures[0].Err.Error(); !strings.HasPrefix(got, want) {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}
}

// detailReporter writes each end with its detail.
type detailReporter struct{ w *syncBuffer }

func (detailReporter) Started(*graph.StepPlan) {}
func (r detailReporter) Finished(sp *graph.StepPlan, rep Report) {
	fmt.Fprintf(r.w, "- %s %s: %s\n", sp.Node.Name, rep.Event, rep.Detail)
}
