package main

// explain --against: a step's key parts here against another result's,
// named by key (local cache, then remote) or by a file.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/bottle-build/bottle/cache"
	"github.com/bottle-build/bottle/cache/remote"
	"github.com/bottle-build/bottle/graph"
)

// other is what explain compares against: the key lines of another result,
// or of part of it, and where they came from.
type other struct {
	lines []string
	what  string // "result 3f9a… of step bin, stored …, in the local cache"
	// filesOnly: only the input files are known (a saved plan whose
	// result no cache here holds).
	filesOnly bool
	key       cache.Key
	step      string // the step that made it, when known
}

func (a *app) explainAgainst(ctx context.Context, ws *pipeline, plan *graph.Plan, sp *graph.StepPlan, now, unknown []string, arg string) error {
	o, err := a.againstLines(ctx, ws, sp.Node.Name, arg)
	if err != nil {
		return err
	}
	w := a.stdout
	fmt.Fprintf(w, "  against:       %s\n", o.what)
	if o.step != "" && o.step != sp.Node.Name {
		fmt.Fprintf(w, "  note: that result is of step %s, not %s\n", o.step, sp.Node.Name)
	}
	if len(o.lines) == 0 && !o.filesOnly {
		return fmt.Errorf("%s was stored without its key lines (by an older bottle): there is nothing to compare with", o.what)
	}
	there := graph.WithoutDeps(o.lines, unknown)
	here := now
	if o.filesOnly {
		here = fileLines(now)
		if sp.Status == graph.Pending {
			here = fileLines(sp.Node.SourceLines(sp.Sources))
		}
		fmt.Fprintln(w, "  only its input files are known there (a saved plan records them; no cache here holds its result):")
	}
	changes := graph.DiffKeyLines(there, here)
	if len(changes) == 0 {
		switch {
		case !o.key.IsZero() && o.key == sp.Key:
			fmt.Fprintln(w, "  same key: every key part is the same")
		case len(unknown) > 0 || o.filesOnly:
			fmt.Fprintln(w, "  no key part known here differs")
		default:
			fmt.Fprintln(w, "  no key part differs")
		}
	} else {
		fmt.Fprintln(w, "  here against there (added: only here; removed: only there):")
	}
	printChanges(w, changes)
	printUnknown(w, plan, unknown)
	return nil
}

// againstLines finds what --against names: an existing file, else a key
// or key prefix.
func (a *app) againstLines(ctx context.Context, ws *pipeline, step, arg string) (*other, error) {
	if fi, err := os.Stat(arg); err == nil && fi.Mode().IsRegular() {
		return a.againstFile(ctx, ws, step, arg)
	}
	if strings.Trim(strings.ToLower(arg), "0123456789abcdef") != "" {
		return nil, usageErr("--against %s: no such file, and not a key (hex digits)", arg)
	}
	if len(arg) == 2*len(cache.Key{}) {
		k, err := cache.ParseKey(strings.ToLower(arg))
		if err != nil {
			return nil, usageErr("--against %s: %v", arg, err)
		}
		return a.resultByKey(ctx, ws, k)
	}
	keys, err := cache.NewReader(ws.cacheDir).MatchKeys(arg, 6)
	if err != nil {
		return nil, usageErr("--against: %v", err)
	}
	switch len(keys) {
	case 0:
		msg := fmt.Sprintf("--against %s: no result in the local cache %s has a key starting with %s", arg, ws.cacheDir, strings.ToLower(arg))
		if a.remoteURL(ws.g.Config.Settings.RemoteCache) != "" {
			msg += " (the remote cache is searched by whole key only: give all 64 hex digits)"
		}
		return nil, usageErr("%s", msg)
	case 1:
		return a.resultByKey(ctx, ws, keys[0])
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Short())
	}
	return nil, usageErr("--against %s: several results have a key starting with it (%s…): give more digits", arg, strings.Join(names, ", "))
}

// resultByKey reads result k: from the local cache, else from the remote
// cache when one is configured (its entry only, no blob).
func (a *app) resultByKey(ctx context.Context, ws *pipeline, k cache.Key) (*other, error) {
	res, err := cache.NewReader(ws.cacheDir).Entry(k)
	where := "in the local cache"
	if errors.Is(err, cache.ErrMiss) {
		url := a.remoteURL(ws.g.Config.Settings.RemoteCache)
		if url == "" {
			return nil, fmt.Errorf("--against: result %s is not in the local cache %s, and no remote cache is configured (%w)", k, ws.cacheDir, err)
		}
		c, oerr := remote.Open(remote.Options{URL: url, SigningKey: signingKey()})
		if oerr != nil {
			return nil, usageErr("%v", oerr)
		}
		res, err = c.Entry(ctx, k)
		if errors.Is(err, cache.ErrMiss) {
			return nil, fmt.Errorf("--against: result %s is neither in the local cache nor in the remote cache %s: %w", k, c.URL(), err)
		}
		where = "in the remote cache " + c.URL()
	}
	if err != nil {
		return nil, fmt.Errorf("--against: %w", err)
	}
	return resultOther(res, where), nil
}

