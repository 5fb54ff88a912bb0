package main

// How a command line becomes a command: the command's name is the first
// word that is not a flag or a flag's value, and the flags may come before
// it, after it, or among the step names (bottle apply bin --yes); "--" ends
// the flags. The standard flag package stops at the first word that is not
// a flag, so bottle finds the flags itself and hands them to the command's
// FlagSet in one piece.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/bottle-build/bottle/config"
	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
)

// commandLine is a command line split for one command: the commands named
// (root first), its flags as written, and the other words.
type commandLine struct {
	path  []*ffcli.Command
	flags []string
	args  []string
	help  bool // -h, -help or --help, where the command defines no such flag
}

func (cl *commandLine) cmd() *ffcli.Command { return cl.path[len(cl.path)-1] }

// name is the command as typed: "bottle cache prune".
func (cl *commandLine) name() string {
	var names []string
	for _, c := range cl.path {
		names = append(names, c.Name)
	}
	return strings.Join(names, " ")
}

// splitLine walks args from root: the first word that is not a flag names a
// subcommand while the command has them; the rest are its flags and args.
func splitLine(root *ffcli.Command, args []string) (*commandLine, error) {
	cl := &commandLine{path: []*ffcli.Command{root}}
	words := args
	for {
		c := cl.cmd()
		if len(c.Subcommands) == 0 {
			break
		}
		i, err := firstArg(c, words)
		if err != nil {
			return nil, err
		}
		if i < 0 {
			break
		}
		sub := subcommand(c, words[i])
		if sub == nil {
			break
		}
		cl.path = append(cl.path, sub)
		words = append(slices.Clone(words[:i]), words[i+1:]...)
	}
	c := cl.cmd()
	ended := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		if ended || !isFlag(w) {
			cl.args = append(cl.args, w)
			continue
		}
		if w == "--" {
			ended = true
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		f := c.FlagSet.Lookup(name)
		if f == nil {
			if name == "h" || name == "help" {
				cl.help = true
				continue
			}
			return nil, unknownFlag(cl, w, name)
		}
		cl.flags = append(cl.flags, w)
		if !hasValue && !isBoolFlag(f) && i+1 < len(words) {
			i++
			cl.flags = append(cl.flags, words[i])
		}
	}
	return cl, nil
}

// firstArg returns the index of the first word of words that is neither a
// flag nor a flag's value, or -1. A flag that c does not define may be one
// of its subcommands' (bottle --yes apply): their definitions say whether
// it takes a value.
func firstArg(c *ffcli.Command, words []string) (int, error) {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			if i+1 < len(words) {
				return i + 1, nil
			}
			return -1, nil
		}
		if !isFlag(w) {
			return i, nil
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		f := lookupDeep(c, name)
		if f != nil && !hasValue && !isBoolFlag(f) {
			i++
		}
	}
	return -1, nil
}

func lookupDeep(c *ffcli.Command, name string) *flag.Flag {
	if c.FlagSet != nil {
		if f := c.FlagSet.Lookup(name); f != nil {
			return f
		}
	}
	for _, s := range c.Subcommands {
		if f := lookupDeep(s, name); f != nil {
			return f
		}
	}
	return nil
}

func subcommand(c *ffcli.Command, name string) *ffcli.Command {
	for _, s := range c.Subcommands {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func isFlag(w string) bool { return len(w) > 1 && w[0] == '-' }

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// unknownFlag is the error for a flag the command does not define, with the
// closest one it does.
func unknownFlag(cl *commandLine, typed, name string) error {
	var names []string
	cl.cmd().FlagSet.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	hint := ""
	if best, ok := config.Closest(name, names); ok {
		hint = fmt.Sprintf(" (did you mean %s?)", dashed(best))
	}
	return usageErr("unknown flag %s%s: see '%s --help'", typed, hint, cl.name())
}

// dashed writes a flag's name as the help shows it: -v, --yes.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// unknownCommand is the error for a word that names no command of c.
func unknownCommand(cl *commandLine, word string) error {
	var names []string
	for _, s := range cl.cmd().Subcommands {
		names = append(names, s.Name)
	}
	what := "command"
	if len(cl.path) > 1 {
		what = strings.TrimPrefix(cl.name(), "bottle ") + " command" // "cache command"
	}
	return usageErr("unknown %s %q%s: see '%s --help'", what, word, config.Suggest(word, names), cl.name())
}

// parseFlags sets the command's flags from the line, then from BOTTLE_
// variables, then from the operator's config file, in that order of
// precedence, and checks the global ones.
func (a *app) parseFlags(cl *commandLine, user *userConfig) error {
	c := cl.cmd()
	fs := c.FlagSet
	fs.SetOutput(io.Discard) // errors are returned, and printed once by Main
	opts := c.Options
	if opts == nil {
		opts = ffOptions
	}
	if err := ff.Parse(fs, cl.flags, opts...); err != nil {
		return usageErr("%s: see '%s --help'", strings.TrimPrefix(err.Error(), "error parsing commandline arguments: "), cl.name())
	}
	if err := user.apply(fs); err != nil {
		return err
	}
	return a.checkGlobals()
}

// followAlias reads -f after the word logs as --follow, as tail -f, docker
// logs -f and kubectl logs -f do. Before the command, -f is the config
// file, as for every command: bottle -f sub/bottle.toml logs -f test.
func followAlias(root *ffcli.Command, args []string) []string {
	i, err := firstArg(root, args)
	if err != nil || i < 0 || args[i] != "logs" {
		return args
	}
	out := slices.Clone(args)
	for j := i + 1; j < len(out) && out[j] != "--"; j++ {
		if out[j] == "-f" || out[j] == "--f" {
			out[j] = "--follow"
		}
	}
	return out
}

// dispatch runs the command args name; help goes to standard output.
func (a *app) dispatch(ctx context.Context, root *ffcli.Command, args []string, user *userConfig) error {
	cl, err := splitLine(root, followAlias(root, args))
	if err != nil {
		return err
	}
	if cl.help {
		a.printHelp(cl.cmd())
		return nil
	}
	c := cl.cmd()
	if len(c.Subcommands) > 0 && len(cl.args) > 0 {
		return unknownCommand(cl, cl.args[0])
	}
	if err := a.parseFlags(cl, user); err != nil {
		return err
	}
	if c.Exec == nil {
		a.printHelp(c)
		return nil
	}
	err = c.Exec(ctx, cl.args)
	if errors.Is(err, flag.ErrHelp) {
		a.printHelp(c)
		return nil
	}
	return err
}

// printHelp prints c's help on standard output: asked for, it is the
// command's output (bottle --help | less).
func (a *app) printHelp(c *ffcli.Command) {
	fmt.Fprint(a.stdout, usageFunc(c))
}
