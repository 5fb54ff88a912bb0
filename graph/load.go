package graph

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/steps"
	"github.com/bottle-build/bottle/workspace"
)

// LoadOptions say where the pipeline is.
type LoadOptions struct {
	Root       string // workspace folder
	ConfigFile string // path of the config file; default Root/bottle.toml
	// Getenv reads host variables for ${env.X}; default os.LookupEnv.
	Getenv func(string) (string, bool)
	// Vars are --var overrides: each must name a var of the config, and
	// replaces its value literally.
	Vars map[string]string
	// VarCommand runs computed vars' commands; nil refuses them.
	VarCommand VarCommand
	// Kinds are the step kinds a step may be, by name: their descriptions
	// only (cmd/bottle passes kinds.Descriptions()). Required.
	Kinds map[string]steps.Kind
	// EarlyInputs, when set and the config must be parsed (its parsed
	// cache misses), is called once, on a goroutine of its own, with the
	// paths config.GuessInputs finds in its text, while it is parsed: a
	// guess, so that their files can be hashed meanwhile
	// (files.Index.Prehash).
	EarlyInputs func(paths []string)
}

// Load reads and validates the config and builds the static graph: declared
// needs, references and outputs. Input files are found by Resolve.
func Load(opts LoadOptions) (*Graph, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	cfgPath := workspace.ConfigPath(root, opts.ConfigFile)
	noConfig := func(err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return &UsageError{Msg: fmt.Sprintf("no %s in %s: create one with 'bottle init' or point at it with -C DIR or -f FILE", filepath.Base(cfgPath), filepath.Dir(cfgPath))}
		}
		return err
	}
	name := cfgPath
	if rel, err := filepath.Rel(mustGetwd(), cfgPath); err == nil && !strings.HasPrefix(rel, "..") {
		name = rel
	}
	// With a parsed-config cache, the file is hashed as it is read, and
	// kept only when the cache misses: the bytes of a 20,000-step config
	// are 9 MB. With none (a first plan), it is read and hashed once.
	var (
		sum        cache.Digest
		file       *config.File
		fieldLines [][]string
	)
	if cached := readConfigCache(root); cached != nil {
		if sum, err = sumFile(cfgPath); err != nil {
			return nil, noConfig(err)
		}
		file, fieldLines = loadCachedConfig(cached, name, sum, opts.Kinds)
	}
	fromCache := file != nil
	var data []byte
	if file == nil {
		if data, err = os.ReadFile(cfgPath); err != nil {
			return nil, noConfig(err)
		}
		if opts.EarlyInputs != nil {
			// The guess too is made while the config is parsed (0.1 s at
			// 20,000 steps). data is never changed.
			go func() { opts.EarlyInputs(config.GuessInputs(data)) }()
		}
		sum = cache.SumBytes(data) // what is parsed, should it have changed since
		infos := make(map[string]config.KindInfo, len(opts.Kinds))
		for n, k := range opts.Kinds {
			infos[n] = k
		}
		file, err = config.Parse(name, data, infos)
		if err != nil {
			return nil, err
		}
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	g := &Graph{Root: root, ConfigName: name, Config: file, byName: map[string]*Node{}, configParsed: data != nil, configSum: sum, configFromCache: fromCache, kinds: opts.Kinds}
	if err := config.CheckOverrides(file, opts.Vars); err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	g.Overrides = opts.Vars
	g.getenv, g.varCommand = getenv, opts.VarCommand
	g.computed, g.computeErrs = map[string]string{}, map[string]error{}
	g.Vars, g.varErrs = config.ResolveVars(file, opts.Vars, getenv, g.computed)
	for k := range file.Computed {
		if _, ok := opts.Vars[k]; !ok {
			if g.outsideVars == nil {
				g.outsideVars = map[string]bool{}
			}
			for v := range file.Vars {
				if slices.Contains(config.ComputedDeps(file, opts.Vars, v), k) {
					g.outsideVars[v] = true
				}
			}
		}
	}
	if within(root, cfgPath) {
		rel, _ := filepath.Rel(root, cfgPath)
		g.configRel = filepath.ToSlash(rel)
	}
	for i, st := range file.Steps {
		n := &Node{stepDef: &stepDef{Name: st.Name, Kind: opts.Kinds[st.Kind], Step: st}}
		if fieldLines != nil {
			n.fieldLines = fieldLines[i]
		}
		g.Nodes = append(g.Nodes, n)
		g.byName[n.Name] = n
	}
	var errs []error
	for _, n := range g.Nodes {
		if err := g.loadNode(n, getenv); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := g.checkOutputs(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return g, nil
}

// sumFile returns the digest of the file at path, read a piece at a time.
func sumFile(path string) (cache.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return cache.Digest{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 256<<10)); err != nil {
		return cache.Digest{}, err
	}
	var d cache.Digest
	h.Sum(d[:0])
	return d, nil
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}

// errorf positions an error at a field of a step.
func (g *Graph) errorf(n *Node, field string, format string, args ...any) error {
	p := "steps." + n.Name
	pos := n.Step.Pos
	if field != "" {
		p += "." + field
		pos = n.Step.FieldPosOr(field)
	}
	return &config.Error{File: g.ConfigName, Pos: pos, Path: p, Msg: fmt.Sprintf(format, args...)}
}

func (g *Graph) loadNode(n *Node, getenv func(string) (string, bool)) error {
	n.OutsideVars, n.computedDeps = g.outsideVarsOf(n)
	if len(n.computedDeps) > 0 && g.shapesPaths(n, getenv) {
		// The step's paths need the values now: every plan needs every
		// step's outputs. A failure is reported if the step is planned.
		g.compute(n.computedDeps)
		if err := g.computeErr(n.computedDeps); err != nil {
			n.unresolved = err
			return nil
		}
	}
	needs := map[string]bool{}
	for _, name := range n.Step.Needs {
		// A need on a group is a need on each of its members, and on a
		// matrix step a need on each instance (those paired with this
		// step's own, for an instance).
		names, err := g.Config.Needed(n.Step, name)
		if err != nil {
			return g.errorf(n, "needs", "%v", err) // config checks this first; kept as a guard
		}
		for _, m := range names {
			needs[m] = true
		}
	}
	env := map[string]bool{}
	for _, e := range n.Step.Env {
		env[e] = true
	}
	refs, err := config.SpecRefs(n.Step.Spec)
	if err != nil {
		return g.errorf(n, "", "%v", err)
	}
	if err := g.checkShell(n); err != nil {
		return err
	}
	for _, rs := range refs {
		for _, r := range rs {
			switch r.Kind {
			case config.RefStep:
				needs[r.Name] = true
			case config.RefEnv:
				env[r.Name] = true
			}
		}
	}
	for name := range needs {
		dep := g.byName[name]
		if dep == nil {
			return g.errorf(n, "needs", "no step %q", name) // config checks this first; kept as a guard
		}
		n.Needs = append(n.Needs, dep)
	}
	sortNodes(n.Needs)

	// Patterns with no reference are their own expansion: shared with
	// the config, read only (a copy each was 1.3 MB at 5,000 steps).
	if !slices.ContainsFunc(n.Step.Inputs, func(pat string) bool { return strings.Contains(pat, "${") }) {
		n.Inputs = slices.Clip(n.Step.Inputs)
	} else {
		for _, pat := range n.Step.Inputs {
			v, err := config.Expand(pat, g.loadRefs(getenv, func(r config.Ref) (string, error) {
				return "", fmt.Errorf("an input pattern cannot use another step's results (%s): name the file, and the step is needed through it", r)
			}))
			if unresolved(err) {
				n.unresolved = g.errorf(n, "inputs", "%v", err)
				continue
			}
			if err != nil {
				return g.errorf(n, "inputs", "%v", err)
			}
			n.Inputs = append(n.Inputs, v)
		}
	}
	if n.unresolved == nil {
		if _, err := n.Environment(g.Vars); err != nil {
			return g.errorf(n, "environment", "%v", err)
		}
		for _, v := range n.Step.Environment {
			if _, err := config.Expand(v, g.loadRefs(getenv, nil)); unresolved(err) {
				n.unresolved = g.errorf(n, "environment", "%v", err)
				break
			}
		}
	}
	for _, r := range inputEnvRefs(n.Step.Inputs) {
		env[r] = true
	}
	n.EnvNames = slices.Sorted(maps.Keys(env))

	// Outputs are known at load time: they may use vars and env, never
	// another step's results.
	stepMarker := func(config.Ref) (string, error) { return "\x00step\x00", nil }
	n.literalSpec = config.SpecIsLiteral(n.Step.Spec)
	spec, err := n.Step.Spec, error(nil) // read only, as an expanded copy is
	if !n.literalSpec {
		spec, err = config.ExpandSpec(n.Step.Spec, g.loadRefs(getenv, stepMarker))
	}
	if unresolved(err) {
		if n.unresolved == nil {
			n.unresolved = g.errorf(n, g.unresolvedField(n, refs, getenv), "%v", err)
		}
		// Outputs made with a missing value would be wrong ("out/.txt"):
		// the step has none until its values are there.
		spec, err = config.ExpandSpec(n.Step.Spec, func(r config.Ref) (string, error) {
			if v, err := g.loadRefs(getenv, stepMarker)(r); err == nil {
				return v, nil
			}
			return "", nil
		})
		if err != nil {
			return g.errorf(n, "", "%v", err)
		}
		n.StaticSpec = spec
		return nil
	}
	if err != nil {
		return g.errorf(n, "", "%v", err)
	}
	n.StaticSpec = spec
	if pr, ok := n.Kind.(steps.ProgramRunner); ok {
		for _, p := range pr.Programs(spec) {
			if strings.Contains(p.Name, "\x00step\x00") {
				return g.errorf(n, p.Field, "the program a step runs cannot come from another step's results")
			}
			n.Programs = append(n.Programs, p)
		}
	}
	for _, o := range n.Kind.Outputs(n.Name, spec) {
		if strings.Contains(o, "\x00step\x00") {
			return g.errorf(n, "outputs", "an output path cannot use another step's results")
		}
		if err := config.CheckPath(o); err != nil {
			return g.errorf(n, "outputs", "%v", err)
		}
		o = path.Clean(o)
		if workspace.Reserved(o) {
			return g.errorf(n, "outputs", "%q is inside %s/, which is bottle's own (only %s/ may hold outputs)", o, workspace.DirName, workspace.OutDir)
		}
		if what := g.protected(o); what != "" {
			return g.errorf(n, "outputs", "%q would hold %s: a step's outputs are removed before it runs; name a build folder instead", o, what)
		}
		n.Outputs = append(n.Outputs, o)
	}
	return nil
}

// protected says what an output path would take with it that is not a
// build product: the config itself, or the repository's .git.
func (g *Graph) protected(o string) string {
	within := func(p string) bool { return p == o || strings.HasPrefix(p, o+"/") }
	switch {
	case g.configRel != "" && within(g.configRel):
		return "the config " + g.configRel
	case o == ".git" || strings.HasPrefix(o, ".git/"):
		return "the repository's .git"
	}
	return ""
}

// checkOutputs refuses two steps declaring one output, or one output inside
// another's.
func (g *Graph) checkOutputs() error {
	type owned struct {
		path string
		n    *Node
	}
	var all []owned
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			all = append(all, owned{o, n})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].path < all[j].path })
	var errs []error
	told := map[string]bool{} // matrix steps whose instances share an output
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.path == b.path || strings.HasPrefix(b.path, a.path+"/") {
			if a.n == b.n {
				if a.path == b.path {
					continue // the kind's Check reports duplicates within a step
				}
				errs = append(errs, g.errorf(b.n, "outputs", "output %q lies inside its other output %q", b.path, a.path))
				continue
			}
			if ma, mb := a.n.Step.Matrix, b.n.Step.Matrix; ma != nil && mb != nil && ma.Base == mb.Base {
				if !told[ma.Base] {
					told[ma.Base] = true
					errs = append(errs, g.instancesShare(a.n, b.n, a.path, b.path))
				}
				continue
			}
			errs = append(errs, fmt.Errorf("%s: steps %s and %s both declare output %q\n\t%s:%d: steps.%s\n\t%s:%d: steps.%s",
				g.ConfigName, a.n.Name, b.n.Name, b.path,
				g.ConfigName, a.n.Step.FieldPosOr("outputs").Line, a.n.Name,
				g.ConfigName, b.n.Step.FieldPosOr("outputs").Line, b.n.Name))
		}
	}
	return errors.Join(errs...)
}

