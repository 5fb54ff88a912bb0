package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// Splicing references into a shell command.
//
// A ${var.X} is the config's own text: it is spliced as written, so that
// `go test ${var.flags}` splits as the author meant. Every other reference
// (${env.X}, ${step.X.f}) holds a value from outside the config — a file
// name, a digest, a host variable — and must never be read as shell syntax,
// whatever bytes it holds. Where such a reference stands is decided by
// parsing the command as POSIX shell (the language of /bin/sh), with each
// outside reference standing in as a placeholder ${__bottle_N}:
//
//   - unquoted (also inside $(...)): each item becomes exactly one shell word,
//     single-quoted; a list (${step.X.outputs}) gives one word per path and
//     no word at all when it is empty, as "$@" does. Where the shell takes
//     one word (an assignment's value, export X=..., the word of a case, a
//     case pattern, a redirection's target) the items are joined by spaces
//     and quoted as one word;
//   - inside double quotes: the items joined by spaces, with $ ` " and \
//     escaped;
//   - anywhere else — inside single quotes, a here-document, backquotes, a
//     comment, arithmetic, a parameter expansion such as ${x:-...}, after a
//     backslash — it is an error, found when the config is loaded, that says
//     to pass the value through the environment instead.
//
// The decision depends only on the command as written and the vars, never
// on the values, so it is made once at load (CheckShell) and again, the
// same, when the values are filled in (ExpandShell).

// ShellTag is the struct tag that marks a spec field whose references are
// spliced with care: `expand:"shell"` on a string field that /bin/sh -c
// runs, `expand:"argv"` on a []string field that is a program and its
// arguments.
const ShellTag = "expand"

// Outside reports whether r's value comes from outside the config: a host
// variable or another step's result. Only ${var.X} is the config's own.
func (r Ref) Outside() bool { return r.Kind != RefVar }

// Shell splices references into shell commands. OutsideVar, when set, names
// the vars whose values come from outside the config after all — a
// computed var (what `git describe` printed), or a var that uses one: they
// are spliced as ${env.X} is, quoted, never as text. The zero Shell takes
// every var as the config's own text.
type Shell struct{ OutsideVar func(name string) bool }

func (sh Shell) outside(r Ref) bool {
	return r.Outside() || sh.OutsideVar != nil && sh.OutsideVar(r.Name)
}

// shellCtx is how the shell reads a placeholder.
type shellCtx int

const (
	ctxWords   shellCtx = iota // unquoted: one word per item
	ctxOneWord                 // unquoted where the shell takes one word: the items joined
	ctxDouble                  // inside double quotes
)

// placed is an outside reference standing at off in a shell text.
type placed struct {
	ref  Ref
	off  int    // offset of its placeholder in the text
	name string // the placeholder's parameter name
}

func (p placed) end() int { return p.off + len("${}") + len(p.name) }

// shellText builds the text the shell would read, with vars spliced and
// every outside reference replaced by a placeholder.
func (sh Shell) shellText(s string, vars func(Ref) (string, error)) (string, []placed, error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil // no reference, and nothing scan would change
	}
	var b strings.Builder
	var ps []placed
	err := scan(s, func(l string) { b.WriteString(l) }, func(r Ref) error {
		if !sh.outside(r) {
			v, err := vars(r)
			if err != nil {
				return err
			}
			b.WriteString(v)
			return nil
		}
		p := placed{ref: r, off: b.Len(), name: "__bottle_" + strconv.Itoa(len(ps))}
		ps = append(ps, p)
		b.WriteString("${" + p.name + "}")
		return nil
	})
	return b.String(), ps, err
}

// parsers keeps POSIX shell parsers for reuse: a new one costs more than a
// short command's parse.
var parsers = sync.Pool{New: func() any {
	return syntax.NewParser(syntax.Variant(syntax.LangPOSIX), syntax.KeepComments(true))
}}

