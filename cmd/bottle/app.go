package main

import (
	"context"
	"errors"
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
	rootFS := a.flagSet("bottle")
	root := &ffcli.Command{
		Name:       "bottle",
		ShortUsage: "bottle [global flags] <command> [flags] [args]",
		LongHelp:   strings.TrimSpace(manual),
		FlagSet:    rootFS,
		Options:    ffOptions,
		Subcommands: []*ffcli.Command{
			a.planCmd(), a.applyCmd(), a.explainCmd(), a.graphCmd(), a.listCmd(), a.logsCmd(), a.cacheCmd(), a.versionCmd(),
		},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q: see 'bottle --help'", args[0])
			}
			return flag.ErrHelp
		},
	}
	root.UsageFunc = usageFunc
	for _, c := range root.Subcommands {
		c.UsageFunc = usageFunc
		for _, s := range c.Subcommands {
			s.UsageFunc = usageFunc
		}
	}
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return flag.ErrHelp
		}
		return usageErr("%v", strings.TrimPrefix(err.Error(), "error parsing commandline arguments: "))
	}
	if err := a.checkGlobals(); err != nil {
		return err
	}
	return root.Run(ctx)
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

func (a *app) useColor() bool {
	switch a.color {
	case "always":
		return true
	case "never":
		return false
	}
	return isTerminal(a.stderr) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
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
