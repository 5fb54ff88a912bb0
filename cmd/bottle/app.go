package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/sys/unix"
)

// app holds what every command shares: the standard streams and the global
// options (SPEC §9), each also a BOTTLE_ variable.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	hurry          <-chan struct{}

	dir, file, cacheDir string
	color, progress     string
	verbose             bool
	fsmonitor           string // --fsmonitor: "watchman", "off", "none" or "" (settings.fsmonitor decides)

	remoteCache                        string
	remoteWrite, remoteStrict, offline bool

	vars varFlag // --var NAME=VALUE overrides

	events *events // apply --json: the event stream (events.go); nil otherwise
	// messages, during a run, is where warnings go: above the live view
	// (progress.Messages) rather than through it; nil means stderr.
	messages io.Writer
}

// varFlag collects repeated --var NAME=VALUE flags.
type varFlag map[string]string

func (v *varFlag) String() string { return "" }

func (v *varFlag) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, not %q", s)
	}
	if *v == nil {
		*v = varFlag{}
	}
	(*v)[name] = val
	return nil
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, hurry <-chan struct{}) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, hurry: hurry}
}

// globalFlags registers the global options on fs. Every command repeats
// them, so they work before and after the command name.
func (a *app) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&a.dir, "C", a.dir, "run as if started in `DIR` (the workspace)")
	fs.StringVar(&a.file, "f", a.file, "the config `FILE` (default DIR/bottle.toml); without -C, the folder holding FILE is the workspace")
	fs.StringVar(&a.cacheDir, "cache-dir", a.cacheDir, "the cache `DIR` (default: settings.cache_dir, $XDG_CACHE_HOME/bottle, ~/.cache/bottle)")
	fs.StringVar(&a.color, "color", orDefault(a.color, "auto"), "colour output: auto, always or never")
	fs.StringVar(&a.progress, "progress", orDefault(a.progress, "auto"), "progress display: auto, tty or plain")
	fs.BoolVar(&a.verbose, "v", a.verbose, "verbose: list up-to-date steps, report every step")
	fs.StringVar(&a.remoteCache, "remote-cache", a.remoteCache, "also read results from the OCI registry `oci://HOST[:PORT]/REPO` (default: settings.remote_cache)")
	fs.BoolVar(&a.remoteWrite, "remote-cache-write", a.remoteWrite, "also upload the results of steps that ran to the remote cache (CI)")
	fs.BoolVar(&a.remoteStrict, "remote-cache-strict", a.remoteStrict, "fail when the remote cache cannot be used, instead of warning and running locally")
	fs.BoolVar(&a.offline, "offline", a.offline, "use no remote cache, whatever the flags and settings say")
	fs.StringVar(&a.fsmonitor, "fsmonitor", a.fsmonitor, "ask the file watcher `NAME` what changed instead of looking at every input: watchman, or off (default: settings.fsmonitor)")
	fs.Var(&a.vars, "var", "set the var `NAME=VALUE` for this plan or apply, instead of its [vars] value (repeatable)")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (a *app) flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	a.globalFlags(fs)
	return fs
}

var ffOptions = []ff.Option{ff.WithEnvVarPrefix("BOTTLE")}

func (a *app) run(ctx context.Context, args []string) error {
	root := a.commands()
	if len(args) > 0 && args[0] == completeName {
		return subcommand(root, completeName).Exec(ctx, args[1:])
	}
	user, err := loadUserConfig(userConfigPath())
	if err != nil {
		return err
	}
	return a.dispatch(ctx, root, args, user)
}

// commands is bottle's command tree.
func (a *app) commands() *ffcli.Command {
	rootFS := a.flagSet("bottle")
	showVersion := rootFS.Bool("version", false, "print bottle's version and exit")
	root := &ffcli.Command{
		Name:       "bottle",
		ShortUsage: "bottle [global flags] <command> [flags] [args]",
		LongHelp:   strings.TrimSpace(manual),
		FlagSet:    rootFS,
		Options:    ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if *showVersion {
				a.printVersion()
				return nil
			}
			return flag.ErrHelp
		},
	}
	root.Subcommands = []*ffcli.Command{
		a.planCmd(), a.applyCmd(), a.explainCmd(), a.graphCmd(), a.listCmd(), a.logsCmd(), a.cleanCmd(), a.cacheCmd(),
		a.watchCmd(), a.initCmd(), a.completionCmd(), a.versionCmd(), a.helpCmd(root), a.completeCmd(root),
	}
	root.UsageFunc = usageFunc
	for _, c := range root.Subcommands {
		c.UsageFunc = usageFunc
		for _, s := range c.Subcommands {
			s.UsageFunc = usageFunc
		}
	}
	return root
}

// helpCmd is 'bottle help [COMMAND...]'.
func (a *app) helpCmd(root *ffcli.Command) *ffcli.Command {
	return &ffcli.Command{
		Name:       "help",
		ShortUsage: "bottle help [COMMAND...]",
		ShortHelp:  "print the help of bottle or of a command",
		LongHelp: strings.TrimSpace(`
Help prints bottle's help, or a command's: 'bottle help apply' is
'bottle apply --help'. Help goes to standard output.

EXAMPLES
  bottle help
  bottle help cache prune`),
		FlagSet: a.flagSet("help"),
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			cl := &commandLine{path: []*ffcli.Command{root}}
			for _, w := range args {
				sub := subcommand(cl.cmd(), w)
				if sub == nil {
					return unknownCommand(cl, w)
				}
				cl.path = append(cl.path, sub)
			}
			a.printHelp(cl.cmd())
			return nil
		},
	}
}

func (a *app) checkGlobals() error {
	switch a.color {
	case "auto", "always", "never":
	default:
		return usageErr("--color must be auto, always or never, not %q", a.color)
	}
	switch a.progress {
	case "auto", "tty", "plain":
	default:
		return usageErr("--progress must be auto, tty or plain, not %q", a.progress)
	}
	return nil
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(file.Fd()), ioctlGetTermios)
	return err == nil
}

// useColor says whether to colour what goes to standard error.
func (a *app) useColor() bool { return a.colorOn(a.stderr) }

// colorOn says whether to colour what goes to w: --color=always colours
// whatever w is (a pipe to less -R); auto colours a terminal unless NO_COLOR
// is set and not empty (no-color.org) or TERM is dumb.
func (a *app) colorOn(w io.Writer) bool {
	switch a.color {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(w) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

func (a *app) useTTYProgress() bool {
	switch a.progress {
	case "tty":
		return true
	case "plain":
		return false
	}
	return isTerminal(a.stderr) && os.Getenv("TERM") != "dumb" && !inCI(os.Getenv)
}

// workspaceDir is the workspace folder: -C, else the current folder.
// workspaceDir is the workspace: -C DIR, else the folder holding -f FILE,
// else the current folder.
func (a *app) workspaceDir() (string, error) {
	d := a.dir
	if d == "" && a.file != "" {
		d = filepath.Dir(a.file)
	}
	if d == "" {
		d = "."
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", usageErr("workspace %s: %v", d, err)
	}
	if !fi.IsDir() {
		return "", usageErr("workspace %s is not a folder", d)
	}
	return abs, nil
}