// shellContexts decides how the shell reads each placeholder of text, or
// says why it cannot be made safe.
func shellContexts(text string, ps []placed) ([]shellCtx, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	parser := parsers.Get().(*syntax.Parser)
	f, err := parser.Parse(strings.NewReader(text), "")
	parsers.Put(parser)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot tell where it stands, as the command is not POSIX shell that bottle can read (%v); pass the value through the environment instead (%s)", ps[0].ref, err, envAdvice(ps[0].ref))
	}
	byOff := make(map[int]int, len(ps))
	for i, p := range ps {
		byOff[p.off] = i
	}
	ctxs := make([]shellCtx, len(ps))
	found := make([]bool, len(ps))
	why := make([]string, len(ps)) // why each is refused; "" when it is not
	missing := len(ps)
	var stack []syntax.Node
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if pe, ok := n.(*syntax.ParamExp); ok && !pe.Short && pe.Param != nil {
			start := int(pe.Pos().Offset())
			if i, ok := byOff[start]; ok && pe.Param.Value == ps[i].name && int(pe.End().Offset()) == ps[i].end() {
				found[i] = true
				missing--
				ctxs[i], why[i] = shellContext(stack, pe)
			}
		}
		stack = append(stack, n)
		return true
	})
	if missing > 0 {
		// Where does each placeholder the parser did not read as ${NAME}
		// stand? In the innermost node holding it.
		innermost := make([][]syntax.Node, len(ps)) // that node, after its ancestors
		syntax.Walk(f, func(n syntax.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			start, end := int(n.Pos().Offset()), int(n.End().Offset())
			for i, p := range ps {
				if !found[i] && start <= p.off && p.off < end {
					innermost[i] = append(append(innermost[i][:0], stack...), n)
				}
			}
			stack = append(stack, n)
			return true
		})
		for i, p := range ps {
			if !found[i] {
				why[i] = notFoundWhy(text, p, innermost[i])
			}
		}
	}
	for i, p := range ps {
		if why[i] != "" {
			return nil, fmt.Errorf("%s stands %s: its value could be read as shell syntax there; pass it through the environment instead (%s)", p.ref, why[i], envAdvice(p.ref))
		}
	}
	return ctxs, nil
}

// shellContext decides how the shell reads the placeholder pe, given its
// ancestors (outermost first), or says why it cannot be made safe.
func shellContext(stack []syntax.Node, pe *syntax.ParamExp) (shellCtx, string) {
	// First what refuses a value wherever it is nested, $(...) included.
	for i := len(stack) - 1; i >= 0; i-- {
		switch n := stack[i].(type) {
		case *syntax.CmdSubst:
			if n.Backquotes || n.TempFile || n.ReplyVar {
				return 0, "inside backquotes (write $(...) instead)"
			}
		case *syntax.Redirect:
			if n.Op == syntax.Hdoc || n.Op == syntax.DashHdoc {
				return 0, "in a here-document"
			}
		case *syntax.ParamExp:
			return 0, "inside a parameter expansion such as ${x:-...}"
		case *syntax.ArithmExp, *syntax.ArithmCmd:
			return 0, "inside an arithmetic expression"
		}
	}
	// Then the quoting of the innermost command: $(...) is a command of its
	// own, which the quoting outside it does not reach.
	ctx, decided := ctxWords, false
	for i := len(stack) - 1; i >= 0; i-- {
		switch n := stack[i].(type) {
		case *syntax.Word:
			if !decided && oneWord(n, stack[:i]) {
				ctx, decided = ctxOneWord, true
			}
		case *syntax.DblQuoted:
			if !decided {
				ctx, decided = ctxDouble, true
			}
		case *syntax.CmdSubst:
			decided = true
		case *syntax.File, *syntax.Stmt, *syntax.CallExpr, *syntax.Redirect, *syntax.Assign,
			*syntax.BinaryCmd, *syntax.Block, *syntax.Subshell, *syntax.IfClause,
			*syntax.WhileClause, *syntax.ForClause, *syntax.WordIter,
			*syntax.CaseClause, *syntax.CaseItem, *syntax.FuncDecl:
		default:
			return 0, fmt.Sprintf("where bottle cannot tell how the shell reads it (in %s)", nodeName(n))
		}
	}
	return ctx, ""
}

