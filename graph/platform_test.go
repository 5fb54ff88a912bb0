package graph

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// engine is an Outside whose engine builds for platform, or cannot be
// reached when err is set. It records what it was asked.
type engine struct {
	platform string
	err      error
	asked    []string
}

func (e *engine) EffectExists(kind, key string, values map[string]string) (bool, error) {
	e.asked = append(e.asked, "effect of "+kind)
	return true, nil
}

func (e *engine) Platform(kind string, spec any) (string, error) {
	e.asked = append(e.asked, "platform of "+kind)
	return e.platform, e.err
}

// buildTree is a workspace with one image.build step; fields are added to
// the step.
func buildTree(fields string) map[string]string {
	return map[string]string{
		"bottle.toml": "[steps.build]\nkind = \"image.build\"\n" + fields + "\n",
		"Dockerfile":  "FROM scratch\nCOPY hello.txt /hello.txt\n",
		"hello.txt":   "hello\n",
	}
}

// planOn plans tree's workspace with out as the planner's Outside, against
// cache c, and returns the planner (for its state) and the plan.
func planOn(t *testing.T, root string, env map[string]string, out Outside, c ResultSource) (*Planner, *Plan) {
	t.Helper()
	pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(env), Kinds: kinds.Descriptions()}, c)
	if err != nil {
		t.Fatal(err)
	}
	pl.Outside = out
	p, err := pl.Plan(nil)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return pl, p
}

func platformLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "platform ") {
			out = append(out, l)
		}
	}
	return out
}

// TestEnginePlatformEntersTheKey: an image.build that names no platform
// builds for the engine's, so its key carries the engine's platform (an arm64
// laptop and an amd64 CI runner do not share the build); one that names its
// platform has it in its fields and asks the engine nothing, so every engine
// gives it one key.
func TestEnginePlatformEntersTheKey(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		env    map[string]string
		// engine is asked, and the keys on amd64 and arm64 differ
		engine bool
	}{
		{"no platform", ``, nil, true},
		{"platform named", `platform = "linux/arm64"`, nil, false},
		{"platform from a var", "platform = \"${var.p}\"\n[vars]\np = \"linux/amd64\"", nil, false},
		{"platform from env, set", `platform = "${env.PLAT}"`, map[string]string{"PLAT": "linux/amd64"}, false},
		{"platform from env, empty", `platform = "${env.PLAT}"`, map[string]string{"PLAT": ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, buildTree(tt.fields))
			keys := map[string]cache.Key{}
			for _, platform := range []string{"linux/amd64", "linux/arm64"} {
				e := &engine{platform: platform}
				_, p := planOn(t, root, tt.env, e, noCache{})
				sp := p.Step("build")
				keys[platform] = sp.Key
				lines := platformLines(sp.KeyLines())
				if tt.engine {
					if want := []string{"platform " + platform}; !slices.Equal(lines, want) {
						t.Errorf("on %s: platform lines %q, want %q", platform, lines, want)
					}
					if want := []string{"platform of image.build"}; !slices.Equal(e.asked, want) {
						t.Errorf("on %s: Outside asked %q, want %q", platform, e.asked, want)
					}
				} else {
					if len(lines) != 0 {
						t.Errorf("on %s: platform lines %q for a build that names its platform", platform, lines)
					}
					if len(e.asked) != 0 {
						t.Errorf("on %s: Outside asked %q for a build that names its platform", platform, e.asked)
					}
				}
			}
			if differ := keys["linux/amd64"] != keys["linux/arm64"]; differ != tt.engine {
				t.Errorf("keys on amd64 and arm64 differ: %v, want %v", differ, tt.engine)
			}
		})
	}
}

