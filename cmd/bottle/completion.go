package main

// Shell completion. Each shell's script asks bottle itself what may come
// next ('bottle __complete WORD...', hidden), so commands, flags and the
// steps of the workspace at hand are completed by the code that parses
// them, and a script never falls behind the binary.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/kinds"
	"github.com/bottle-build/bottle/workspace"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) completionCmd() *ffcli.Command {
	return &ffcli.Command{
		Name:       "completion",
		ShortUsage: "bottle completion bash|zsh|fish",
		ShortHelp:  "print a shell completion script (commands, flags, step names)",
		LongHelp: strings.TrimSpace(`
Completion prints the script that makes the shell complete bottle's
commands, flags and the step names of the workspace in use (-C and -f on
the line are honoured). The script asks bottle for the words each time, so
new steps complete at once. The instances of a matrix step are completed
quoted (cross\[linux\,amd64\]), since shells take brackets for a glob.

EXAMPLES
  source <(bottle completion bash)                  in ~/.bashrc
  bottle completion zsh > "${fpath[1]}/_bottle"     then restart zsh
  bottle completion fish > ~/.config/fish/completions/bottle.fish`),
		FlagSet: a.flagSet("completion"),
		Options: ffOptions,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usageErr("completion takes one shell: bash, zsh or fish")
			}
			script, ok := completionScripts[args[0]]
			if !ok {
				return usageErr("no completion for the shell %q%s: bash, zsh or fish", args[0], config.Suggest(args[0], []string{"bash", "zsh", "fish"}))
			}
			fmt.Fprint(a.stdout, script)
			return nil
		},
	}
}

// completeCmd is the hidden 'bottle __complete WORD...': the words after
// bottle up to the one being completed (last, maybe empty); it prints the
// candidates for that word, one a line. It prints nothing on an error: a
// shell completing must never show one.
// Its words are not its flags: dispatch hands them over as they are.
func (a *app) completeCmd(root *ffcli.Command) *ffcli.Command {
	return &ffcli.Command{
		Name:    completeName,
		FlagSet: flag.NewFlagSet(completeName, flag.ContinueOnError),
		Exec: func(ctx context.Context, args []string) error {
			for _, c := range a.complete(root, args) {
				fmt.Fprintln(a.stdout, c)
			}
			return nil
		},
	}
}

const completeName = "__complete"

// stepCommands take step names as arguments.
var stepCommands = map[string]bool{"plan": true, "apply": true, "explain": true, "graph": true, "logs": true, "clean": true, "push": true, "pull": true, "warm": true}

// takesOneStep commands take one step name.
var takesOneStep = map[string]bool{"explain": true, "logs": true}

// flagValues are the values of the flags that take one of a few.
var flagValues = map[string][]string{
	"color":    {"auto", "always", "never"},
	"progress": {"auto", "tty", "plain"},
	"format":   {"dot", "mermaid", "json"},
}