func resultOther(res *cache.Result, where string) *other {
	what := fmt.Sprintf("result %s", res.Key)
	if res.Step != "" {
		what += " of step " + res.Step
	}
	if !res.Created.IsZero() {
		what += ", stored " + res.Created.Local().Format("2006-01-02 15:04:05")
	}
	return &other{lines: res.KeyLines, what: what + ", " + where, key: res.Key, step: res.Step}
}

// againstFile reads a saved plan, a result entry or key lines.
func (a *app) againstFile(ctx context.Context, ws *pipeline, step, path string) (*other, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var probe struct {
			FormatVersion int             `json:"format_version"`
			Key           json.RawMessage `json:"key"`
		}
		if err := json.Unmarshal(t, &probe); err != nil {
			return nil, fmt.Errorf("--against %s: not a saved plan or a result entry: %v", path, err)
		}
		switch {
		case probe.FormatVersion != 0:
			var pj graph.PlanJSON
			if err := json.Unmarshal(t, &pj); err != nil {
				return nil, fmt.Errorf("--against %s: a saved plan that does not read: %v", path, err)
			}
			return a.againstPlan(ctx, ws, step, path, &pj)
		case probe.Key != nil:
			var res cache.Result
			if err := json.Unmarshal(t, &res); err != nil {
				return nil, fmt.Errorf("--against %s: a result entry that does not read: %v", path, err)
			}
			return resultOther(&res, "from "+path), nil
		}
		return nil, fmt.Errorf("--against %s: JSON, but neither a saved plan (bottle plan -o) nor a result entry", path)
	}
	lines := keyLinesOf(b, step)
	if len(lines) == 0 {
		return nil, fmt.Errorf("--against %s: it holds no key lines of step %s (write them with: BOTTLE_DEBUG=hash bottle plan %s 2>FILE)", path, step, step)
	}
	return &other{lines: lines, what: "the key lines in " + path}, nil
}

// keyLinesOf reads key lines, one per line: as they are, or as
// BOTTLE_DEBUG=hash prints them ("HASH STEP: LINE", of which those of step
// are kept); they must hold the key's first line, "bottle-key N". Blank lines and lines starting with # are skipped.
func keyLinesOf(b []byte, step string) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	prefix := "HASH " + step + ": "
	for sc.Scan() {
		l := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "HASH "):
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				lines = append(lines, rest)
			}
		default:
			lines = append(lines, l)
		}
	}
	// Every key starts with its schema line: without it, this is not a
	// key's lines.
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "bottle-key ") }) {
		return nil
	}
	return lines
}

// againstPlan takes step's key from a saved plan and reads that result;
// when no cache here has it, the plan's record of the step's input files
// is what there is to compare.
func (a *app) againstPlan(ctx context.Context, ws *pipeline, step, path string, pj *graph.PlanJSON) (*other, error) {
	var sj *graph.StepJSON
	for i := range pj.Steps {
		if pj.Steps[i].Name == step {
			sj = &pj.Steps[i]
		}
	}
	if sj == nil {
		return nil, fmt.Errorf("--against %s: the saved plan has no step %s", path, step)
	}
	why := "it was pending there, after " + sj.After
	if sj.Key != "" {
		k, err := cache.ParseKey(sj.Key)
		if err != nil {
			return nil, fmt.Errorf("--against %s: step %s: %v", path, step, err)
		}
		o, err := a.resultByKey(ctx, ws, k)
		if err == nil {
			o.what += " (step " + step + "'s key in " + path + ")"
			return o, nil
		}
		if !errors.Is(err, cache.ErrMiss) {
			return nil, err
		}
		why = "its result " + k.Short() + " is in no cache here"
	}
	if sj.Sources == nil {
		return nil, fmt.Errorf("--against %s: %s, and the plan records no input files of step %s (a plan printed by --json; save one with -o)", path, why, step)
	}
	return &other{lines: graph.SavedSourceLines(sj.Sources), what: fmt.Sprintf("step %s in the saved plan %s (%s)", step, path, why), filesOnly: true}, nil
}
