package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/bottle-build/bottle/config"
	"github.com/bottle-build/bottle/kinds"
)

// runMain runs bottle in-process with no user config file, and returns its
// exit status and streams.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSplitLine(t *testing.T) {
	root := newApp(nil, nil, nil, nil).commands()
	tests := []struct {
		args        []string
		cmd         string
		flags, rest string
		help        bool
		err         string
	}{
		{args: []string{"apply", "bin", "--yes"}, cmd: "bottle apply", flags: "--yes", rest: "bin"},
		{args: []string{"apply", "--yes", "bin"}, cmd: "bottle apply", flags: "--yes", rest: "bin"},
		{args: []string{"--yes", "apply", "bin"}, cmd: "bottle apply", flags: "--yes", rest: "bin"},
		{args: []string{"-C", "ws", "apply", "-j", "2", "bin", "test"}, cmd: "bottle apply", flags: "-C ws -j 2", rest: "bin test"},
		{args: []string{"apply", "--", "--yes"}, cmd: "bottle apply", rest: "--yes"},
		{args: []string{"-C", "plan", "plan"}, cmd: "bottle plan", flags: "-C plan"},
		{args: []string{"cache", "-v", "prune", "--max-size=1GB"}, cmd: "bottle cache prune", flags: "-v --max-size=1GB"},
		{args: []string{"apply", "bin", "-h"}, cmd: "bottle apply", rest: "bin", help: true},
		{args: []string{"--help"}, cmd: "bottle", help: true},
		{args: []string{"frob"}, cmd: "bottle", rest: "frob"},
		{args: []string{"apply", "--yse"}, err: "unknown flag --yse (did you mean --yes?): see 'bottle apply --help'"},
		{args: []string{"plan", "-vv"}, err: "unknown flag -vv (did you mean -v?): see 'bottle plan --help'"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cl, err := splitLine(root, tt.args)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cl.name(); got != tt.cmd {
				t.Errorf("command = %q, want %q", got, tt.cmd)
			}
			if got := strings.Join(cl.flags, " "); got != tt.flags {
				t.Errorf("flags = %q, want %q", got, tt.flags)
			}
			if got := strings.Join(cl.args, " "); got != tt.rest {
				t.Errorf("args = %q, want %q", got, tt.rest)
			}
			if cl.help != tt.help {
				t.Errorf("help = %v, want %v", cl.help, tt.help)
			}
		})
	}
}