// instancesShare is the error for two instances of one matrix step that
// declare one output (or one inside the other): an output must differ per
// instance, through the values of the keys in which they differ.
func (g *Graph) instancesShare(a, b *Node, pa, pb string) error {
	m := a.Step.Matrix
	var keys []string
	for i, k := range m.Keys {
		if m.Values[i] != b.Step.Matrix.Values[i] {
			keys = append(keys, "${matrix."+k+"}")
		}
	}
	what := fmt.Sprintf("both write %q", pb)
	if pa != pb {
		what = fmt.Sprintf("write %q and %q inside it", pa, pb)
	}
	return &config.Error{File: g.ConfigName, Pos: a.Step.FieldPosOr("outputs"), Path: "steps." + m.Base + ".outputs",
		Msg: fmt.Sprintf("instances %s and %s %s: each instance needs outputs of its own: use %s in the path", a.Name, b.Name, what, strings.Join(keys, " or "))}
}

func sortNodes(ns []*Node) { sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name }) }

// UsageError is a problem with how bottle was called.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func inputEnvRefs(pats []string) []string {
	var out []string
	for _, p := range pats {
		refs, _ := config.Refs(p)
		for _, r := range refs {
			if r.Kind == config.RefEnv {
				out = append(out, r.Name)
			}
		}
	}
	return out
}

