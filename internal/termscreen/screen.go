// Package termscreen replays what a program wrote to a terminal and keeps
// what stays on the screen: the tests of bottle's live view read it to
// count the lines a run leaves behind, to check that a redraw erased
// exactly its own lines, and that no line wrapped.
//
// It knows the little the live view uses: printable text, \r, \n (as a
// terminal with ONLCR shows it: a new line, back to column 0), CSI n A
// (cursor up), CSI K and CSI 2K (erase in line), CSI J (erase below) and
// CSI m (colours, dropped). Other escape sequences are skipped. Every rune
// takes one column. The screen has no height: it is the whole scrollback.
package termscreen

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Screen is a terminal's scrollback, Width columns wide (0: unbounded).
type Screen struct {
	Width int
	// Wraps counts the times a line ran past the last column and the
	// terminal carried it on to a new line.
	Wraps int
	// Erased counts the lines erased by CSI 2K (or CSI K at column 0).
	Erased int

	lines    [][]rune
	row, col int
	pending  []byte // an incomplete escape sequence or rune
}

// Write replays p.
func (s *Screen) Write(p []byte) (int, error) {
	n := len(p)
	b := append(s.pending, p...)
	s.pending = nil
	for len(b) > 0 {
		switch c := b[0]; {
		case c == '\x1b':
			used, ok := s.escape(b)
			if !ok {
				s.pending = append([]byte(nil), b...)
				return n, nil
			}
			b = b[used:]
		case c == '\r':
			s.col = 0
			b = b[1:]
		case c == '\n':
			s.row++
			s.col = 0
			b = b[1:]
		case c < ' ' || c == 0x7f:
			b = b[1:]
		default:
			if !utf8.FullRune(b) {
				s.pending = append([]byte(nil), b...)
				return n, nil
			}
			r, size := utf8.DecodeRune(b)
			s.put(r)
			b = b[size:]
		}
	}
	return n, nil
}

// escape applies the escape sequence at the start of b and says how many
// bytes it took; ok is false when b ends before the sequence does.
func (s *Screen) escape(b []byte) (used int, ok bool) {
	if len(b) < 2 {
		return 0, false
	}
	if b[1] != '[' {
		return 2, true
	}
	i := 2
	for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
		i++
	}
	if i == len(b) {
		return 0, false
	}
	param := string(b[2:i])
	num := func(def int) int {
		if v, err := strconv.Atoi(param); err == nil {
			return v
		}
		return def
	}
	switch b[i] {
	case 'A':
		s.row = max(0, s.row-max(num(1), 1))
	case 'K':
		line := s.line(s.row)
		switch num(0) {
		case 0:
			if s.col == 0 && len(*line) > 0 {
				s.Erased++
			}
			if s.col < len(*line) {
				*line = (*line)[:s.col]
			}
		case 2:
			if len(*line) > 0 {
				s.Erased++
			}
			*line = nil
		}
	case 'J':
		line := s.line(s.row)
		if s.col < len(*line) {
			*line = (*line)[:s.col]
		}
		if s.row+1 < len(s.lines) {
			s.lines = s.lines[:s.row+1]
		}
	}
	return i + 1, true
}

func (s *Screen) line(row int) *[]rune {
	for len(s.lines) <= row {
		s.lines = append(s.lines, nil)
	}
	return &s.lines[row]
}

func (s *Screen) put(r rune) {
	if s.Width > 0 && s.col >= s.Width {
		s.Wraps++
		s.row++
		s.col = 0
	}
	line := s.line(s.row)
	for len(*line) < s.col {
		*line = append(*line, ' ')
	}
	if s.col < len(*line) {
		(*line)[s.col] = r
	} else {
		*line = append(*line, r)
	}
	s.col++
}

// Lines is what the screen shows, a line each, trailing blanks and empty
// lines at the bottom dropped.
func (s *Screen) Lines() []string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// String is Lines joined, each ended by a newline.
func (s *Screen) String() string {
	var b strings.Builder
	for _, l := range s.Lines() {
		b.WriteString(l + "\n")
	}
	return b.String()
}
