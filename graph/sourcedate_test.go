package graph

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/kinds"
)

// sourceDateConfig has two image.build steps, one taking the setting and
// one with its own value, and exec steps that have no such field.
func sourceDateConfig(setting string) string {
	return `[settings]
` + setting + `

[steps.gen]
kind = "exec"
run = "echo gen"

[steps.img]
kind = "image.build"
context = "app"
tags = ["app"]
platform = "linux/amd64"

[steps.pinned]
kind = "image.build"
context = "app"
tags = ["pinned"]
platform = "linux/amd64"
source_date_epoch = "1"

[steps.after]
kind = "exec"
needs = ["gen"]
run = "echo after"
`
}

// "git" runs git log only when an image.build step that takes the setting
// is planned, once per plan; a new commit changes that step's key alone.
func TestSourceDateEpochGit(t *testing.T) {
	root := writeTree(t, map[string]string{
		"bottle.toml":    sourceDateConfig(`source_date_epoch = "git"`),
		"app/Dockerfile": "FROM scratch\n",
	})
	plan := func(commitTime string, targets ...string) (map[string]string, map[string][]string, *fakeCommands) {
		t.Helper()
		f := &fakeCommands{out: map[string]string{config.GitCommitTimeSh: commitTime}, runs: map[string]int{}}
		p, err := loadComputed(t, root, f, nil).Plan(targets)
		if err != nil {
			t.Fatal(err)
		}
		keys, lines := map[string]string{}, map[string][]string{}
		for _, sp := range p.Steps {
			keys[sp.Node.Name] = sp.Key.String()
			lines[sp.Node.Name] = sp.KeyLines()
		}
		if want := map[string]string{config.SourceDateEpochVar: commitTime}; f.runs[config.GitCommitTimeSh] > 0 && !equalMaps(p.Computed, want) {
			t.Errorf("Plan.Computed = %v, want %v", p.Computed, want)
		}
		return keys, lines, f
	}
	tests := []struct {
		targets []string
		runs    int
	}{
		{[]string{"gen", "after"}, 0},
		{[]string{"pinned"}, 0}, // its own value wins
		{[]string{"img"}, 1},
		{[]string{"img", "pinned", "after"}, 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.targets, ","), func(t *testing.T) {
			_, _, f := plan("1700000000", tt.targets...)
			if got := f.runs[config.GitCommitTimeSh]; got != tt.runs {
				t.Errorf("git log ran %d times, want %d", got, tt.runs)
			}
		})
	}

	all := []string{"img", "pinned", "gen", "after"}
	a, lines, _ := plan("1700000000", all...)
	b, _, _ := plan("1700000100", all...)
	if a["img"] == b["img"] {
		t.Error("a new commit time left img's key alone")
	}
	for _, s := range []string{"pinned", "gen", "after"} {
		if a[s] != b[s] {
			t.Errorf("a new commit time changed the key of %s", s)
		}
	}
	img := strings.Join(lines["img"], "\n")
	if !strings.Contains(img, "\nvar settings.source_date_epoch ") || strings.Contains(img, "1700000000") {
		t.Errorf("img's key lines hold no digest line for the setting, or hold its value:\n%s", img)
	}
	if pinned := strings.Join(lines["pinned"], "\n"); !strings.Contains(pinned, `field source_date_epoch "1"`) || strings.Contains(pinned, "settings.source_date_epoch") {
		t.Errorf("pinned's key lines should hold its own value and not the setting:\n%s", pinned)
	}
}

// A number is a plain var: it enters the key as the field's value, and no
// command runs.
func TestSourceDateEpochSeconds(t *testing.T) {
	key := func(setting string) (string, []string) {
		t.Helper()
		root := writeTree(t, map[string]string{"bottle.toml": sourceDateConfig(setting), "app/Dockerfile": "FROM scratch\n"})
		f := &fakeCommands{runs: map[string]int{}}
		p, err := loadComputed(t, root, f, nil).Plan([]string{"img"})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.runs) > 0 || len(p.Computed) > 0 {
			t.Errorf("%s: commands ran: %v, computed %v", setting, f.runs, p.Computed)
		}
		sp := p.Step("img")
		return sp.Key.String(), sp.KeyLines()
	}
	none, noneLines := key("")
	a, aLines := key(`source_date_epoch = 1700000000`)
	b, _ := key(`source_date_epoch = "1700000000"`)
	c, _ := key(`source_date_epoch = "1700000001"`)
	if a != b {
		t.Error("the same seconds as a string and as an integer gave different keys")
	}
	if a == c || a == none {
		t.Error("another source_date_epoch left the key alone")
	}
	if got := strings.Join(aLines, "\n"); !strings.Contains(got, `field source_date_epoch "1700000000"`) {
		t.Errorf("key lines hold no field line for the setting:\n%s", got)
	}
	if got := strings.Join(noneLines, "\n"); strings.Contains(got, "source_date_epoch") {
		t.Errorf("without the setting, the key names it:\n%s", got)
	}
}

// git failing (no repository, no commit) is a plan error at the setting,
// saying what to do; a plan that needs no image still succeeds.
func TestSourceDateEpochGitFails(t *testing.T) {
	root := writeTree(t, map[string]string{
		"bottle.toml":    sourceDateConfig(`source_date_epoch = "git"`),
		"app/Dockerfile": "FROM scratch\n",
	})
	notRepo := func(dir, command string, timeout time.Duration) (string, error) {
		return "", errors.New("exit status 128: fatal: not a git repository (or any of the parent directories): .git")
	}
	load := func() *Planner {
		pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(nil), VarCommand: notRepo, Kinds: kinds.Descriptions()}, noCache{})
		if err != nil {
			t.Fatal(err)
		}
		return pl
	}
	if _, err := load().Plan([]string{"gen"}); err != nil {
		t.Fatalf("a plan without image steps failed: %v", err)
	}
	_, err := load().Plan([]string{"img"})
	if err == nil {
		t.Fatal("plan succeeded")
	}
	for _, want := range []string{
		"bottle.toml:2:1: settings.source_date_epoch: computing ${var.settings.source_date_epoch}: `git log -1 --format=%ct`: exit status 128: fatal: not a git repository",
		"run bottle in a git repository with at least one commit, or give the seconds since 1970 instead",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err =\n%v\nwant it to hold\n%s", err, want)
		}
	}
}
