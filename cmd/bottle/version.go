package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/bottle-build/bottle/graph"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version, else "devel".
var version = ""

func (a *app) versionCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:       "version",
		ShortUsage: "bottle version",
		ShortHelp:  "print bottle's version, its Go version and key schema",
		LongHelp: strings.TrimSpace(`
Version prints bottle's version, the Go version it was built with, the key
schema (keys made by bottles of another schema never match) and the plan
JSON format version.

EXAMPLES
  bottle version`),
		FlagSet: a.flagSet("version"),
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			v := version
			if v == "" {
				v = "devel"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
			}
			fmt.Fprintf(a.stdout, "bottle %s (%s, key schema %d, plan format %d)\n", v, runtime.Version(), graph.KeySchema, graph.FormatVersion)
			return nil
		},
	}
}
