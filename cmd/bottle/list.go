package main

import (
	"context"
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
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "bottle list [flags]",
		ShortHelp:  "list the steps and groups, marking the defaults with *",
		LongHelp: strings.TrimSpace(`
List prints every step and group of the config in file order: its name,
kind and description. A * marks those in settings.default, what plan, apply,
graph and the cache commands take when no step is named (--all takes every
step). It reads only the config.

EXAMPLES
  bottle list`),
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
			a.printList(ws.g.Config)
			return nil
		},
	}
}

func (a *app) printList(f *config.File) {
	type row struct {
		pos               config.Pos
		name, kind, descr string
	}
	var rows []row
	for _, s := range f.Steps {
		rows = append(rows, row{s.Pos, s.Name, s.Kind, s.Description})
	}
	for _, g := range f.Groups {
		rows = append(rows, row{g.Pos, g.Name, config.GroupKind, g.Description})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
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
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		mark := " "
		if defaults[r.name] {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\n", mark, r.name, r.kind, r.descr)
	}
	tw.Flush()
	if len(f.Settings.Default) == 0 {
		fmt.Fprintln(a.stdout, "No settings.default: a command that names no step takes every step.")
	}
}
