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
		ShortHelp:  "print bottle's version, commit, Go version and key schema",
		LongHelp: strings.TrimSpace(`
Version prints bottle's version, the Go version it was built with, the key
schema (keys made by bottles of another schema never match) and the plan
JSON format version; then, when the binary was built from a Git checkout,
the commit, its time, and whether the checkout had changes not committed.
'bottle --version' prints the same.

EXAMPLES
  bottle version`),
		FlagSet: a.flagSet("version"),
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usageErr("version takes no arguments")
			}
			a.printVersion()
			return nil
		},
	}
}

func (a *app) printVersion() {
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(a.stdout, versionText(version, bi))
}

// versionText is what bottle version prints, from the version set at link
// time (or "") and the build information of the binary (or nil).
func versionText(linked string, bi *debug.BuildInfo) string {
	v := linked
	if v == "" {
		v = "devel"
		if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bottle %s (%s, key schema %d, plan format %d)\n", v, runtime.Version(), graph.KeySchema, graph.FormatVersion)
	if bi == nil {
		return b.String()
	}
	s := map[string]string{}
	for _, kv := range bi.Settings {
		s[kv.Key] = kv.Value
	}
	if rev := s["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "commit %s", rev)
		if t := s["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " (%s)", t)
		}
		if s["vcs.modified"] == "true" {
			b.WriteString(", with changes not committed")
		}
		b.WriteString("\n")
	}
	return b.String()
}