// TestEngineUnreachableStillPlans: an engine that cannot be reached does not
// fail the plan; the build's key says so, and the build runs (apply then
// reports the engine's error) even when the cache holds a result for that
// very key, or the state says it was applied with it.
func TestEngineUnreachableStillPlans(t *testing.T) {
	root := writeTree(t, buildTree(``))
	down := &engine{err: errors.New("cannot reach the Docker engine")}
	pl, p := planOn(t, root, nil, down, noCache{})
	sp := p.Step("build")
	if sp.Status != Run || sp.Reason != "new" {
		t.Errorf("build: %s (%s), want run (new)", sp.Status, sp.Reason)
	}
	if lines, want := platformLines(sp.KeyLines()), []string{"platform " + PlatformUnreachable}; !slices.Equal(lines, want) {
		t.Errorf("platform lines %q, want %q", lines, want)
	}

	// A result stored under that key (the engine came back during the
	// apply that stored it) is not restored: nobody knows what it was
	// built for.
	store := mapCache{sp.Key: {Key: sp.Key, Step: "build", Kind: "image.build", Values: map[string]string{"image_id": "sha256:1"}}}
	_, p = planOn(t, root, nil, down, store)
	if sp := p.Step("build"); sp.Status != Run {
		t.Errorf("with a result cached under the unreachable key: %s (%s), want run", sp.Status, sp.Reason)
	}

	// With the engine back, the key names its platform: another key.
	_, up := planOn(t, root, nil, &engine{platform: "linux/amd64"}, noCache{})
	if up.Step("build").Key == sp.Key {
		t.Error("the key with the engine's platform equals the key without it")
	}

	// No Outside at all (a planner that may ask nothing): the same, with
	// its own words.
	pl.Outside = nil
	p, err := pl.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	if lines, want := platformLines(p.Step("build").KeyLines()), []string{"platform " + PlatformNotAsked}; !slices.Equal(lines, want) {
		t.Errorf("without Outside: platform lines %q, want %q", lines, want)
	}
}

// TestEnginePlatformKeepsAppliedBuildUpToDate: the key that apply recorded
// with the engine's platform is the key the next plan computes, so an
// applied build stays up to date; moved to an engine of another platform,
// it is built again.
func TestEnginePlatformKeepsAppliedBuildUpToDate(t *testing.T) {
	root := writeTree(t, buildTree(``))
	amd := &engine{platform: "linux/amd64"}
	pl, p := planOn(t, root, nil, amd, noCache{})
	sp := p.Step("build")
	res := &cache.Result{Key: sp.Key, Step: "build", Kind: "image.build", Values: map[string]string{"image_id": "sha256:1"}}
	pl.State.Steps["build"] = &workspace.Step{Name: "build", Key: sp.Key, Result: res.Digest(), Values: res.Values}
	p, err := pl.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	if sp := p.Step("build"); sp.Status != UpToDate {
		t.Errorf("applied on amd64, planned on amd64: %s (%s), want up to date", sp.Status, sp.Reason)
	}
	pl.Outside = &engine{platform: "linux/arm64"}
	p, err = pl.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	if sp := p.Step("build"); sp.Status != Run {
		t.Errorf("applied on amd64, planned on arm64: %s (%s), want run", sp.Status, sp.Reason)
	}
}

// TestPlatformChangeExplained: a build planned on another engine's platform
// says so, in a few words, as one change.
func TestPlatformChangeExplained(t *testing.T) {
	root := writeTree(t, buildTree(``))
	_, amd := planOn(t, root, nil, &engine{platform: "linux/amd64"}, noCache{})
	_, arm := planOn(t, root, nil, &engine{platform: "linux/arm64"}, noCache{})
	cs := DiffKeyLines(amd.Step("build").KeyLines(), arm.Step("build").KeyLines())
	if got, want := Summarize(cs), "engine platform changed"; got != want {
		t.Errorf("amd64 to arm64: %q, want %q", got, want)
	}
	// A key made before the engine's platform entered keys.
	var old []string
	for _, l := range amd.Step("build").KeyLines() {
		if !strings.HasPrefix(l, "platform ") {
			old = append(old, l)
		}
	}
	if got, want := Summarize(DiffKeyLines(old, amd.Step("build").KeyLines())), "engine platform added"; got != want {
		t.Errorf("from a key without a platform: %q, want %q", got, want)
	}
}

// TestUndeclaredLocationNotRestored: a cached result that names as a
// location a value its kind does not (so the keys after it would not see
// that value) is not restored: the step runs.
func TestUndeclaredLocationNotRestored(t *testing.T) {
	root := writeTree(t, map[string]string{"bottle.toml": `
[steps.up]
kind = "shareable"
name = "x"
`})
	for _, tt := range []struct {
		location []string
		want     Status
	}{
		{nil, Restore},
		{[]string{"id"}, Run},
	} {
		store := mapCache{}
		pl, err := newPlanner(t, LoadOptions{Root: root, Kinds: effectKinds}, store)
		if err != nil {
			t.Fatal(err)
		}
		p, err := pl.Plan(nil)
		if err != nil {
			t.Fatal(err)
		}
		k := p.Step("up").Key
		store[k] = &cache.Result{Key: k, Step: "up", Kind: "shareable", Values: map[string]string{"id": "v1"}, Location: tt.location}
		if p, err = pl.Plan(nil); err != nil {
			t.Fatal(err)
		}
		if sp := p.Step("up"); sp.Status != tt.want {
			t.Errorf("cached result with location %q: %s (%s), want %s", tt.location, sp.Status, sp.Reason, tt.want)
		}
	}
}
