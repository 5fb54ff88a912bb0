package config

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// testValues resolves references for the shell tests: vars are config
// text; env and step values are hostile, as outside values may be.
func testValues(r Ref) ([]string, error) {
	switch {
	case r.Kind == RefVar && r.Name == "flags":
		return []string{"-v -run 'Test A'"}, nil
	case r.Kind == RefVar:
		return []string{"v"}, nil
	case r.Kind == RefEnv && r.Name == "EMPTY":
		return []string{""}, nil
	case r.Kind == RefEnv:
		return []string{"a b$(touch PWNED)`x`\"'\\"}, nil
	case r.Field == "outputs" && r.Name == "none":
		return nil, nil
	case r.Field == "outputs":
		return []string{"out/a b.txt", "out/$(touch PWNED)", "out/it's"}, nil
	}
	return []string{"sha256:1; rm -rf /"}, nil
}

func varText(r Ref) (string, error) {
	items, err := testValues(r)
	return strings.Join(items, " "), err
}

func TestExpandShell(t *testing.T) {
	tests := []struct {
		name, run, want string
	}{
		{"unquoted scalar", "echo ${step.b.image_id}", `echo 'sha256:1; rm -rf /'`},
		{"unquoted list: one word per path", "wc -c ${step.gen.outputs}", `wc -c 'out/a b.txt' 'out/$(touch PWNED)' 'out/it'\''s'`},
		{"empty list: no word", "wc -c ${step.none.outputs} x", `wc -c  x`},
		{"empty env value: one empty word", "test -z ${env.EMPTY}", `test -z ''`},
		{"glued to text", "cp x out/${step.b.image_id}.tar", `cp x out/'sha256:1; rm -rf /'.tar`},
		{"list glued: like \"$@\"", "ls pre${step.gen.outputs}post", `ls pre'out/a b.txt' 'out/$(touch PWNED)' 'out/it'\''s'post`},
		{"env unquoted", "echo ${env.X}", `echo 'a b$(touch PWNED)` + "`x`" + `"'\''\'`},
		{"double quotes", `echo "id=${step.b.image_id}"`, `echo "id=sha256:1; rm -rf /"`},
		{"double quotes escape", `echo "${env.X}"`, `echo "a b\$(touch PWNED)\` + "`x\\`" + `\"'\\"`},
		{"double quotes list: joined", `echo "${step.gen.outputs}"`, `echo "out/a b.txt out/\$(touch PWNED) out/it's"`},
		{"double quotes, empty list", `echo "[${step.none.outputs}]"`, `echo "[]"`},
		{"command substitution", "x=$(cat ${step.gen.outputs})", `x=$(cat 'out/a b.txt' 'out/$(touch PWNED)' 'out/it'\''s')`},
		{"double quotes inside $(...) inside double quotes", `echo "$(echo "${step.b.image_id}")"`, `echo "$(echo "sha256:1; rm -rf /")"`},
		{"unquoted inside $(...) inside double quotes", `echo "$(echo ${step.b.image_id})"`, `echo "$(echo 'sha256:1; rm -rf /')"`},
		{"assignment: one word", "F=${step.gen.outputs}; echo $F", `F='out/a b.txt out/$(touch PWNED) out/it'\''s'; echo $F`},
		{"export assignment: one word", "export F=${step.gen.outputs}", `export F='out/a b.txt out/$(touch PWNED) out/it'\''s'`},
		{"export, not an assignment", "export ${step.b.image_id}", `export 'sha256:1; rm -rf /'`},
		{"for loop", "for f in ${step.gen.outputs}; do wc -c \"$f\"; done", `for f in 'out/a b.txt' 'out/$(touch PWNED)' 'out/it'\''s'; do wc -c "$f"; done`},
		{"redirect target", "echo x > ${step.b.image_id}", `echo x > 'sha256:1; rm -rf /'`},
		{"redirect target, list: one word", "echo x > ${step.gen.outputs}", `echo x > 'out/a b.txt out/$(touch PWNED) out/it'\''s'`},
		{"case word and pattern, list: one word", "case ${step.gen.outputs} in ${step.gen.outputs}) ;; esac", `case 'out/a b.txt out/$(touch PWNED) out/it'\''s' in 'out/a b.txt out/$(touch PWNED) out/it'\''s') ;; esac`},
		{"local assignment: one word", "local F=${step.gen.outputs}", `local F='out/a b.txt out/$(touch PWNED) out/it'\''s'`},
		{"case word", "case ${env.X} in a) ;; esac", `case 'a b$(touch PWNED)` + "`x`" + `"'\''\' in a) ;; esac`},
		{"var spliced as written", "go test ${var.flags} ./...", `go test -v -run 'Test A' ./...`},
		{"var decides the context", "echo ${var.q}${step.b.image_id}", `echo v'sha256:1; rm -rf /'`},
		{"$${ is a literal", "echo $${HOME} ${step.b.image_id}", `echo ${HOME} 'sha256:1; rm -rf /'`},
		{"shell variables are left alone", `echo "$HOME" ${HOME}`, `echo "$HOME" ${HOME}`},
		{"no reference, no parse", "this is not ( shell", "this is not ( shell"},
		{"only vars, no parse", "echo '${var.q}' (", "echo 'v' ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandShell(tt.run, testValues)
			if err != nil {
				t.Fatalf("ExpandShell(%q): %v", tt.run, err)
			}
			if got != tt.want {
				t.Errorf("ExpandShell(%q)\n got %s\nwant %s", tt.run, got, tt.want)
			}
			if err := CheckShell(tt.run, varText); err != nil {
				t.Errorf("CheckShell(%q) = %v, but ExpandShell succeeds", tt.run, err)
			}
		})
	}
}

func TestShellRefused(t *testing.T) {
	tests := []struct {
		name, run, want string
	}{
		{"single quotes", "echo '${step.gen.outputs}'", "${step.gen.outputs} stands inside single quotes"},
		{"single quotes, env", "sh -c 'echo ${env.X}'", `${env.X} stands inside single quotes: its value could be read as shell syntax there; pass it through the environment instead (write "$X": the command's environment holds it)`},
		{"single quotes, step advice", "echo '${step.b.image_id}'", `(e.g. export V="${step.b.image_id}" first, then use "$V")`},
		{"single quotes in double quotes in $(...)", `echo "$(echo '${step.b.image_id}')"`, "inside single quotes"},
		{"dollar single quotes", "echo $'${step.b.image_id}'", "inside single quotes"},
		{"heredoc", "cat <<EOF\n${step.b.image_id}\nEOF\n", "in a here-document"},
		{"quoted heredoc", "cat <<'EOF'\n${step.b.image_id}\nEOF\n", "in a here-document"},
		{"heredoc with command substitution", "cat <<EOF\n$(echo ${step.b.image_id})\nEOF\n", "in a here-document"},
		{"heredoc delimiter", "cat <<${env.X}\nx\n", "not POSIX shell"},
		{"backquotes", "echo `echo ${step.b.image_id}`", "inside backquotes (write $(...) instead)"},
		{"backquotes in double quotes", "echo \"`echo ${step.b.image_id}`\"", "inside backquotes"},
		{"arithmetic", "echo $((${env.X} + 1))", "inside an arithmetic expression"},
		{"parameter default", "echo ${x:-${step.b.image_id}}", "inside a parameter expansion"},
		{"parameter default, quoted", `echo "${x:-${step.b.image_id}}"`, "inside a parameter expansion"},
		{"parameter pattern", "echo ${x#${env.X}}", "inside a parameter expansion"},
		{"comment", "echo hi # ${step.gen.outputs}\n", "in a comment"},
		{"after a backslash", `echo \${step.b.image_id}`, "after a backslash"},
		{"not POSIX shell", "a=(1 2); echo ${step.b.image_id}", "the command is not POSIX shell that bottle can read"},
		{"unterminated quote", `echo "${step.b.image_id}`, "not POSIX shell"},
		{"var opens a single quote", "echo ${var.open}${step.b.image_id}'", "inside single quotes"},
		{"second of two", "echo ${env.X} '${step.b.image_id}'", "${step.b.image_id} stands inside single quotes"},
	}
	vars := func(r Ref) (string, error) {
		if r.Name == "open" {
			return "'", nil
		}
		return varText(r)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckShell(tt.run, vars)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckShell(%q) = %v, want an error saying %q", tt.run, err, tt.want)
			}
			_, err2 := ExpandShell(tt.run, func(r Ref) ([]string, error) {
				if r.Kind == RefVar {
					v, err := vars(r)
					return []string{v}, err
				}
				return testValues(r)
			})
			if err2 == nil || err2.Error() != err.Error() {
				t.Errorf("ExpandShell(%q) = %v, want CheckShell's error", tt.run, err2)
			}
		})
	}
}

