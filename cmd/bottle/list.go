package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/graph"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// targets are the steps a command takes: those named, else with --all
// every step, else settings.default (every step when it is unset). nil
// means every step.
func targets(g *graph.Graph, args []string, all bool) ([]string, error) {
	switch {
	case all && len(args) > 0:
		return nil, usageErr("--all means every step: name no step with it")
	case all || len(args) > 0:
		return args, nil
	}
	return g.Config.Settings.Default, nil
}

// planTargets plans the steps a command takes (targets).
func planTargets(pl *graph.Planner, args []string, all bool) (*graph.Plan, error) {
	names, err := targets(pl.Graph, args, all)
	if err != nil {
		return nil, err
	}
	return pl.Plan(names)
}

// oneStep refuses a name that is not one step where a command takes one
// (explain): a group or a matrix step stands for several.
func oneStep(g *graph.Graph, cmd, name string) error {
	if g.Node(name) != nil {
		return nil
	}
	names, err := g.Config.Select(name)
	if err != nil {
		return usageErr("%v", g.NoStep(name))
	}
	what := "a group"
	if g.Config.Group(name) == nil {
		what = "a matrix step"
	}
	return usageErr("%s takes one step, and %s is %s of %d: name one of %s", cmd, name, what, len(names), strings.Join(quoteNames(names), ", "))
}

// quoteNames writes names as a shell would need them: an instance's
// brackets quoted, since zsh and others take them for a glob.
func quoteNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if strings.ContainsAny(n, "[],") {
			n = "'" + n + "'"
		}
		out[i] = n
	}
	return out
}

// allFlag registers --all on fs.
func allFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("all", false, "every step, whatever settings.default says")
}

func (a *app) listCmd() *ffcli.Command {
	fs := a.flagSet("list")
	asJSON := fs.Bool("json", false, "print the steps as JSON (schema: README, 'bottle list')")
	names := fs.Bool("names", false, "print only the names, one a line (for scripts and shell completion)")
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "bottle list [flags]",
		ShortHelp:  "list the steps and groups with their kind, description and needs",
		LongHelp: strings.TrimSpace(`
List prints every step and group of the config in file order: its name,
kind, description and what it needs (declared, referenced with ${step.X.f},
or implied by an input another step produces; a group's are its members).
Each instance of a matrix step is listed under its own name, e.g.
cross[linux,amd64]. A * marks those in settings.default, what plan, apply,
graph, clean and the cache commands take when no step is named (--all takes
every step). It reads only the config and the files its inputs name.

EXAMPLES
  bottle list
  bottle list --json | jq -r '.steps[] | select(.kind=="exec") | .name'
  bottle list --names`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usageErr("list takes no arguments")
			}
			ws, err := a.openWorkspace()
			if err != nil {
				return err
			}
			defer ws.state.Close()
			entries := listEntries(ws.g)
			switch {
			case *asJSON:
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(listJSON{FormatVersion: listFormat, Default: orEmpty(ws.g.Config.Settings.Default), Steps: entries})
			case *names:
				for _, e := range entries {
					fmt.Fprintln(a.stdout, e.Name)
				}
				return nil
			}
			a.printList(ws.g.Config, entries)
			return nil
		},
	}
}

// listFormat is the version of list --json; it changes only when a field
// changes meaning or goes (new fields may appear without it).
const listFormat = 1

// listJSON is what list --json prints.
type listJSON struct {
	FormatVersion int         `json:"format_version"`
	Default       []string    `json:"default"` // settings.default; empty: every step
	Steps         []listEntry `json:"steps"`
}

// listEntry is one step, instance of a matrix step, or group.
type listEntry struct {
	Name        string   `json:"name"`
	Kind        string   `json:"kind"` // "group" for a group
	Description string   `json:"description"`
	Needs       []string `json:"needs"`            // a group's members
	Matrix      string   `json:"matrix,omitempty"` // an instance's matrix step, e.g. "cross"
	Default     bool     `json:"default"`          // taken when no step is named
	pos         config.Pos
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listEntries lists the steps and groups in file order, the instances of
// a matrix step in the order it makes them.
func listEntries(g *graph.Graph) []listEntry {
	f := g.Config
	var out []listEntry
	for _, s := range f.Steps {
		e := listEntry{Name: s.Name, Kind: s.Kind, Description: s.Description, pos: s.Pos, Needs: []string{}}
		if n := g.Node(s.Name); n != nil {
			for _, d := range n.Needs {
				e.Needs = append(e.Needs, d.Name)
			}
		} else {
			e.Needs = append(e.Needs, s.Needs...)
		}
		if s.Matrix != nil {
			e.Matrix = s.Matrix.Base
		}
		out = append(out, e)
	}
	for _, gr := range f.Groups {
		out = append(out, listEntry{Name: gr.Name, Kind: config.GroupKind, Description: gr.Description, pos: gr.Pos, Needs: append([]string{}, gr.Needs...)})
	}
	slices.SortStableFunc(out, func(a, b listEntry) int {
		if a.pos.Line != b.pos.Line {
			return a.pos.Line - b.pos.Line
		}
		return a.pos.Col - b.pos.Col
	})
	// A default marks what it selects: a matrix step's instances too.
	defaults := map[string]bool{}
	for _, d := range f.Settings.Default {
		defaults[d] = true
		if f.Group(d) == nil {
			names, _ := f.Select(d)
			for _, n := range names {
				defaults[n] = true
			}
		}
	}
	for i := range out {
		out[i].Default = defaults[out[i].Name]
	}
	return out
}

func (a *app) printList(f *config.File, entries []listEntry) {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, e := range entries {
		mark := " "
		if e.Default {
			mark = "*"
		}
		line := fmt.Sprintf("%s %s\t%s\t%s", mark, e.Name, e.Kind, e.Description)
		if len(e.Needs) > 0 {
			line += "\tneeds " + strings.Join(e.Needs, ", ")
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	if len(f.Settings.Default) == 0 {
		fmt.Fprintln(a.stdout, "No settings.default: a command that names no step takes every step.")
	}
}
