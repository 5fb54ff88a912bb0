package config

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// keyPositionsRef is keyPositions as it was before it was made fast: one
// byte at a time, counting lines and columns as it goes. FuzzKeyPositions
// checks the two agree.
func keyPositionsRef(data []byte) *posTree {
	root := &posTree{}
	cur := root
	// The keys share data's memory, as the parsed values do (Parse).
	s := unsafe.String(unsafe.SliceData(data), len(data))
	line, col := 1, 1
	i := 0
	advance := func(n int) {
		for k := 0; k < n && i < len(s); k++ {
			if s[i] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
			i++
		}
	}
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			advance(1)
		}
	}
	skipLine := func() {
		for i < len(s) && s[i] != '\n' {
			advance(1)
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
				advance(1)
				start := i
				escaped := false
				for i < len(s) && s[i] != q && s[i] != '\n' {
					if q == '"' && s[i] == '\\' && i+1 < len(s) {
						escaped = true
						advance(2)
						continue
					}
					advance(1)
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
					advance(1)
				}
				if i == start {
					return parts
				}
				parts = append(parts, s[start:i])
			}
			skipSpace()
			if i < len(s) && s[i] == '.' {
				advance(1)
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
			case strings.HasPrefix(s[i:], `"""`) || strings.HasPrefix(s[i:], `'''`):
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
					advance(1)
				}
			case c == '"' || c == '\'':
				advance(1)
				for i < len(s) && s[i] != c && s[i] != '\n' {
					if c == '"' && s[i] == '\\' {
						advance(1)
					}
					advance(1)
				}
				advance(1)
			case c == '[' || c == '{':
				depth++
				advance(1)
			case c == ']' || c == '}':
				depth--
				advance(1)
			case c == '#':
				for i < len(s) && s[i] != '\n' {
					advance(1)
				}
			case c == '\n':
				advance(1)
				if depth <= 0 {
					return
				}
			default:
				advance(1)
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
			p := Pos{line, col}
			advance(1)
			array := i < len(s) && s[i] == '['
			if array {
				advance(1)
			}
			cur = root.header(readKey(), p)
			skipLine()
		default:
			p := Pos{line, col}
			parts := readKey()
			if len(parts) == 0 {
				skipLine()
				continue
			}
			cur.key(parts, p)
			skipSpace()
			if i < len(s) && s[i] == '=' {
				advance(1)
			}
			skipValue()
		}
	}
	return root
}

// FuzzKeyPositions: keyPositions finds what keyPositionsRef finds, where
// it finds it.
func FuzzKeyPositions(f *testing.F) {
	for _, s := range []string{
		"", goodSrc, string(genW2(2, 3)),
		"a = 1\n[t]\n\"quoted key\" = \"x = [not a table]\"\nb.c = 2   # comment\nml = \"\"\"\n[not.a.header]\nx = 1\n\"\"\"\narr = [\n  \"[x]\",\n  { y = 1 },\n]\n[ \"u\" . v ]\n  w = 3\n",
		"a = \"x\\\ny\"\nb = 'c\\'\nd = '''\n'''''\ne.\"f\\\"g\\\n\" = 1\n[[h]]\n# c\n\r\ni = [\n'''\n]'''\n]\n",
		"k = \"unterminated\n[t]\nj = \"\\",
	} {
		f.Add([]byte(s))
	}
	for _, tt := range errorTests {
		f.Add([]byte(tt.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, want := keyPositions(data), keyPositionsRef(data)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("keyPositions(%q) differs from the reference", data)
		}
	})
}