// complete returns the candidates for the last of words.
func (a *app) complete(root *ffcli.Command, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := strings.TrimLeft(words[len(words)-1], `'"`)
	before := words[:len(words)-1]
	c := root
	var dir, file string
	var args []string
	ended := false
	for i := 0; i < len(before); i++ {
		w := before[i]
		if ended || !isFlag(w) {
			if sub := subcommand(c, w); sub != nil && len(args) == 0 {
				c = sub
			} else {
				args = append(args, w)
			}
			continue
		}
		if w == "--" {
			ended = true
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		f := lookupDeep(c, name)
		if f == nil || isBoolFlag(f) {
			continue
		}
		if !hasValue {
			if i+1 == len(before) {
				// The word being completed is this flag's value.
				return matching(a.flagValue(name, dir, file), cur)
			}
			i++
			value = before[i]
		}
		switch name {
		case "C":
			dir = value
		case "f":
			file = value
		}
	}
	if isFlag(cur) && !ended {
		var names []string
		c.FlagSet.VisitAll(func(f *flag.Flag) { names = append(names, dashed(f.Name)) })
		if c == root {
			names = append(names, "--help")
		}
		return matching(names, cur)
	}
	switch {
	case len(c.Subcommands) > 0 && len(args) == 0:
		var names []string
		for _, s := range c.Subcommands {
			if !strings.HasPrefix(s.Name, "__") {
				names = append(names, s.Name)
			}
		}
		return matching(names, cur)
	case c.Name == "help":
		var names []string
		for _, s := range root.Subcommands {
			if !strings.HasPrefix(s.Name, "__") && len(args) == 0 {
				names = append(names, s.Name)
			}
		}
		return matching(names, cur)
	case c.Name == "completion" && len(args) == 0:
		return matching([]string{"bash", "zsh", "fish"}, cur)
	case takesOneStep[c.Name] && len(args) == 0:
		return matching(stepNames(dir, file, true), cur)
	case stepCommands[c.Name] && !takesOneStep[c.Name]:
		return matching(stepNames(dir, file, false), cur)
	}
	return nil
}

// flagValue lists the values of the flag name.
func (a *app) flagValue(name, dir, file string) []string {
	if v, ok := flagValues[name]; ok {
		return v
	}
	if name == "replace" {
		return stepNames(dir, file, false)
	}
	return nil // a path, a number: the shell completes files
}

func matching(cands []string, prefix string) []string {
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// stepNames are the steps, matrix steps, instances and groups of the
// config at -C dir / -f file (else BOTTLE_C and BOTTLE_F, else the current
// folder), read from the config alone; none when it cannot be read. With
// one, only the names of single steps (what explain and logs take).
func stepNames(dir, file string, one bool) []string {
	if dir == "" {
		dir = os.Getenv("BOTTLE_C")
	}
	if file == "" {
		file = os.Getenv("BOTTLE_F")
	}
	if dir == "" && file != "" {
		dir = dirOf(file)
	}
	if dir == "" {
		dir = "."
	}
	path := workspace.ConfigPath(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	infos := map[string]config.KindInfo{}
	for n, k := range kinds.Descriptions() {
		infos[n] = k
	}
	// A config with an error still names the steps it could read.
	f, _ := config.Parse(path, data, infos)
	if f == nil {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, s := range f.Steps {
		if s.Matrix != nil && !one {
			add(s.Matrix.Base)
		}
		add(s.Name)
	}
	for _, g := range f.Groups {
		if !one {
			add(g.Name)
		}
	}
	slices.Sort(names)
	return names
}

func dirOf(file string) string {
	if i := strings.LastIndexAny(file, `/`); i >= 0 {
		return file[:i+1]
	}
	return "."
}

var completionScripts = map[string]string{
	"bash": bashCompletion,
	"zsh":  zshCompletion,
	"fish": fishCompletion,
}

// In bash, a candidate with brackets or commas is written with printf %q
// (cross\[linux\,amd64\]) so that the line runs as it reads.
const bashCompletion = `# bash completion for bottle: source <(bottle completion bash)
_bottle() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local IFS=$'\n'
    local c out
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
    COMPREPLY=()
    for c in $out; do
        if [[ $c == *[][,\ ]* ]]; then
            c=$(printf '%q' "$c")
        fi
        COMPREPLY+=("$c")
    done
    [[ ${#COMPREPLY[@]} -gt 0 ]] || compopt -o default 2>/dev/null
    return 0
}
complete -F _bottle bottle
`

// zsh's compadd quotes what it inserts, brackets included.
const zshCompletion = `#compdef bottle
# zsh completion for bottle: bottle completion zsh > "${fpath[1]}/_bottle"
_bottle() {
    local -a cands
    cands=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    cands=(${cands:#})
    if (( ${#cands} )); then
        compadd -- "${cands[@]}"
    else
        _files
    fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _bottle "$@"
else
    compdef _bottle bottle
fi
`

// fish escapes what it inserts, and does not glob brackets.
const fishCompletion = `# fish completion for bottle: bottle completion fish > ~/.config/fish/completions/bottle.fish
function __bottle_complete
    set -l words (commandline -opc)
    set -e words[1]
    bottle __complete $words (commandline -ct) 2>/dev/null
end
complete -c bottle -f -a '(__bottle_complete)'
`