// StaticRefs resolves ${var.X} from the config and ${env.X} with getenv,
// and hands ${step.X.f} to step.
func (g *Graph) StaticRefs(getenv func(string) (string, bool), step func(config.Ref) (string, error)) func(config.Ref) (string, error) {
	return func(r config.Ref) (string, error) {
		switch r.Kind {
		case config.RefVar:
			if err := g.varErrs[r.Name]; err != nil {
				return "", err
			}
			return g.Vars[r.Name], nil
		case config.RefEnv:
			return r.EnvValue(getenv)
		}
		if step == nil {
			return "", fmt.Errorf("%s: a step's results cannot stand here", r)
		}
		return step(r)
	}
}

// pendingMarker stands, at load, for the value of a var whose command has
// not run: it is run only if the step is planned (or its paths need it).
const pendingMarker = "\x00computed\x00"

// loadRefs is StaticRefs for loading: a var whose computed value is not
// there yet gives pendingMarker.
func (g *Graph) loadRefs(getenv func(string) (string, bool), step func(config.Ref) (string, error)) func(config.Ref) (string, error) {
	static := g.StaticRefs(getenv, step)
	return func(r config.Ref) (string, error) {
		v, err := static(r)
		var nc *config.NotComputedError
		if r.Kind == config.RefVar && errors.As(err, &nc) {
			return pendingMarker, nil
		}
		return v, err
	}
}

