package config

import (
	"slices"
	"testing"
)

func TestGuessInputs(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"one line", "[steps.a]\ninputs = [\"a.txt\", 'b/c.txt']\n", []string{"a.txt", "b/c.txt"}},
		{"over lines", "inputs = [\n  \"a.txt\",\n\t\"b.txt\", # a comment\n  \"c.txt\",\n]\n", []string{"a.txt", "b.txt"}},
		{"indented", "  inputs=[\"a\"]\n", []string{"a"}},
		{"optional", "inputs = [\"?a.txt\"]\n", []string{"a.txt"}},
		{"not literal", "inputs = [\"src/*.go\", \"!x\", \"${var.d}/a\", \"a\\\\b\", \"a[1]\", \"{a,b}\"]\n", nil},
		{"not a path", "inputs = [\"../up\", \"/abs\", \".\", \"a/../b\", \"a//b\", \"\"]\n", nil},
		{"not the key", "xinputs = [\"a\"]\nrun = \"inputs = ['b']\"\ninputs2 = [\"c\"]\n", nil},
		{"not an array", "inputs = \"a\"\n", nil},
		{"unterminated", "inputs = [\"a.txt\", \"b", []string{"a.txt"}},
		{"at the end", "inputs", nil},
		{"multi-line string", "inputs = [\"\"\"a\"\"\"]\n", []string{"a"}}, // what it is
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := GuessInputs([]byte(c.text))
			if !slices.Equal(got, c.want) {
				t.Errorf("GuessInputs(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

// TestGuessInputsOwnsItsStrings: the guess does not keep the config's
// text alive (nor change with it).
func TestGuessInputsOwnsItsStrings(t *testing.T) {
	data := []byte("[steps.a]\ninputs = [\"src/a.txt\", \"src/b.txt\"]\n")
	got := GuessInputs(data)
	for i := range data {
		data[i] = 'x'
	}
	if want := []string{"src/a.txt", "src/b.txt"}; !slices.Equal(got, want) {
		t.Errorf("after the text changed, the guess is %q, want %q", got, want)
	}
}
