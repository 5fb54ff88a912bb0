package config

import (
	"bytes"
	"path"
	"unsafe"
)

// GuessInputs returns the literal input paths that a quick look at the text
// of a bottle.toml finds, before it is parsed: the quoted strings of each
// line `inputs = [...]` (the array may go on over lines) that name a path
// with no glob, reference, escape or exclusion; a leading ? is dropped. It
// is a guess, so that a first plan can hash those files while the file is
// parsed: it knows nothing of tables, comments or multi-line strings, so it
// misses some inputs and may find strings that are none. Every path it
// returns passes CheckPath and is clean. The strings share one new
// allocation, not data's memory: a first plan keeps the guess to its end,
// and the config's text (9 MB at 20,000 steps) need not stay for it.
func GuessInputs(data []byte) []string {
	out := guessInputs(data)
	n := 0
	for _, p := range out {
		n += len(p)
	}
	arena := make([]byte, 0, n)
	for i, p := range out {
		arena = append(arena, p...)
		out[i] = unsafe.String(unsafe.SliceData(arena[len(arena)-len(p):]), len(p)) // arena is never written again there
	}
	return out
}

// guessInputs is GuessInputs with the strings in data's memory.
func guessInputs(data []byte) []string {
	// At most one path a quoted string: grown from nothing, the list of
	// 160,000 paths cost four times its size in copies.
	out := make([]string, 0, bytes.Count(data, []byte{'"'})/2+bytes.Count(data, []byte{'\''})/2)
	key := []byte("inputs")
	for i := 0; i < len(data); {
		j := bytes.Index(data[i:], key)
		if j < 0 {
			break
		}
		j += i
		i = j + len(key)
		// The key starts its line, after blanks.
		k := j
		for k > 0 && (data[k-1] == ' ' || data[k-1] == '\t') {
			k--
		}
		if k > 0 && data[k-1] != '\n' {
			continue
		}
		m := skipBlanks(data, i, " \t")
		if m >= len(data) || data[m] != '=' {
			continue
		}
		m = skipBlanks(data, m+1, " \t")
		if m >= len(data) || data[m] != '[' {
			continue
		}
		for m++; ; {
			m = skipBlanks(data, m, " \t\r\n,")
			if m >= len(data) || data[m] != '"' && data[m] != '\'' {
				break // the end of the array, or what the guess does not read
			}
			end := bytes.IndexByte(data[m+1:], data[m])
			if end < 0 {
				break
			}
			s := data[m+1 : m+1+end]
			m += end + 2
			if len(s) > 0 && s[0] == '?' {
				s = s[1:]
			}
			if len(s) == 0 || bytes.ContainsAny(s, "\n\r\\$*?[]{}!") {
				continue
			}
			p := unsafe.String(&s[0], len(s))
			if path.Clean(p) != p || CheckPath(p) != nil {
				continue
			}
			out = append(out, p)
		}
		i = m
	}
	return out
}

func skipBlanks(data []byte, i int, blanks string) int {
	for i < len(data) && bytes.IndexByte([]byte(blanks), data[i]) >= 0 {
		i++
	}
	return i
}
