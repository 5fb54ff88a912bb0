package graph

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph/files"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
)

// writeTree creates files (path → content) under a new temporary folder.
func writeTree(t *testing.T, tree map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range tree {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type noCache struct{}

func (noCache) PeekResult(k cache.Key) (*cache.Result, error) { return nil, cache.ErrMiss }

// planIn loads and plans the workspace at root with env as the host
// environment.
func planIn(t *testing.T, root string, env map[string]string) *Plan {
	t.Helper()
	pl, err := newPlanner(t, LoadOptions{Root: root, Getenv: mapEnv(env), Kinds: kinds.Descriptions()}, noCache{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pl.Plan(nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newPlanner loads the config opts names and opens the workspace's index
// and state, planning against cache c. A load error is returned, for tests
// that expect one; any other error fails the test.
func newPlanner(t *testing.T, opts LoadOptions, c ResultSource) (*Planner, error) {
	t.Helper()
	g, err := Load(opts)
	if err != nil {
		return nil, err
	}
	ix, err := files.OpenIndex(filepath.Join(opts.Root, ".bottle", "index"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := workspace.Load(opts.Root)
	if err != nil {
		t.Fatal(err)
	}
	return &Planner{Graph: g, Index: ix, State: st, Cache: c, Getenv: opts.Getenv}, nil
}

func mapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == "PATH" {
			if v, ok := env[k]; ok {
				return v, true
			}
			return os.LookupEnv("PATH")
		}
		v, ok := env[k]
		return v, ok
	}
}

const baseConfig = `
[vars]
greeting = "hello"

[steps.gen]
kind = "exec"
inputs = ["src/*.txt"]
env = ["MODE"]
run = "echo ${var.greeting} > gen.txt; cat src/*.txt >> gen.txt"
outputs = ["gen.txt"]
description = "generate"
timeout = "1m"

[steps.use]
kind = "exec"
inputs = ["gen.txt"]
run = "cp gen.txt use.txt"
outputs = ["use.txt"]
`

func baseTree() map[string]string {
	return map[string]string{
		"bottle.toml": baseConfig,
		"src/a.txt":   "a\n",
		"src/b.txt":   "b\n",
	}
}

func keyOf(t *testing.T, tree map[string]string, env map[string]string, step string) cache.Key {
	t.Helper()
	p := planIn(t, writeTree(t, tree), env)
	sp := p.Step(step)
	if sp.Key.IsZero() {
		t.Fatalf("step %s has no key (status %s)", step, sp.Status)
	}
	return sp.Key
}

// TestGoldenKey pins the key of a fixed example: a change here changes every
// user's keys, so it must come with a KeySchema bump.
func TestGoldenKey(t *testing.T) {
	p := planIn(t, writeTree(t, baseTree()), map[string]string{"MODE": "fast"})
	sp := p.Step("gen")
	wantLines := []string{
		"bottle-key 1",
		"kind exec 1",
		`field outputs ["gen.txt"]`,
		`field run "echo hello \u003e gen.txt; cat src/*.txt \u003e\u003e gen.txt"`,
		"file src/a.txt - 87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7",
		"file src/b.txt - 0263829989b6fd954f72baaf2fc64bc2e2f01d692d4de72986ea808f6e99813f",
		"env MODE " + cache.SumString("fast").String(),
	}
	if !reflect.DeepEqual(sp.KeyLines(), wantLines) {
		t.Errorf("key lines:\n%s\nwant:\n%s", strings.Join(sp.KeyLines(), "\n"), strings.Join(wantLines, "\n"))
	}
	const golden = "11a3d6971eedafdd13168e1e82a720ac3be264c5fb891a2182805e9b56fb0471"
	if got := sp.Key.String(); got != golden {
		t.Errorf("key = %s, want %s (a change of encoding needs a KeySchema bump)", got, golden)
	}
	if sp.Status != Run || sp.Reason != "new" {
		t.Errorf("status %s (%s), want run (new)", sp.Status, sp.Reason)
	}
	if u := p.Step("use"); u.Status != Pending || u.After != "gen" {
		t.Errorf("use: %s after %q, want pending after gen", u.Status, u.After)
	}
}

func TestKeyPathIndependent(t *testing.T) {
	env := map[string]string{"MODE": "fast"}
	k1 := keyOf(t, baseTree(), env, "gen")
	k2 := keyOf(t, baseTree(), env, "gen") // another temporary folder
	if k1 != k2 {
		t.Errorf("same sources at two paths give keys %s and %s", k1.Short(), k2.Short())
	}
}

func TestKeyParts(t *testing.T) {
	env := map[string]string{"MODE": "fast"}
	base := keyOf(t, baseTree(), env, "gen")
	edit := func(f func(tree map[string]string, env map[string]string)) cache.Key {
		tree := baseTree()
		e := map[string]string{"MODE": "fast"}
		f(tree, e)
		return keyOf(t, tree, e, "gen")
	}
	replaceCfg := func(old, new string) func(map[string]string, map[string]string) {
		return func(tree, _ map[string]string) {
			if !strings.Contains(tree["bottle.toml"], old) {
				t.Fatalf("config lacks %q", old)
			}
			tree["bottle.toml"] = strings.Replace(tree["bottle.toml"], old, new, 1)
		}
	}
	changes := []struct {
		name string
		f    func(tree map[string]string, env map[string]string)
	}{
		{"input byte", func(tree, _ map[string]string) { tree["src/a.txt"] = "A\n" }},
		{"input added", func(tree, _ map[string]string) { tree["src/c.txt"] = "c\n" }},
		{"input renamed", func(tree, _ map[string]string) { tree["src/z.txt"] = tree["src/b.txt"]; delete(tree, "src/b.txt") }},
		{"run field", replaceCfg(`cat src/*.txt`, `cat src/*.txt `)},
		{"var value", replaceCfg(`greeting = "hello"`, `greeting = "hi"`)},
		{"outputs field", replaceCfg(`outputs = ["gen.txt"]`, `outputs = ["gen.txt", "gen2.txt"]`)},
		{"env value", func(_, env map[string]string) { env["MODE"] = "slow" }},
		{"env unset", func(_, env map[string]string) { delete(env, "MODE") }},
		{"env name added", replaceCfg(`env = ["MODE"]`, `env = ["MODE", "OTHER"]`)},
		{"tool", replaceCfg(`env = ["MODE"]`, `env = ["MODE"]`+"\ntools = [\"sh\"]")},
		{"secret named", replaceCfg(`env = ["MODE"]`, `env = ["MODE"]`+"\nsecrets = [\"TOKEN\"]")},
		{"environment set", replaceCfg(`env = ["MODE"]`, `env = ["MODE"]`+"\nenvironment = { CGO_ENABLED = \"0\" }")},
		{"environment from var", replaceCfg(`env = ["MODE"]`, `env = ["MODE"]`+"\nenvironment = { G = \"${var.greeting}x\" }")},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			if k := edit(c.f); k == base {
				t.Errorf("key did not change")
			}
		})
	}
	same := []struct {
		name string
		f    func(tree map[string]string, env map[string]string)
	}{
		{"description", replaceCfg(`description = "generate"`, `description = "something else"`)},
		{"timeout", replaceCfg(`timeout = "1m"`, `timeout = "2h"`)},
		{"unrelated env", func(_, env map[string]string) { env["UNRELATED"] = "x" }},
		{"unmatched file", func(tree, _ map[string]string) { tree["src/notes.md"] = "x" }},
		{"var inlined", replaceCfg(`echo ${var.greeting} >`, `echo hello >`)},
		{"pass_env named", replaceCfg(`env = ["MODE"]`, `env = ["MODE"]`+"\npass_env = [\"DOCKER_HOST\"]")},
	}
	for _, c := range same {
		t.Run(c.name, func(t *testing.T) {
			if k := edit(c.f); k != base {
				t.Errorf("key changed")
			}
		})
	}
}

// TestSpecFieldsInKey fails when a kind gains a field that does not reach
// the key (STYLE habit 14): every field of every spec must change the key
// unless it is tagged key:"-".
func TestSpecFieldsInKey(t *testing.T) {
	for name, k := range kinds.Descriptions() {
		spec := k.NewSpec()
		v := reflect.ValueOf(spec).Elem()
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			if sf.Tag.Get("key") == "-" {
				continue
			}
			tag, _, _ := strings.Cut(sf.Tag.Get("toml"), ",")
			base, err := fieldLines(k.NewSpec(), nil, false)
			if err != nil {
				t.Fatal(err)
			}
			s2 := k.NewSpec()
			setSample(t, reflect.ValueOf(s2).Elem().Field(i))
			changed, err := fieldLines(s2, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(base, changed) {
				t.Errorf("kind %s: field %s (%s) does not enter the key", name, sf.Name, tag)
			}
			// A spec with no ${ is its own expansion: the fast path
			// writes the lines the expansion does.
			if !config.SpecIsLiteral(s2) {
				t.Errorf("kind %s: a sample with no ${ is not literal", name)
			}
			if fast, err := fieldLines(s2, nil, true); err != nil || !reflect.DeepEqual(fast, changed) {
				t.Errorf("kind %s, field %s: literal lines %q, expanded %q (%v)", name, sf.Name, fast, changed, err)
			}
		}
	}
}

func setSample(t *testing.T, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("sample")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		setSample(t, s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		val := reflect.New(v.Type().Elem()).Elem()
		setSample(t, val)
		m.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), val)
		v.Set(m)
	default:
		t.Fatalf("no sample for a field of type %s: extend setSample", v.Type())
	}
}

// TestPlanningLeavesTheGraphAlone: resolving works on copies of the steps.
// Planning twice (as Plan does after a hash error) and planning different
// targets see the same graph, whose steps keep only what Load gave them.
func TestPlanningLeavesTheGraphAlone(t *testing.T) {
	root := writeTree(t, map[string]string{
		"bottle.toml": `
[steps.gen]
kind = "exec"
inputs = ["src.txt"]
run = "cp src.txt gen.out"
outputs = ["gen.out"]

[steps.use]
kind = "exec"
inputs = ["gen.out"]
run = "cp gen.out use.out"
outputs = ["use.out"]
`,
		"src.txt": "x",
	})
	g, err := Load(LoadOptions{Root: root, Kinds: kinds.Descriptions()})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		order, err := g.Resolve(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(order) != 2 || order[1].Name != "use" || len(order[1].Needs) != 1 || order[1].Needs[0] != order[0] {
			t.Fatalf("resolution %d: use must need gen through its input, in the same resolution", i)
		}
		if len(order[0].Sources) != 1 || order[0].Sources[0] != "src.txt" {
			t.Fatalf("resolution %d: gen's sources = %v", i, order[0].Sources)
		}
	}
	for _, n := range g.Nodes {
		if n.Sources != nil || n.Produced != nil || len(n.implicit) != 0 {
			t.Errorf("step %s of the graph was changed by resolving: sources %v, produced %v, implicit %v", n.Name, n.Sources, n.Produced, n.implicit)
		}
	}
	if use := g.Node("use"); len(use.Needs) != 0 {
		t.Errorf("the graph's use gained needs %v: the implied edge belongs to a resolution", use.Needs)
	}
}

// TestSecretValueNotInKey: a secret enters the key by its name only. Its
// value, set or not, changed or not, leaves the key alone and appears in no
// key line.
func TestSecretValueNotInKey(t *testing.T) {
	tree := baseTree()
	tree["bottle.toml"] = strings.Replace(baseConfig, `env = ["MODE"]`, `env = ["MODE"]`+"\nsecrets = [\"TOKEN\", \"API_KEY\"]", 1)
	const value = "s3cret-value-1"
	keyWith := func(env map[string]string) (cache.Key, []string) {
		p := planIn(t, writeTree(t, tree), env)
		sp := p.Step("gen")
		return sp.Key, sp.KeyLines()
	}
	k1, lines := keyWith(map[string]string{"MODE": "fast", "TOKEN": value, "API_KEY": "abcdef"})
	k2, _ := keyWith(map[string]string{"MODE": "fast", "TOKEN": "another-value", "API_KEY": "abcdef"})
	k3, _ := keyWith(map[string]string{"MODE": "fast"})
	if k1 != k2 || k1 != k3 {
		t.Errorf("the secret's value changed the key: %s %s %s", k1.Short(), k2.Short(), k3.Short())
	}
	all := strings.Join(lines, "\n")
	for _, v := range []string{value, cache.SumString(value).String(), "abcdef", cache.SumString("abcdef").String()} {
		if strings.Contains(all, v) {
			t.Errorf("key lines hold %q:\n%s", v, all)
		}
	}
	want := []string{"secret API_KEY", "secret TOKEN"}
	if got := lines[len(lines)-2:]; !reflect.DeepEqual(got, want) {
		t.Errorf("last key lines %q, want %q", got, want)
	}
}

// TestPassEnvAndEnvironmentKeyLines: a pass_env value never reaches the
// key, not even as a digest; an environment value enters as written, with
// its vars expanded, and explain names it when it changes.
func TestPassEnvAndEnvironmentKeyLines(t *testing.T) {
	cfg := func(cgo string) map[string]string {
		tree := baseTree()
		tree["bottle.toml"] = strings.Replace(baseConfig, `env = ["MODE"]`, `env = ["MODE"]`+
			"\npass_env = [\"PROXY_X\"]\nenvironment = { CGO_ENABLED = \""+cgo+"\", GREET = \"${var.greeting}!\" }", 1)
		return tree
	}
	lines := func(tree, env map[string]string) (cache.Key, []string) {
		sp := planIn(t, writeTree(t, tree), env).Step("gen")
		return sp.Key, sp.KeyLines()
	}
	const proxy = "http://proxy.example:3128"
	k1, l1 := lines(cfg("0"), map[string]string{"MODE": "fast", "PROXY_X": proxy})
	k2, _ := lines(cfg("0"), map[string]string{"MODE": "fast", "PROXY_X": "http://other:1"})
	k3, _ := lines(cfg("0"), map[string]string{"MODE": "fast"})
	if k1 != k2 || k1 != k3 {
		t.Errorf("the pass_env value changed the key: %s %s %s", k1.Short(), k2.Short(), k3.Short())
	}
	all := strings.Join(l1, "\n")
	for _, v := range []string{"PROXY_X", proxy, cache.SumString(proxy).String()} {
		if strings.Contains(all, v) {
			t.Errorf("key lines hold %q:\n%s", v, all)
		}
	}
	for _, want := range []string{`environment CGO_ENABLED "0"`, `environment GREET "hello!"`} {
		if !slices.Contains(l1, want) {
			t.Errorf("key lines lack %q:\n%s", want, all)
		}
	}
	k4, l4 := lines(cfg("1"), map[string]string{"MODE": "fast", "PROXY_X": proxy})
	if k4 == k1 {
		t.Fatal("an environment value did not change the key")
	}
	want := []Change{{"environment", "CGO_ENABLED", "modified"}}
	if got := DiffKeyLines(l1, l4); !reflect.DeepEqual(got, want) {
		t.Errorf("diff %v, want %v", got, want)
	}
	if got := Summarize(want); got != "environment CGO_ENABLED changed" {
		t.Errorf("summary %q", got)
	}
}

// TestPlainJSONIsJSONMarshal: the fast path of field lines writes exactly
// what json.Marshal does, or declines: a key must not change with it.
func TestPlainJSONIsJSONMarshal(t *testing.T) {
	type named string
	strs := []string{"", "a", "src/**/*.go", "go build -o bin/app ./cmd/app", "say \"hi\"", `C:\path`, "<b>", "a<b", "a>b", "a&b", "tab\there",
		"line\nbreak", "ünïcode", "\u2028", "\x7f", "\xff", "${step.x.y}", "\x00env.HOME\x00", " spaced "}
	var values []any
	for _, s := range strs {
		values = append(values, s, []string{s}, []string{s, "x"}, named(s))
	}
	values = append(values, []string{}, []named{"a"}, 3, true, map[string]string{"a": "b"})
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := plainJSON(reflect.ValueOf(v))
		if ok && got != string(want) {
			t.Errorf("plainJSON(%#v) = %s, json.Marshal says %s", v, got, want)
		}
		if _, isNamed := v.(named); isNamed && ok {
			t.Errorf("plainJSON took the named type %T", v)
		}
	}
	if got, ok := plainJSON(reflect.ValueOf([]string{"a", "b/c"})); !ok || got != `["a","b/c"]` {
		t.Errorf("plain list: %q, %v", got, ok)
	}
	// The fast path takes what json.Marshal escapes in ASCII (W2's every
	// command has && and >), and declines the rest.
	for _, s := range []string{"say \"hi\"", `C:\path`, "<b>", "a && b > c"} {
		if _, ok := plainJSON(reflect.ValueOf(s)); !ok {
			t.Errorf("plainJSON(%q) declined", s)
		}
	}
	for _, s := range []string{"tab\there", "ünïcode", "\x7f", "\xff"} {
		if _, ok := plainJSON(reflect.ValueOf([]string{"a", s})); ok {
			t.Errorf("plainJSON(%q) took it", s)
		}
	}
}

// TestKeyMemo: a key made from the memo of another plan's key (the file
// watcher vouching for the files) is the key hashing every line gives, or
// nothing when the lines before the files differ; a damaged memo is
// nothing, never a panic.
func TestKeyMemo(t *testing.T) {
	stepIn := func(tree, env map[string]string) (*StepPlan, KeyInput) {
		sp := planIn(t, writeTree(t, tree), env).Step("gen")
		if sp.keyIn == nil {
			t.Fatalf("no key input (status %s)", sp.Status)
		}
		return sp, *sp.keyIn
	}
	env := map[string]string{"MODE": "fast"}
	sp, in := stepIn(baseTree(), env)
	k, memo, err := sp.Node.keyAndMemo(&in)
	if err != nil || k != sp.Key || len(memo) == 0 {
		t.Fatalf("keyAndMemo = %s, %d bytes, %v; want the key %s", k, len(memo), err, sp.Key)
	}
	noFiles := in
	noFiles.Sources = nil
	if got, ok, err := sp.Node.keyFromMemo(&noFiles, memo); !ok || err != nil || got != sp.Key {
		t.Fatalf("keyFromMemo = %s, %v, %v; want %s", got, ok, err, sp.Key)
	}
	cases := []struct {
		name     string
		tree     func(map[string]string)
		env      map[string]string
		fromMemo bool // the lines before the files are the same
	}{
		{"env value", nil, map[string]string{"MODE": "slow"}, true},
		{"env unset", nil, map[string]string{}, true},
		{"environment set", func(tr map[string]string) {
			tr["bottle.toml"] = strings.Replace(tr["bottle.toml"], `env = ["MODE"]`, `env = ["MODE"]`+"\nenvironment = { A = \"1\" }", 1)
		}, env, true},
		{"run field", func(tr map[string]string) {
			tr["bottle.toml"] = strings.Replace(tr["bottle.toml"], `cat src/*.txt`, `cat src/*.txt `, 1)
		}, env, false},
		{"var value", func(tr map[string]string) {
			tr["bottle.toml"] = strings.Replace(tr["bottle.toml"], `greeting = "hello"`, `greeting = "hi"`, 1)
		}, env, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree := baseTree()
			if c.tree != nil {
				c.tree(tree)
			}
			sp2, in2 := stepIn(tree, c.env)
			in2.Sources = nil
			got, ok, err := sp2.Node.keyFromMemo(&in2, memo)
			switch {
			case err != nil:
				t.Fatal(err)
			case ok != c.fromMemo:
				t.Fatalf("from the memo: %v, want %v", ok, c.fromMemo)
			case ok && got != sp2.Key:
				t.Fatalf("key from the memo %s, want %s", got, sp2.Key)
			}
		})
	}
	for i := range memo {
		if _, ok, _ := sp.Node.keyFromMemo(&noFiles, memo[:i]); ok {
			t.Fatalf("a memo cut at %d bytes gave a key", i)
		}
	}
	bad := slices.Clone(memo)
	bad[0]++
	if _, ok, _ := sp.Node.keyFromMemo(&noFiles, bad); ok {
		t.Fatal("a memo of another version gave a key")
	}
}

// plainJSON is appendPlainJSON's text of v.
func plainJSON(v reflect.Value) (string, bool) {
	b, ok := appendPlainJSON(nil, v)
	return string(b), ok
}