// oneWord reports whether the shell takes w as one word, where several
// would change the command: an assignment's value (also NAME=... given to
// export, readonly or local), the word of a case, a case pattern, the
// target of a redirection. ancestors are w's, outermost first.
func oneWord(w *syntax.Word, ancestors []syntax.Node) bool {
	if len(ancestors) == 0 {
		return false
	}
	switch p := ancestors[len(ancestors)-1].(type) {
	case *syntax.Assign:
		return p.Value == w
	case *syntax.CaseClause:
		return p.Word == w
	case *syntax.CaseItem:
		return true // a pattern
	case *syntax.Redirect:
		return p.Word == w
	case *syntax.CallExpr:
		if len(p.Args) < 2 || p.Args[0] == w || len(w.Parts) == 0 {
			return false
		}
		switch p.Args[0].Lit() {
		case "export", "readonly", "local":
		default:
			return false
		}
		lit, ok := w.Parts[0].(*syntax.Lit)
		if !ok {
			return false
		}
		name, _, ok := strings.Cut(lit.Value, "=")
		return ok && isIdent(name)
	}
	return false
}

// notFoundWhy says where a placeholder stands that the parser did not read
// as a plain ${NAME}; path is the innermost node holding it and its
// ancestors, outermost first.
func notFoundWhy(text string, p placed, path []syntax.Node) string {
	for _, n := range path {
		if r, ok := n.(*syntax.Redirect); ok && (r.Op == syntax.Hdoc || r.Op == syntax.DashHdoc) {
			return "in a here-document"
		}
	}
	if len(path) == 0 {
		return "where bottle cannot tell how the shell reads it"
	}
	switch n := path[len(path)-1].(type) {
	case *syntax.SglQuoted:
		return "inside single quotes"
	case *syntax.Comment:
		return "in a comment"
	case *syntax.Lit:
		if p.off > 0 && text[p.off-1] == '\\' {
			return "after a backslash"
		}
		return "where the shell reads it as literal text"
	default:
		return fmt.Sprintf("where bottle cannot tell how the shell reads it (in %s)", nodeName(n))
	}
}

func nodeName(n syntax.Node) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", n), "*syntax.")
}

// envAdvice says how to pass r's value through the environment.
func envAdvice(r Ref) string {
	if r.Kind == RefEnv {
		return fmt.Sprintf(`write "$%s": the command's environment holds it`, r.Name)
	}
	return fmt.Sprintf(`e.g. export V="%s" first, then use "$V"`, r)
}

// CheckShell reports whether every outside reference in the shell command
// s stands where its value can be spliced safely (see above). vars gives
// the text of a ${var.X}.
func CheckShell(s string, vars func(Ref) (string, error)) error {
	return Shell{}.Check(s, vars)
}

// Check is CheckShell with sh's outside vars.
func (sh Shell) Check(s string, vars func(Ref) (string, error)) error {
	text, ps, err := sh.shellText(s, vars)
	if err != nil {
		return err
	}
	_, err = shellContexts(text, ps)
	return err
}

// ExpandShell expands the references of the shell command s. f gives a
// reference's items: the text of a ${var.X}, spliced as written; the value
// of any other reference, one item, or one per path for a list such as
// ${step.X.outputs}. Those are quoted for where they stand, so that no
// byte of theirs is read as shell syntax; where that cannot be done it
// returns CheckShell's error.
func ExpandShell(s string, f func(Ref) ([]string, error)) (string, error) {
	return Shell{}.Expand(s, f)
}

// Expand is ExpandShell with sh's outside vars.
func (sh Shell) Expand(s string, f func(Ref) ([]string, error)) (string, error) {
	text, ps, err := sh.shellText(s, func(r Ref) (string, error) {
		items, err := f(r)
		return strings.Join(items, " "), err
	})
	if err != nil {
		return "", err
	}
	ctxs, err := shellContexts(text, ps)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	prev := 0
	for i, p := range ps {
		b.WriteString(text[prev:p.off])
		items, err := f(p.ref)
		if err != nil {
			return "", err
		}
		switch ctxs[i] {
		case ctxWords:
			for j, it := range items {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(singleQuote(it))
			}
		case ctxOneWord:
			b.WriteString(singleQuote(strings.Join(items, " ")))
		case ctxDouble:
			b.WriteString(doubleQuoteEscape(strings.Join(items, " ")))
		}
		prev = p.end()
	}
	b.WriteString(text[prev:])
	return b.String(), nil
}