// TestShellWordsRoundTrip runs the expanded command with /bin/sh: whatever
// bytes a value holds, unquoted it arrives as exactly one argument per item,
// and inside double quotes as the items joined by spaces; nothing in it runs.
func TestShellWordsRoundTrip(t *testing.T) {
	const sh = "/bin/sh" // what exec steps run
	hostile := []string{
		"a b.txt", "$(touch PWNED)", "`touch PWNED`", "it's", `"`, `\`, `\'`, "'", "''", "a\nb",
		"*", "~", "~root", "-n", "x=y", "#c", ";", "&", "|", "$HOME", "${HOME}", "$((1+1))",
		"if", "!", "{", "}", "\t", " ", "", "\xff\xfe", "é", "a\\\nb", "\\\n",
	}
	dir := t.TempDir()
	for _, v := range hostile {
		for _, tmpl := range []struct{ run, want string }{
			{`printf '[%s]\n' ${step.gen.outputs}`, "[" + v + "]\n[" + v + "]\n"},
			{`printf '[%s]\n' "<${step.gen.outputs}>"`, "[<" + v + " " + v + ">]\n"},
			{`F=${step.gen.outputs}; printf '[%s]\n' "$F"`, "[" + v + " " + v + "]\n"},
			{`printf '[%s]\n' $(printf '%s' ${step.b.f} | wc -c)`, "[" + itoa(len(v)) + "]\n"},
			{`for f in ${step.gen.outputs}; do printf '[%s]\n' "$f"; done`, "[" + v + "]\n[" + v + "]\n"},
			{`case ${step.b.f} in ${step.b.f}) printf '[%s]\n' ${step.b.f};; esac`, "[" + v + "]\n"},
		} {
			cmd, err := ExpandShell(tmpl.run, func(r Ref) ([]string, error) {
				if r.Field == "outputs" {
					return []string{v, v}, nil
				}
				return []string{v}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			c := exec.Command(sh, "-c", cmd)
			c.Dir = dir
			out, err := c.Output()
			if err != nil {
				t.Fatalf("%q with %q: sh -c %q: %v", tmpl.run, v, cmd, err)
			}
			got := string(out)
			if strings.Contains(tmpl.run, "wc -c") {
				got = strings.ReplaceAll(got, " ", "")
			}
			if got != tmpl.want {
				t.Errorf("%q with %q: sh -c %q printed %q, want %q", tmpl.run, v, cmd, got, tmpl.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
		t.Error("a value ran as a command: PWNED exists")
	}
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestExpandArgv(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want []string
	}{
		{"a list alone: one argument per path", []string{"wc", "-c", "${step.gen.outputs}"}, []string{"wc", "-c", "out/a b.txt", "out/$(touch PWNED)", "out/it's"}},
		{"an empty list alone: no argument", []string{"ls", "${step.none.outputs}"}, []string{"ls"}},
		{"a list with text: one argument", []string{"echo", "files=${step.gen.outputs}"}, []string{"echo", "files=out/a b.txt out/$(touch PWNED) out/it's"}},
		{"a scalar: one argument", []string{"echo", "${step.b.image_id}"}, []string{"echo", "sha256:1; rm -rf /"}},
		{"an empty value: one empty argument", []string{"test", "-z", "${env.EMPTY}"}, []string{"test", "-z", ""}},
		{"env with spaces: one argument", []string{"echo", "--tag=${env.X}"}, []string{"echo", "--tag=a b$(touch PWNED)`x`\"'\\"}},
		{"a var alone: one argument, not split", []string{"go", "${var.flags}"}, []string{"go", "-v -run 'Test A'"}},
		{"$${ is a literal", []string{"echo", "$${x}"}, []string{"echo", "${x}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandArgv(tt.argv, testValues)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExpandArgv(%q) = %q, want %q", tt.argv, got, tt.want)
			}
		})
	}
}

type shellSpec struct {
	Run     string            `toml:"run" expand:"shell"`
	Argv    []string          `toml:"argv" expand:"argv"`
	Tags    []string          `toml:"tags"`
	Args    map[string]string `toml:"args"`
	Comment string            `toml:"comment"`
}

func TestExpandSpecShell(t *testing.T) {
	in := &shellSpec{
		Run:     "cat ${step.gen.outputs}",
		Argv:    []string{"wc", "${step.gen.outputs}"},
		Tags:    []string{"app:${env.EMPTY}x"},
		Args:    map[string]string{"A": "${step.gen.outputs}"},
		Comment: "'${step.b.image_id}'",
	}
	out, err := ExpandSpecShell(in, testValues)
	if err != nil {
		t.Fatal(err)
	}
	want := &shellSpec{
		Run:     `cat 'out/a b.txt' 'out/$(touch PWNED)' 'out/it'\''s'`,
		Argv:    []string{"wc", "out/a b.txt", "out/$(touch PWNED)", "out/it's"},
		Tags:    []string{"app:x"},
		Args:    map[string]string{"A": "out/a b.txt out/$(touch PWNED) out/it's"},
		Comment: "'sha256:1; rm -rf /'", // not shell: left as written
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("ExpandSpecShell =\n%#v\nwant\n%#v", out, want)
	}
	if in.Run != "cat ${step.gen.outputs}" || in.Argv[1] != "${step.gen.outputs}" {
		t.Errorf("ExpandSpecShell changed its input: %#v", in)
	}

	bad := &shellSpec{Run: "echo '${env.X}'", Comment: "'${env.X}'"}
	if _, err := ExpandSpecShell(bad, testValues); err == nil || !strings.HasPrefix(err.Error(), "run: ${env.X} stands inside single quotes") {
		t.Errorf("ExpandSpecShell(single quotes) = %v, want a run error", err)
	}
	err = CheckSpecShell(bad, varText)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "run" || !strings.Contains(fe.Msg, "inside single quotes") {
		t.Errorf("CheckSpecShell(single quotes) = %v, want a FieldError on run", err)
	}
	if err := CheckSpecShell(in, varText); err != nil {
		t.Errorf("CheckSpecShell(good) = %v", err)
	}
}

// FuzzShellWord: whatever bytes a value holds, spliced unquoted into a
// command it parses back as exactly one word per item that reads as the
// item, and in double quotes as one word that reads as the items joined;
// nothing in it is an expansion. Checked with the parser, not a shell, so
// the fuzzer can run fast; TestShellWordsRoundTrip runs /bin/sh.
func FuzzShellWord(f *testing.F) {
	for _, s := range []string{"", "a b", "$(touch x)", "`x`", "it's", `\`, "a\nb", "'\\''", "\"$@\"", "é", "${x:-y}"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, v string, n int) {
		if strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) || n < 0 || n > 4 {
			// No path or host value holds NUL; the parser reads only
			// UTF-8, so other bytes are TestShellWordsRoundTrip's.
			t.Skip()
		}
		items := make([]string, n)
		for i := range items {
			items[i] = v
		}
		cmd, err := ExpandShell(`x ${step.a.outputs} "${step.a.outputs}"`, func(Ref) ([]string, error) { return items, nil })
		if err != nil {
			t.Fatal(err)
		}
		file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmd), "")
		if err != nil {
			t.Fatalf("%q: %v", cmd, err)
		}
		if len(file.Stmts) != 1 {
			t.Fatalf("%q: %d statements", cmd, len(file.Stmts))
		}
		call, ok := file.Stmts[0].Cmd.(*syntax.CallExpr)
		if !ok || len(call.Args) != 2+n {
			t.Fatalf("%q: want %d words", cmd, 2+n)
		}
		for _, w := range call.Args[1 : 1+n] {
			if got, ok := wordText(w); !ok || got != v {
				t.Errorf("%q: word reads as %q (literal %v), want %q", cmd, got, ok, v)
			}
		}
		if got, ok := wordText(call.Args[1+n]); !ok || got != strings.Join(items, " ") {
			t.Errorf("%q: quoted word reads as %q (literal %v), want %q", cmd, got, ok, strings.Join(items, " "))
		}
	})
}

// wordText is what the shell reads a word as, when it holds no expansion:
// ok is false if any part of it would expand.
func wordText(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.Lit:
			if p.Value != `\'` {
				return "", false // only the escaped quote between single-quoted runs
			}
			b.WriteByte('\'')
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(unescapeDouble(l.Value))
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// unescapeDouble undoes the backslashes that mean something inside double
// quotes.
func unescapeDouble(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FuzzShellContext: for any command that CheckShell accepts, splicing a
// value full of shell syntax adds no expansion and no command to it: the
// expanded command has exactly the expansions of the command as written,
// less the references themselves.
func FuzzShellContext(f *testing.F) {
	seeds := []string{
		"echo ${step.a.f}", `echo "x${env.X}y"`, "a=${step.a.outputs} b", "export A=${env.X}",
		"for f in ${step.a.outputs}; do :; done", "x=$(cat ${step.a.f}) && echo \"$(echo \"${env.X}\")\"",
		"case ${env.X} in a) echo ${env.X};; esac", "echo ${x:-${step.a.f}}", "echo '${env.X}'",
		"cat <<E\n${env.X}\nE\n", "echo `${env.X}`", "echo $((${env.X}))", "f() { echo ${env.X}; }; f > ${step.a.f}",
		"echo \\${env.X}", "echo ${env.X}# ${env.X}\n", `echo "$(echo '${env.X}')"`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	const evil = "a b$(touch P)`t`\"'\\${x}$((1))\n;|&<>(){}*?[~#!="
	f.Fuzz(func(t *testing.T, run string) {
		if !utf8.ValidString(run) || strings.IndexByte(run, 0) >= 0 {
			t.Skip()
		}
		if CheckShell(run, func(Ref) (string, error) { return "v", nil }) != nil {
			return
		}
		text, ps, err := Shell{}.shellText(run, func(Ref) (string, error) { return "v", nil })
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 {
			return // not parsed: nothing to splice
		}
		cmd, err := ExpandShell(run, func(r Ref) ([]string, error) {
			if !r.Outside() {
				return []string{"v"}, nil
			}
			if r.Kind == RefStep {
				return []string{evil, evil}, nil
			}
			return []string{evil}, nil
		})
		if err != nil {
			t.Fatalf("ExpandShell(%q) = %v, but CheckShell accepts it", run, err)
		}
		before, err := expansions(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		after, err := expansions(cmd)
		if err != nil {
			t.Fatalf("%q (from %q): %v", cmd, run, err)
		}
		if after != before-len(ps) {
			t.Errorf("%q expands to %q, which has %d expansions and commands, want %d", run, cmd, after, before-len(ps))
		}
	})
}

// expansions counts the parameter expansions, command substitutions,
// arithmetic and simple commands of a shell command.
func expansions(cmd string) (int, error) {
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(cmd), "")
	if err != nil {
		return 0, err
	}
	n := 0
	syntax.Walk(file, func(node syntax.Node) bool {
		switch node.(type) {
		case *syntax.ParamExp, *syntax.CmdSubst, *syntax.ArithmExp, *syntax.Stmt, *syntax.CallExpr, *syntax.Redirect:
			n++
		}
		return true
	})
	return n, nil
}

func TestSpecIsLiteral(t *testing.T) {
	type spec struct {
		Run  string
		Args []string
		Env  map[string]string
	}
	cases := []struct {
		spec spec
		want bool
	}{
		{spec{}, true},
		{spec{Run: "echo $HOME && cat a > b", Args: []string{"$x"}}, true},
		{spec{Run: "echo ${var.v}"}, false},
		{spec{Run: "echo $${HOME}"}, false}, // an escaped ${: expanding changes it
		{spec{Args: []string{"a", "${HOME}"}}, false},
		{spec{Env: map[string]string{"A": "${env.B}"}}, false},
	}
	for _, c := range cases {
		if got := SpecIsLiteral(&c.spec); got != c.want {
			t.Errorf("SpecIsLiteral(%+v) = %v", c.spec, got)
		}
		if c.want {
			out, err := ExpandSpec(&c.spec, func(Ref) (string, error) { return "X", nil })
			if err != nil || !reflect.DeepEqual(out, &c.spec) {
				t.Errorf("a literal spec expands to %+v (%v)", out, err)
			}
		}
	}
}
