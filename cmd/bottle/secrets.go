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
	for _, n := range secretNotes(plan) {
		fmt.Fprintf(w, "Note: %s\n", n.msg)
	}
}

// secretNotes in the event stream are warnings about their step.
func (e *events) secretNotes(plan *graph.Plan) {
	for _, n := range secretNotes(plan) {
		e.diagnostic("warning", n.step, n.msg)
	}
}

type secretNote struct{ step, msg string }

func secretNotes(plan *graph.Plan) []secretNote {
	var notes []secretNote
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
			notes = append(notes, secretNote{sp.Node.Name, fmt.Sprintf("step %s will fail if it runs: %s not set.", sp.Node.Name, secretList(unset))})
		}
		if len(short) > 0 {
			notes = append(notes, secretNote{sp.Node.Name, fmt.Sprintf("step %s will fail if it runs: %s shorter than %d bytes.", sp.Node.Name, secretList(short), mask.MinLen)})
		}
	}
	return notes
}

func secretList(names []string) string {
	if len(names) == 1 {
		return "secret " + names[0] + " is"
	}
	return "secrets " + strings.Join(names, ", ") + " are"
}