// singleQuote makes s one shell word that the shell reads as exactly s:
// inside single quotes nothing is special but the closing quote, so each
// quote in s is written as a close, an escaped quote and a reopen:
//
//	it's -> 'it'\''s'
func singleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// doubleQuoteEscape escapes s for the inside of double quotes, where only
// $ ` " and \ are special (a newline is taken as it is).
func doubleQuoteEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '$', '`', '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// ExpandArgv expands the references of a program and its arguments. An
// element that is one reference and nothing else becomes one argument per
// item (none for an empty list, as "$@" does); any other element stays one
// argument, with a list's items joined by spaces. No value is split.
func ExpandArgv(argv []string, f func(Ref) ([]string, error)) ([]string, error) {
	if argv == nil {
		return nil, nil
	}
	out := make([]string, 0, len(argv))
	for _, a := range argv {
		if r, ok := soleRef(a); ok {
			items, err := f(r)
			if err != nil {
				return nil, err
			}
			if !r.Outside() {
				items = []string{strings.Join(items, " ")}
			}
			out = append(out, items...)
			continue
		}
		v, err := Expand(a, func(r Ref) (string, error) {
			items, err := f(r)
			return strings.Join(items, " "), err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// soleRef reports whether s is one reference and nothing else.
func soleRef(s string) (Ref, bool) {
	var r Ref
	n, text := 0, false
	err := scan(s, func(l string) { text = text || l != "" }, func(x Ref) error {
		r = x
		n++
		return nil
	})
	return r, err == nil && n == 1 && !text
}

// CheckSpecShell runs CheckShell on every field of spec (a pointer to a
// struct) tagged `expand:"shell"`, returning a *FieldError (or a joined
// list of them) for each that fails.
func CheckSpecShell(spec any, vars func(Ref) (string, error)) error {
	return Shell{}.CheckSpec(spec, vars)
}

// CheckSpec is CheckSpecShell with sh's outside vars.
func (sh Shell) CheckSpec(spec any, vars func(Ref) (string, error)) error {
	v := reflect.Indirect(reflect.ValueOf(spec))
	if v.Kind() != reflect.Struct {
		return nil
	}
	var errs []error
	for _, tf := range tomlFields(v.Type()) {
		if v.Type().Field(tf.index).Tag.Get(ShellTag) != "shell" {
			continue
		}
		fv := v.Field(tf.index)
		if fv.Kind() != reflect.String {
			continue
		}
		if err := sh.Check(fv.String(), vars); err != nil {
			errs = append(errs, &FieldError{Field: tf.name, Msg: err.Error()})
		}
	}
	return errors.Join(errs...)
}

// ExpandSpecShell is ExpandSpec for a spec some of whose fields are tagged
// (see ShellTag): an `expand:"shell"` field is expanded by ExpandShell, an
// `expand:"argv"` field by ExpandArgv, and every other string as Expand
// does, with a list's items joined by spaces.
func ExpandSpecShell(spec any, f func(Ref) ([]string, error)) (any, error) {
	return Shell{}.ExpandSpec(spec, f)
}

// ExpandSpec is ExpandSpecShell with sh's outside vars.
func (sh Shell) ExpandSpec(spec any, f func(Ref) ([]string, error)) (any, error) {
	out, err := ExpandSpec(spec, func(r Ref) (string, error) {
		items, err := f(r)
		return strings.Join(items, " "), err
	})
	if err != nil {
		return nil, err
	}
	src, dst := reflect.ValueOf(spec).Elem(), reflect.ValueOf(out).Elem()
	for _, tf := range tomlFields(src.Type()) {
		sv, dv := src.Field(tf.index), dst.Field(tf.index)
		switch src.Type().Field(tf.index).Tag.Get(ShellTag) {
		case "shell":
			if sv.Kind() != reflect.String {
				continue
			}
			s, err := sh.Expand(sv.String(), f)
			if err != nil {
				return nil, &FieldError{Field: tf.name, Msg: err.Error()}
			}
			dv.SetString(s)
		case "argv":
			if sv.Kind() != reflect.Slice || sv.Type().Elem().Kind() != reflect.String || sv.IsNil() {
				continue
			}
			argv := make([]string, sv.Len())
			for i := range argv {
				argv[i] = sv.Index(i).String()
			}
			a, err := ExpandArgv(argv, f)
			if err != nil {
				return nil, &FieldError{Field: tf.name, Msg: err.Error()}
			}
			dv.Set(reflect.ValueOf(a).Convert(sv.Type()))
		}
	}
	return out, nil
}
