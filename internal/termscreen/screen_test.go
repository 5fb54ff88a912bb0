package termscreen

import (
	"slices"
	"testing"
)

func TestScreen(t *testing.T) {
	tests := []struct {
		name   string
		width  int
		writes []string // written one after the other (escapes may be split)
		want   []string
		wraps  int
		erased int
	}{
		{"lines", 0, []string{"a\nb\n"}, []string{"a", "b"}, 0, 0},
		{"carriage return overwrites", 0, []string{"abc\rX\n"}, []string{"Xbc"}, 0, 0},
		{"colours take no room", 0, []string{"\x1b[32m✓\x1b[0m a\n"}, []string{"✓ a"}, 0, 0},
		{"up and erase a region", 0,
			[]string{"prompt\nh1\nr1\n", "\x1b[1A\x1b[2K\x1b[1A\x1b[2K", "done\nh2\n"},
			[]string{"prompt", "done", "h2"}, 0, 2},
		{"escape split across writes", 0, []string{"a\n\x1b[", "1A\x1b[2", "Kb\n"}, []string{"b"}, 0, 1},
		{"rune split across writes", 0, []string{"\xe2\x9c", "\x93\n"}, []string{"✓"}, 0, 0},
		{"erase below", 0, []string{"a\nb\nc\n\x1b[2A\x1b[J"}, []string{"a"}, 0, 0},
		{"erase to end of line", 0, []string{"abcd\rab\x1b[K\n"}, []string{"ab"}, 0, 0},
		{"erase a line from its start", 0, []string{"x\nabcd\r\x1b[K\n"}, []string{"x"}, 0, 1},
		{"a long line wraps", 4, []string{"abcdef\n"}, []string{"abcd", "ef"}, 1, 0},
		{"a full line does not wrap", 4, []string{"abcd\n"}, []string{"abcd"}, 0, 0},
		{"up stops at the top, in its column", 0, []string{"a\nb\x1b[9AX"}, []string{"aX", "b"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Screen{Width: tt.width}
			for _, w := range tt.writes {
				s.Write([]byte(w))
			}
			if got := s.Lines(); !slices.Equal(got, tt.want) {
				t.Errorf("lines %q, want %q", got, tt.want)
			}
			if s.Wraps != tt.wraps || s.Erased != tt.erased {
				t.Errorf("wraps %d erased %d, want %d and %d", s.Wraps, s.Erased, tt.wraps, tt.erased)
			}
		})
	}
}
