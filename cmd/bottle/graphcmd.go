package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/bottle-build/bottle/graph"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) graphCmd() *ffcli.Command {
	fs := a.flagSet("graph")
	all := allFlag(fs)
	format := fs.String("format", "dot", "output format: dot, mermaid or json")
	return &ffcli.Command{
		Name:       "graph",
		ShortUsage: "bottle graph [flags] [STEP...]",
		ShortHelp:  "print the graph with each step's status",
		LongHelp: strings.TrimSpace(`
Graph prints the steps and their needs (declared, referenced and implied by
inputs another step produces), each with its plan status. Like plan, it runs
nothing.

EXAMPLES
  bottle graph | dot -Tsvg > graph.svg
  bottle graph --format mermaid     paste into Markdown
  bottle graph --format json`),
		FlagSet: fs,
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			switch *format {
			case "dot", "mermaid", "json":
			default:
				return usageErr("--format must be dot, mermaid or json, not %q", *format)
			}
			ws, err := a.openWorkspace()
			if err != nil {
				return err
			}
			plan, err := planTargets(ws.planner(ctx, nil, nil), args, *all)
			if err != nil {
				return err
			}
			if err := ws.saveIndex(); err != nil {
				return err
			}
			switch *format {
			case "dot":
				writeDot(a.stdout, plan)
			case "mermaid":
				writeMermaid(a.stdout, plan)
			default:
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(graphJSON(plan))
			}
			return nil
		},
	}
}

var dotColor = map[graph.Status]string{
	graph.UpToDate: "gray60", graph.Restore: "deepskyblue3", graph.Run: "orange",
	graph.Replace: "red", graph.Pending: "gold3",
}

func writeDot(w io.Writer, plan *graph.Plan) {
	fmt.Fprintln(w, "digraph bottle {")
	fmt.Fprintln(w, "  rankdir=LR;")
	fmt.Fprintln(w, "  node [shape=box, fontname=\"Helvetica\"];")
	for _, sp := range plan.Steps {
		// Step names, kinds and statuses need no escaping; \n is DOT's
		// line break inside a label.
		label := sp.Node.Name + `\n` + sp.Node.Kind.Name() + " · " + string(sp.Status)
		style := ""
		if sp.Node.Effect() != "" {
			style = ", peripheries=2"
		}
		fmt.Fprintf(w, "  %q [label=\"%s\", color=%q%s];\n", sp.Node.Name, label, dotColor[sp.Status], style)
	}
	for _, sp := range plan.Steps {
		for _, d := range sp.Node.Needs {
			attr := ""
			if sp.Node.IsImplicit(d.Name) {
				attr = " [style=dashed]"
			}
			fmt.Fprintf(w, "  %q -> %q%s;\n", d.Name, sp.Node.Name, attr)
		}
	}
	fmt.Fprintln(w, "}")
}

func writeMermaid(w io.Writer, plan *graph.Plan) {
	fmt.Fprintln(w, "flowchart LR")
	id := mermaidID
	for _, sp := range plan.Steps {
		fmt.Fprintf(w, "  %s[\"%s<br/>%s · %s\"]:::%s\n", id(sp.Node.Name), sp.Node.Name, sp.Node.Kind.Name(), sp.Status,
			strings.ReplaceAll(string(sp.Status), "-", "_"))
	}
	for _, sp := range plan.Steps {
		for _, d := range sp.Node.Needs {
			arrow := "-->"
			if sp.Node.IsImplicit(d.Name) {
				arrow = "-.->"
			}
			fmt.Fprintf(w, "  %s %s %s\n", id(d.Name), arrow, id(sp.Node.Name))
		}
	}
	for s, c := range map[string]string{"up_to_date": "#ddd", "restore": "#9cf", "run": "#fc6", "replace": "#f99", "pending": "#ff9"} {
		fmt.Fprintf(w, "  classDef %s fill:%s\n", s, c)
	}
}

// mermaidID is a step's node id: Mermaid ids take letters, digits and _,
// so - stays the _ it always was, and any other byte (the brackets and
// commas of an instance, "cross[arm64,linux]") is spelled out in hex.
func mermaidID(name string) string {
	var b strings.Builder
	b.WriteString("s_")
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '-':
			b.WriteByte('_')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02x_", c)
		}
	}
	return b.String()
}

type graphNode struct {
	Name     string       `json:"name"`
	Kind     string       `json:"kind"`
	Status   graph.Status `json:"status"`
	Reason   string       `json:"reason,omitempty"`
	Effect   string       `json:"effect,omitempty"`
	Needs    []string     `json:"needs"`
	Implicit []string     `json:"implicit_needs,omitempty"`
	Outputs  []string     `json:"outputs,omitempty"`
}

func graphJSON(plan *graph.Plan) any {
	nodes := []graphNode{}
	for _, sp := range plan.Steps {
		n := graphNode{Name: sp.Node.Name, Kind: sp.Node.Kind.Name(), Status: sp.Status, Reason: sp.Reason,
			Effect: sp.Node.Effect(), Needs: []string{}, Outputs: sp.Node.Outputs}
		for _, d := range sp.Node.Needs {
			n.Needs = append(n.Needs, d.Name)
			if sp.Node.IsImplicit(d.Name) {
				n.Implicit = append(n.Implicit, d.Name)
			}
		}
		nodes = append(nodes, n)
	}
	return map[string]any{"format_version": graph.FormatVersion, "steps": nodes}
}
