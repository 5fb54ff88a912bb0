package graph

import (
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
)

// effectSpec is the spec of the kinds below.
type effectSpec struct {
	Name string `toml:"name"`
}

// effectKind has an effect outside the cache; shareable says a cached
// result recreates it, recreator that the kind words the plan's reason.
type effectKind struct {
	name      string
	shareable bool
}

func (k effectKind) Name() string               { return k.name }
func (effectKind) Version() int                 { return 1 }
func (effectKind) Effect() string               { return "thing" }
func (effectKind) NewSpec() any                 { return new(effectSpec) }
func (effectKind) Results() []string            { return []string{"id"} }
func (effectKind) Outputs(string, any) []string { return nil }
func (k effectKind) Shareable() bool            { return k.shareable }
func (recreatorKind) Recreates(v map[string]string) string {
	return "thing " + v["id"] + " gone; bring it back"
}

type recreatorKind struct{ effectKind }

// plainKind has no effect.
type plainKind struct{}

func (plainKind) Name() string                 { return "plain" }
func (plainKind) Version() int                 { return 1 }
func (plainKind) Effect() string               { return "" }
func (plainKind) NewSpec() any                 { return new(effectSpec) }
func (plainKind) Results() []string            { return nil }
func (plainKind) Outputs(string, any) []string { return nil }

// unshareableKind has an effect no cached result can recreate (a machine).
type unshareableKind struct{ plainKind }

func (unshareableKind) Name() string      { return "vm" }
func (unshareableKind) Effect() string    { return "thing" }
func (unshareableKind) Results() []string { return []string{"id"} }

var effectKinds = map[string]steps.Kind{
	"loadable":  recreatorKind{effectKind{"loadable", true}},
	"shareable": effectKind{"shareable", true},
	"vm":        unshareableKind{},
	"plain":     plainKind{},
}

type mapCache map[cache.Key]*cache.Result

func (m mapCache) PeekResult(k cache.Key) (*cache.Result, error) {
	if r, ok := m[k]; ok {
		return r, nil
	}
	return nil, cache.ErrMiss
}

// gone is an Outside for which no effect exists any more.
type gone struct{ asked []string }

func (g *gone) EffectExists(kind, key string, values map[string]string) (bool, error) {
	g.asked = append(g.asked, kind)
	return false, nil
}

func (g *gone) Platform(kind string, spec any) (string, error) {
	g.asked = append(g.asked, "platform of "+kind)
	return "linux/amd64", nil
}

// TestRefreshRestoresWhatItCan: with --refresh, an effect that went away is
// restored when its kind recreates it from a cached result (the plan saying
// why), and the step after it stays up to date since the restored result is
// the one it was keyed on; any other missing effect runs again.
func TestRefreshRestoresWhatItCan(t *testing.T) {
	tests := []struct {
		kind       string
		cached     bool
		status     Status
		reason     string
		downstream Status
	}{
		{"loadable", true, Restore, "thing v1 gone; bring it back", UpToDate},
		{"shareable", true, Restore, "thing missing; recreated from the cached result", UpToDate},
		{"shareable", false, Run, "thing missing; result no longer in cache", Pending},
		{"vm", true, Run, "thing missing", Pending},
	}
	for _, tt := range tests {
		name := tt.kind
		if !tt.cached {
			name += " not cached"
		}
		t.Run(name, func(t *testing.T) {
			root := writeTree(t, map[string]string{"bottle.toml": `
[steps.up]
kind = "` + tt.kind + `"
name = "x"

[steps.down]
kind = "plain"
name = "${step.up.id}"
`})
			store := mapCache{}
			pl, err := newPlanner(t, LoadOptions{Root: root, Kinds: effectKinds}, store)
			if err != nil {
				t.Fatal(err)
			}
			st := pl.State
			plan := func() *Plan {
				t.Helper()
				p, err := pl.Plan(nil)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			// Apply both steps, as far as the state and the cache know.
			up := plan().Step("up")
			res := &cache.Result{Key: up.Key, Step: "up", Kind: tt.kind, Values: map[string]string{"id": "v1"}}
			st.Steps["up"] = &workspace.Step{Name: "up", Key: up.Key, Result: res.Digest(), Values: res.Values}
			if tt.cached {
				store[up.Key] = res
			}
			down := plan().Step("down")
			if down.Status != Run {
				t.Fatalf("down: %s (%s) before it was applied, want run", down.Status, down.Reason)
			}
			st.Steps["down"] = &workspace.Step{Name: "down", Key: down.Key}

			if p := plan(); p.Step("up").Status != UpToDate || p.Step("down").Status != UpToDate {
				t.Fatalf("without --refresh: up %s, down %s; want both up to date", p.Step("up").Status, p.Step("down").Status)
			}
			// The port alone asks nothing of effects: only --refresh does.
			out := &gone{}
			pl.Outside = out
			if p := plan(); p.Step("up").Status != UpToDate || len(out.asked) != 0 {
				t.Fatalf("Outside without --refresh: up %s, asked %v; want up to date, nothing asked", p.Step("up").Status, out.asked)
			}
			pl.Refresh = true
			p := plan()
			if sp := p.Step("up"); sp.Status != tt.status || sp.Reason != tt.reason {
				t.Errorf("up: %s (%s), want %s (%s)", sp.Status, sp.Reason, tt.status, tt.reason)
			}
			if sp := p.Step("up"); tt.status == Restore && sp.Cached != res {
				t.Errorf("up restores %v, want the cached result", sp.Cached)
			}
			if sp := p.Step("down"); sp.Status != tt.downstream {
				t.Errorf("down: %s (%s), want %s", sp.Status, sp.Reason, tt.downstream)
			}
			if len(out.asked) != 1 || out.asked[0] != tt.kind {
				t.Errorf("Outside was asked about %v, want only the %s step", out.asked, tt.kind)
			}
		})
	}
}
