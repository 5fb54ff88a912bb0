package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bottle-build/bottle/graph"
	"github.com/bottle-build/bottle/internal/mask"
)

// printSecretNotes warns, below a plan, of each step that may run and names
// a secret apply could not give it: the step will fail, by itself, and the
// operator learns it before confirming. The plan itself does not fail.
func printSecretNotes(w io.Writer, plan *graph.Plan) {
	for _, sp := range plan.Steps {
		switch sp.Status {
		case graph.Run, graph.Replace, graph.Pending:
		default:
			continue
		}
		var unset, short []string
		for _, name := range sp.Node.Step.Secrets {
			v, ok := os.LookupEnv(name)
			switch {
			case !ok:
				unset = append(unset, name)
			case len(v) < mask.MinLen:
				short = append(short, name)
			}
		}
		if len(unset) > 0 {
			fmt.Fprintf(w, "Note: step %s will fail if it runs: %s not set.\n", sp.Node.Name, secretList(unset))
		}
		if len(short) > 0 {
			fmt.Fprintf(w, "Note: step %s will fail if it runs: %s shorter than %d bytes.\n", sp.Node.Name, secretList(short), mask.MinLen)
		}
	}
}

func secretList(names []string) string {
	if len(names) == 1 {
		return "secret " + names[0] + " is"
	}
	return "secrets " + strings.Join(names, ", ") + " are"
}
