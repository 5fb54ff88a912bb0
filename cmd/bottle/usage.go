package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"
)

var globalNames = map[string]bool{"C": true, "f": true, "cache-dir": true, "color": true, "progress": true, "v": true,
	"remote-cache": true, "remote-cache-write": true, "remote-cache-strict": true, "offline": true, "fsmonitor": true}

// usageFunc prints a command's help: usage, description, its own flags,
// then the global flags, subcommands and an example.
func usageFunc(c *ffcli.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "USAGE\n  %s\n\n", c.ShortUsage)
	if c.LongHelp != "" {
		fmt.Fprintf(&b, "%s\n\n", c.LongHelp)
	} else if c.ShortHelp != "" {
		fmt.Fprintf(&b, "%s\n\n", c.ShortHelp)
	}
	if len(c.Subcommands) > 0 {
		b.WriteString("COMMANDS\n")
		tw := tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
		for _, s := range c.Subcommands {
			if strings.HasPrefix(s.Name, "__") {
				continue // hidden: for the completion scripts
			}
			fmt.Fprintf(tw, "  %s\t%s\n", s.Name, s.ShortHelp)
		}
		tw.Flush()
		b.WriteString("\n")
	}
	own, global := flagLines(c.FlagSet)
	if own != "" {
		fmt.Fprintf(&b, "FLAGS\n%s\n", own)
	}
	if global != "" {
		fmt.Fprintf(&b, "GLOBAL FLAGS (also BOTTLE_<NAME> variables, e.g. BOTTLE_CACHE_DIR)\n%s", global)
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func flagLines(fs *flag.FlagSet) (own, global string) {
	if fs == nil {
		return "", ""
	}
	var o, g strings.Builder
	ot := tabwriter.NewWriter(&o, 0, 2, 2, ' ', 0)
	gt := tabwriter.NewWriter(&g, 0, 2, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		left := dash + f.Name
		if name != "" {
			left += " " + name
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		w := ot
		if globalNames[f.Name] {
			w = gt
		}
		fmt.Fprintf(w, "  %s\t%s%s\n", left, usage, def)
	})
	ot.Flush()
	gt.Flush()
	return o.String(), g.String()
}
