package config

import (
	"strconv"
	"strings"
	"unsafe"
)

// posTree is where the keys of a TOML document are written: each table
// knows the position of its own keys and holds its subtables.
// BurntSushi/toml reports unknown keys without a position; this finds them.
type posTree struct {
	pos    Pos                 // of the header, or of the first key implying the table
	fields map[string]Pos      // every key of the table, subtables too
	sub    map[string]*posTree // subtables, also those only implied
}

// table returns the subtable k, first mentioned at p if it is new.
func (t *posTree) table(k string, p Pos) *posTree {
	if c, ok := t.sub[k]; ok {
		return c
	}
	if t.sub == nil {
		t.sub = map[string]*posTree{}
	}
	c := &posTree{pos: p}
	t.sub[k] = c
	if _, ok := t.fields[k]; !ok {
		t.set(k, p)
	}
	return c
}

func (t *posTree) set(k string, p Pos) {
	if t.fields == nil {
		t.fields = make(map[string]Pos, 8)
	}
	t.fields[k] = p
}

// header records a [a.b.c] header at p and returns its table.
func (t *posTree) header(parts []string, p Pos) *posTree {
	for _, k := range parts {
		t = t.table(k, p)
	}
	return t
}

// key records a key, dotted or not, written at p in table t.
func (t *posTree) key(parts []string, p Pos) {
	if len(parts) == 0 {
		return
	}
	for _, k := range parts[:len(parts)-1] {
		t = t.table(k, p)
	}
	t.set(parts[len(parts)-1], p)
}

// child returns the subtable k of t, or nil; t may be nil.
func (t *posTree) child(k string) *posTree {
	if t == nil {
		return nil
	}
	return t.sub[k]
}

// find returns the position of the dotted path, or else of the nearest
// enclosing key or table that has one.
func (t *posTree) find(path string) Pos {
	var best Pos
	for path != "" && t != nil {
		k, rest, _ := strings.Cut(path, ".")
		p, ok := t.fields[k]
		if !ok {
			break
		}
		best = p
		t, path = t.sub[k], rest
	}
	return best
}

// keyPositions finds where every key of a TOML document is written, in one
// pass over the text. It understands headers, bare, quoted and dotted keys,
// comments, and skips over strings (also multi-line) and multi-line arrays
// and inline tables so that a '=' or '[' inside a value never fools it.
// Parse uses it to give every error its line and column.
func keyPositions(data []byte) *posTree {
	root := &posTree{}
	cur := root
	// The keys share data's memory, as the parsed values do (Parse).
	s := unsafe.String(unsafe.SliceData(data), len(data))
	// The column is counted from where the line starts, when a position
	// is taken: counted a byte at a time, it was most of the time of the
	// scan (90 ms for the 9 MB of 20,000 steps).
	line, lineStart := 1, 0
	i := 0
	pos := func() Pos { return Pos{line, i - lineStart + 1} }
	// advance steps over n bytes, counting the newlines among them; the
	// loops below step over what holds none with i++.
	advance := func(n int) {
		for end := min(i+n, len(s)); i < end; i++ {
			if s[i] == '\n' {
				line, lineStart = line+1, i+1
			}
		}
	}
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
	}
	// toLineEnd moves to the next newline, or the end.
	toLineEnd := func() {
		if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
			i += j
		} else {
			i = len(s)
		}
	}
	skipLine := func() {
		toLineEnd()
		advance(1)
	}
	// skipString steps over a one-line string quoted by q (s[i] is the
	// opening quote), and its closing quote or the newline that ends it.
	skipString := func(q byte) {
		i++
		// Most strings hold no escape and no newline: jump to the quote.
		if j := strings.IndexByte(s[i:], q); j >= 0 {
			in := s[i : i+j]
			if strings.IndexByte(in, '\n') < 0 && (q != '"' || strings.IndexByte(in, '\\') < 0) {
				i += j + 1
				return
			}
		}
		for i < len(s) && s[i] != q && s[i] != '\n' {
			if q == '"' && s[i] == '\\' {
				i++
				advance(1) // the escaped byte, which may be a newline
				continue
			}
			i++
		}
		advance(1)
	}
	// readKey reads a dotted key (bare or quoted parts) and returns its parts.
	readKey := func() []string {
		var parts []string
		for i < len(s) {
			skipSpace()
			if i >= len(s) {
				break
			}
			switch s[i] {
			case '"', '\'':
				q := s[i]
				i++
				start := i
				escaped := false
				for i < len(s) && s[i] != q && s[i] != '\n' {
					if q == '"' && s[i] == '\\' && i+1 < len(s) {
						escaped = true
						i++
						advance(1)
						continue
					}
					i++
				}
				key := s[start:i]
				if escaped {
					key = unescapeKey(key)
				}
				advance(1)
				parts = append(parts, key)
			default:
				start := i
				for i < len(s) && isBareKeyChar(s[i]) {
					i++
				}
				if i == start {
					return parts
				}
				parts = append(parts, s[start:i])
			}
			skipSpace()
			if i < len(s) && s[i] == '.' {
				i++
				continue
			}
			break
		}
		return parts
	}
	// skipValue skips a value, including multi-line strings, arrays and
	// inline tables, up to the end of its line.
	skipValue := func() {
		depth := 0
		for i < len(s) {
			c := s[i]
			switch {
			case (c == '"' || c == '\'') && (strings.HasPrefix(s[i:], `"""`) || strings.HasPrefix(s[i:], `'''`)):
				q := s[i : i+3]
				advance(3)
				for i < len(s) && !strings.HasPrefix(s[i:], q) {
					if q == `"""` && s[i] == '\\' {
						advance(1)
					}
					advance(1)
				}
				advance(3)
				// A closing quote may be followed by up to two more quotes.
				for i < len(s) && s[i] == q[0] {
					i++
				}
			case c == '"' || c == '\'':
				skipString(c)
			case c == '[' || c == '{':
				depth++
				i++
			case c == ']' || c == '}':
				depth--
				i++
			case c == '#':
				toLineEnd()
			case c == '\n':
				advance(1)
				if depth <= 0 {
					return
				}
			default:
				i++
			}
		}
	}
	for i < len(s) {
		skipSpace()
		if i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '\n' || c == '\r':
			advance(1)
		case c == '#':
			skipLine()
		case c == '[':
			p := pos()
			i++
			array := i < len(s) && s[i] == '['
			if array {
				i++
			}
			cur = root.header(readKey(), p)
			skipLine()
		default:
			p := pos()
			parts := readKey()
			if len(parts) == 0 {
				skipLine()
				continue
			}
			cur.key(parts, p)
			skipSpace()
			if i < len(s) && s[i] == '=' {
				i++
			}
			skipValue()
		}
	}
	return root
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// unescapeKey decodes the escapes of a quoted key, as far as Go's rules
// agree with TOML's; otherwise it returns the key as written.
func unescapeKey(raw string) string {
	if u, err := strconv.Unquote(`"` + raw + `"`); err == nil {
		return u
	}
	return raw
}