func TestHelpAndErrorsStreams(t *testing.T) {
	tests := []struct {
		args      []string
		code      int
		out, errs string // substrings; "" means the stream must be empty
	}{
		{nil, 0, "USAGE\n  bottle [global flags]", ""},
		{[]string{"--help"}, 0, "COMMANDS", ""},
		{[]string{"-h"}, 0, "COMMANDS", ""},
		{[]string{"help"}, 0, "COMMANDS", ""},
		{[]string{"help", "apply"}, 0, "bottle apply [flags]", ""},
		{[]string{"help", "cache", "prune"}, 0, "--max-size", ""},
		{[]string{"apply", "--help"}, 0, "--keep-going", ""},
		{[]string{"cache", "prune", "-h"}, 0, "--max-size", ""},
		{[]string{"--version"}, 0, "key schema", ""},
		{[]string{"version"}, 0, "key schema", ""},
		{[]string{"aply"}, 1, "", `unknown command "aply" (did you mean "apply"?)`},
		{[]string{"help", "aply"}, 1, "", `unknown command "aply" (did you mean "apply"?)`},
		{[]string{"cache", "prnue"}, 1, "", `unknown cache command "prnue" (did you mean "prune"?): see 'bottle cache --help'`},
		{[]string{"apply", "--yse"}, 1, "", "did you mean --yes?"},
		{[]string{"plan", "-j", "2"}, 1, "", "unknown flag -j"},
		{[]string{"apply", "-j", "x"}, 1, "", `invalid value "x" for flag -j`},
		{[]string{"--color", "sometimes", "list"}, 1, "", "--color must be auto, always or never"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runMain(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errs)
			}
			for _, c := range []struct{ name, got, want string }{{"stdout", out, tt.out}, {"stderr", errs, tt.errs}} {
				if c.want == "" && c.got != "" {
					t.Errorf("%s = %q, want it empty", c.name, c.got)
				}
				if !strings.Contains(c.got, c.want) {
					t.Errorf("%s = %q, want it to hold %q", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestHelpHidesComplete(t *testing.T) {
	_, out, _ := runMain(t, "--help")
	if strings.Contains(out, completeName) {
		t.Errorf("help lists the hidden %s:\n%s", completeName, out)
	}
	for _, c := range []string{"init", "clean", "completion", "help", "list"} {
		if !strings.Contains(out, "\n  "+c+" ") {
			t.Errorf("help does not list %s", c)
		}
	}
}

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		name, linked string
		bi           *debug.BuildInfo
		want         []string
		not          []string
	}{
		{"module and commit", "", bi, []string{"bottle v1.2.3 (go", "commit 0123456789abcdef0123456789abcdef01234567 (2026-01-02T03:04:05Z), with changes not committed\n"}, nil},
		{"linked wins", "v9.9.9", bi, []string{"bottle v9.9.9 ("}, nil},
		{"clean checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: bi.Settings[:1]}, []string{"bottle devel (", "commit 0123456789abcdef0123456789abcdef01234567\n"}, []string{"changes"}},
		{"no build info", "", nil, []string{"bottle devel ("}, []string{"commit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := versionText(tt.linked, tt.bi)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got %q, want it to hold %q", got, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("got %q, want no %q", got, w)
				}
			}
		})
	}
}

func TestUserConfig(t *testing.T) {
	tests := []struct {
		name, src, err string
		args           []string // flags given on the line
		env            map[string]string
		want           map[string]string // flag values after apply
	}{
		{name: "yes", src: "yes = true\n", want: map[string]string{"yes": "true", "color": "auto"}},
		{name: "flag wins", src: "yes = true\ncolor = \"never\"\n", args: []string{"--yes=false", "--color=always"}, want: map[string]string{"yes": "false", "color": "always"}},
		{name: "env wins", src: "color = \"never\"\n", env: map[string]string{"BOTTLE_COLOR": "always"}, want: map[string]string{"color": "always"}},
		{name: "no file", src: "", want: map[string]string{"yes": "false", "progress": "auto"}},
		{name: "unknown key", src: "ys = true\n", err: `unknown key "ys" (did you mean "yes"?) (keys: yes, color, progress)`},
		{name: "bad color", src: "color = \"sometimes\"\n", err: `color must be auto, always or never, not "sometimes"`},
		{name: "bad toml", src: "yes = \n", err: "config.toml:1:"},
		{name: "bad type", src: "yes = \"y\"\n", err: "config.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if tt.src != "" {
				if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			uc, err := loadUserConfig(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}, nil)
			root := a.commands()
			cl, err := splitLine(root, append([]string{"apply"}, tt.args...))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.parseFlags(cl, uc); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				if got := cl.cmd().FlagSet.Lookup(name).Value.String(); got != want {
					t.Errorf("--%s = %s, want %s", name, got, want)
				}
			}
		})
	}
}

func TestUserConfigPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/x")
	if got := userConfigPath(); got != "/x/bottle/config.toml" {
		t.Errorf("with XDG_CONFIG_HOME: %s", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := userConfigPath(); got != "/home/u/.config/bottle/config.toml" {
		t.Errorf("without XDG_CONFIG_HOME: %s", got)
	}
}

// The file init writes loads and plans cleanly for each kind of folder it
// recognises.
func TestInitWritesAConfigThatPlans(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		steps []string
	}{
		{"go module with main", map[string]string{"go.mod": "module example.com/tool\n\ngo 1.22\n", "main.go": "// A tool.\npackage main\n\nfunc main() {}\n"}, []string{"vet", "build", "test"}},
		{"go library", map[string]string{"go.mod": "module example.com/lib\n", "go.sum": "", "lib.go": "package lib\n"}, []string{"vet", "build", "test"}},
		{"dockerfile", map[string]string{"Dockerfile": "FROM scratch\n"}, []string{"image"}},
		{"go and docker", map[string]string{"go.mod": "module m\n", "Dockerfile": "FROM scratch\n"}, []string{"vet", "build", "test", "image"}},
		{"nothing known", map[string]string{"notes.txt": "hi\n"}, []string{"hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "My_Project")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, src := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("BOTTLE_CACHE_DIR", t.TempDir())
			text, steps := starterConfig(dir)
			if strings.Join(steps, " ") != strings.Join(tt.steps, " ") {
				t.Errorf("steps = %v, want %v", steps, tt.steps)
			}
			infos := map[string]config.KindInfo{}
			for n, k := range kinds.Descriptions() {
				infos[n] = k
			}
			f, err := config.Parse("bottle.toml", []byte(text), infos)
			if err != nil {
				t.Fatalf("the starter config does not parse: %v\n%s", err, text)
			}
			if len(f.Steps) != len(tt.steps) {
				t.Errorf("parsed %d steps, want %d", len(f.Steps), len(tt.steps))
			}
			code, out, errs := runMain(t, "-C", dir, "init")
			if code != 0 {
				t.Fatalf("init: exit %d: %s", code, errs)
			}
			if !strings.Contains(out, "Wrote bottle.toml") {
				t.Errorf("init said %q", out)
			}
			code, out, errs = runMain(t, "-C", dir, "plan")
			if code != 0 || errs != "" {
				t.Fatalf("plan of the starter config: exit %d\nstdout: %s\nstderr: %s\n%s", code, out, errs, text)
			}
			if !strings.Contains(out, "Plan: ") {
				t.Errorf("plan printed %q", out)
			}
			// A second init refuses, and leaves the file as it was.
			code, _, errs = runMain(t, "-C", dir, "init")
			if code != 1 || !strings.Contains(errs, "bottle.toml already exists") {
				t.Errorf("second init: exit %d, %q", code, errs)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "bottle.toml")); string(b) != text {
				t.Errorf("the second init changed the file")
			}
		})
	}
}

func TestComplete(t *testing.T) {
	dir := t.TempDir()
	cfg := `[steps.gen]
kind = "exec"
run = "true"
[steps.cross]
kind = "exec"
matrix = { goarch = ["amd64", "arm64"] }
run = "true"
[steps.ci]
kind = "group"
needs = ["gen"]
`
	if err := os.WriteFile(filepath.Join(dir, "bottle.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		words []string
		want  string
	}{
		{[]string{""}, "plan apply explain graph list logs clean cache watch init completion version help"},
		{[]string{"ap"}, "apply"},
		{[]string{"-C", dir, "apply", "--ye"}, "--yes"},
		{[]string{"-C", dir, "apply", ""}, "ci cross cross[amd64] cross[arm64] gen"},
		{[]string{"-C", dir, "apply", "gen", "cr"}, "cross cross[amd64] cross[arm64]"},
		{[]string{"-C", dir, "apply", "'cross["}, "cross[amd64] cross[arm64]"},
		{[]string{"-C", dir, "explain", ""}, "cross[amd64] cross[arm64] gen"},
		{[]string{"-C", dir, "explain", "gen", ""}, ""},
		{[]string{"-C", dir, "apply", "--replace", "g"}, "gen"},
		{[]string{"--color", ""}, "auto always never"},
		{[]string{"graph", "--format", "m"}, "mermaid"},
		{[]string{"cache", ""}, "stats prune verify push pull warm"},
		{[]string{"-C", dir, "cache", "warm", "g"}, "gen"},
		{[]string{"completion", ""}, "bash zsh fish"},
		{[]string{"help", "c"}, "clean cache completion"},
		{[]string{"-C", ""}, ""},
		{[]string{"-C", dir, "list", ""}, ""},
		{[]string{"-C", filepath.Join(dir, "none"), "plan", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.words, " "), func(t *testing.T) {
			code, out, errs := runMain(t, append([]string{completeName}, tt.words...)...)
			if code != 0 || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			if got := strings.Join(strings.Fields(out), " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// After the word logs, -f is --follow; before it, the config file.
func TestFollowAlias(t *testing.T) {
	root := newApp(nil, nil, nil, nil).commands()
	tests := []struct{ in, want string }{
		{"logs -f test", "logs --follow test"},
		{"logs test -f", "logs test --follow"},
		{"-f sub/bottle.toml logs -f test", "-f sub/bottle.toml logs --follow test"},
		{"-f sub/bottle.toml logs test", "-f sub/bottle.toml logs test"},
		{"plan -f x.toml", "plan -f x.toml"},
		{"logs -- -f", "logs -- -f"},
	}
	for _, tt := range tests {
		if got := strings.Join(followAlias(root, strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("followAlias(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
