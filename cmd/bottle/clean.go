package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bottle-build/bottle/graph"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) cleanCmd() *ffcli.Command {
	fs := a.flagSet("clean")
	all := allFlag(fs)
	dryRun := fs.Bool("dry-run", false, "print what would be removed, and remove nothing")
	return &ffcli.Command{
		Name:       "clean",
		ShortUsage: "bottle clean [flags] [STEP...]",
		ShortHelp:  "remove the declared outputs of steps (never the cache)",
		LongHelp: strings.TrimSpace(`
Clean takes the workspace lock and removes the outputs the named steps
declare (a group means its steps, a matrix step its instances), or those of
settings.default, else of every step, when none is named (--all: every
step). Only the steps named: not what they need. It removes nothing else:
not the cache (the next apply restores what clean removed, running nothing),
not an effect such as an image in the Docker engine, and no path under a
folder that is a symbolic link. It prints each path it removed.

EXAMPLES
  bottle clean               the outputs of settings.default, else of every step
  bottle clean bin           bin's outputs
  bottle clean --dry-run     what would go`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			root, err := a.workspaceDir()
			if err != nil {
				return err
			}
			lock, err := a.lockWorkspace(ctx, root, "bottle clean")
			if err != nil {
				return err
			}
			defer lock.Release()
			ws, err := a.openWorkspaceFor(openNoPlanning)
			if err != nil {
				return err
			}
			defer ws.state.Close()
			names, err := targets(ws.g, args, *all)
			if err != nil {
				return err
			}
			nodes, err := cleanNodes(ws.g, names)
			if err != nil {
				return err
			}
			return a.clean(root, nodes, *dryRun)
		},
	}
}

// cleanNodes are the steps names stand for; no name means every step.
func cleanNodes(g *graph.Graph, names []string) ([]*graph.Node, error) {
	if len(names) == 0 {
		return g.Nodes, nil
	}
	for _, n := range names {
		if _, err := g.Config.Select(n); err != nil {
			return nil, usageErr("%v", g.NoStep(n))
		}
	}
	var nodes []*graph.Node
	for _, n := range g.ExpandGroups(names) {
		if node := g.Node(n); node != nil {
			nodes = append(nodes, node)
		}
	}
	return nodes, nil
}

// clean removes the declared outputs of nodes under root that exist.
func (a *app) clean(root string, nodes []*graph.Node, dryRun bool) error {
	verb := "removed"
	if dryRun {
		verb = "would remove"
	}
	count := 0
	var errs []error
	for _, n := range nodes {
		for _, o := range n.Outputs {
			p := filepath.Join(root, filepath.FromSlash(o))
			if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
				continue
			} else if err != nil {
				errs = append(errs, err)
				continue
			}
			if link := linkedParent(root, o); link != "" {
				fmt.Fprintf(a.stderr, "bottle: warning: kept %s (step %s): %s is a symbolic link, and clean removes nothing outside the workspace\n", o, n.Name, link)
				continue
			}
			if !dryRun {
				if err := os.RemoveAll(p); err != nil {
					errs = append(errs, fmt.Errorf("removing %s of step %s: %w", o, n.Name, err))
					continue
				}
			}
			count++
			fmt.Fprintf(a.stdout, "%s %s (step %s)\n", verb, o, n.Name)
		}
	}
	switch {
	case count == 0 && len(errs) == 0:
		fmt.Fprintln(a.stdout, "Nothing to remove: no declared output exists.")
	case dryRun:
		fmt.Fprintf(a.stdout, "Would remove %d %s; the cache keeps every result.\n", count, plural(count, "path", "paths"))
	default:
		fmt.Fprintf(a.stdout, "Removed %d %s; the cache keeps every result (the next apply restores them).\n", count, plural(count, "path", "paths"))
	}
	return errors.Join(errs...)
}

// linkedParent returns the first folder above the output o (workspace-
// relative, slash-separated) that is a symbolic link, or "": removing
// through it would remove something outside the declared path.
func linkedParent(root, o string) string {
	parts := strings.Split(o, "/")
	for i := 1; i < len(parts); i++ {
		rel := strings.Join(parts[:i], "/")
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(rel)))
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return rel
		}
	}
	return ""
}