// shapesPaths reports whether n's output or input paths, or the programs
// it runs, use a computed var.
func (g *Graph) shapesPaths(n *Node, getenv func(string) (string, bool)) bool {
	for _, pat := range n.Step.Inputs {
		refs, _ := config.Refs(pat)
		for _, r := range refs {
			if r.Kind == config.RefVar && g.outsideVars[r.Name] {
				return true
			}
		}
	}
	spec, err := config.ExpandSpec(n.Step.Spec, g.loadRefs(getenv, func(config.Ref) (string, error) { return "", nil }))
	if err != nil {
		return false // loadNode reports it
	}
	for _, o := range n.Kind.Outputs(n.Name, spec) {
		if strings.Contains(o, pendingMarker) {
			return true
		}
	}
	if pr, ok := n.Kind.(steps.ProgramRunner); ok {
		for _, p := range pr.Programs(spec) {
			if strings.Contains(p.Name, pendingMarker) {
				return true
			}
		}
	}
	return false
}

// unresolved reports whether err is a value missing from outside: an unset
// ${env.X} without a default, or a var that uses one.
func unresolved(err error) bool {
	if err == nil {
		return false // before errors.As, whose targets escape: 3 allocations a call
	}
	var ue *config.UnsetEnvError
	var ve *config.VarError
	var nc *config.NotComputedError
	return !errors.As(err, &nc) && (errors.As(err, &ue) || errors.As(err, &ve))
}

// unresolvedField names the first field of n's spec (by TOML name) holding
// a reference whose value is missing, for the error's place.
func (g *Graph) unresolvedField(n *Node, refs map[string][]config.Ref, getenv func(string) (string, bool)) string {
	resolve := g.loadRefs(getenv, func(config.Ref) (string, error) { return "", nil })
	for _, field := range slices.Sorted(maps.Keys(refs)) {
		for _, r := range refs[field] {
			if _, err := resolve(r); unresolved(err) {
				return field
			}
		}
	}
	return ""
}

// ExpandSpec returns n's spec with every reference filled in: ${var.X} and
// ${env.X} as planning sees them, and ${step.X.f} from result. In a shell
// field (exec's run) and an argv, values from outside the config are
// spliced so that they are never read as syntax (config.ExpandSpecShell).
func (pl *Planner) ExpandSpec(n *Node, result func(step, field string) (string, error)) (any, error) {
	return pl.Graph.shell().ExpandSpec(n.Step.Spec, pl.Graph.refItems(pl.Graph.StaticRefs(pl.getenv, func(r config.Ref) (string, error) {
		return result(r.Name, r.Field)
	})))
}
