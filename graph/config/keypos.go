package config

import (
	"strings"
)

// keyPositions maps every dotted key path written in a TOML document (tables
// by their header, keys by their name) to the position where it is written.
// BurntSushi/toml reports unknown keys without a position; this scanner
// finds them. It understands headers, bare, quoted and dotted keys,
// comments, and skips over strings (also multi-line) and multi-line arrays
// and inline tables so that a '=' or '[' inside a value never fools it.
func keyPositions(data []byte) map[string]Pos {
	pos := map[string]Pos{}
	s := string(data)
	var table []string
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
				var b strings.Builder
				for i < len(s) && s[i] != q && s[i] != '\n' {
					if q == '"' && s[i] == '\\' && i+1 < len(s) {
						b.WriteByte(s[i+1])
						advance(2)
						continue
					}
					b.WriteByte(s[i])
					advance(1)
				}
				advance(1)
				parts = append(parts, b.String())
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
			table = readKey()
			key := strings.Join(table, ".")
			if _, ok := pos[key]; !ok {
				pos[key] = p
			}
			skipLine()
		default:
			p := Pos{line, col}
			parts := readKey()
			if len(parts) == 0 {
				skipLine()
				continue
			}
			full := append(append([]string{}, table...), parts...)
			pos[strings.Join(full, ".")] = p
			skipSpace()
			if i < len(s) && s[i] == '=' {
				advance(1)
			}
			skipValue()
		}
	}
	return pos
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
